import { itemAt } from '../domain/invariant';

/**
 * A maximum matching between `left` and `right` items (Kuhn's augmenting paths): each left item
 * paired with at most one right item it `fits`, as many pairs as possible. Returns, per left
 * item, the index of its right item or -1. Rule tests pair expected alerts with an incident's
 * alerts, and expected incidents with formed ones, where a greedy first fit could fail a test
 * that a better pairing passes. O(left x right x pairs): fine for the tens a test holds.
 */
export function maximumMatching<L, R>(
  left: readonly L[], right: readonly R[], fits: (l: L, r: R) => boolean,
): number[] {
  const fit = left.map((l) => right.map((r) => fits(l, r)));
  const rightOwner = new Array<number>(right.length).fill(-1);
  const augment = (i: number, seen: boolean[]): boolean => {
    const fitting = itemAt(fit, i, 'left item');
    for (let j = 0; j < right.length; j++) {
      if (!fitting[j] || seen[j]) continue;
      seen[j] = true;
      const owner = itemAt(rightOwner, j, 'right item');
      if (owner === -1 || augment(owner, seen)) {
        rightOwner[j] = i;
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < left.length; i++) augment(i, new Array<boolean>(right.length).fill(false));
  const leftMatch = new Array<number>(left.length).fill(-1);
  rightOwner.forEach((i, j) => { if (i !== -1) leftMatch[i] = j; });
  return leftMatch;
}
