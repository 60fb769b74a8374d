import { itemAt } from './invariant';

/** Levenshtein distance: the fewest single-character inserts, deletes and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = itemAt(previous, j - 1, 'edit row') + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(itemAt(previous, j, 'edit row') + 1, itemAt(current, j - 1, 'edit row') + 1, substitution);
    }
    previous = current;
  }
  return itemAt(previous, b.length, 'edit row');
}

/**
 * The candidate closest to `word` (case-insensitive), if it is close enough to be a typo:
 * at most a third of the word's length away. Ties go to the earlier candidate.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word.toUpperCase(), name.toUpperCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined;
}
