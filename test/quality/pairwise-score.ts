/**
 * Pairwise clustering quality: over all pairs of items, a pair is "predicted together" when
 * both items are in the same predicted cluster (incident) and "truly together" when both are
 * in the same true cluster (fault).
 *
 *   precision = pairs together in both / pairs predicted together
 *   recall    = pairs together in both / pairs truly together
 *   F1        = 2 P R / (P + R)
 *
 * Counted from the contingency table (predicted cluster x true cluster), not pair by pair:
 * a cluster of n items holds n(n-1)/2 pairs, so the cost is linear in the items.
 *
 * An item with no predicted cluster (`undefined`: an alert that opened or joined no incident)
 * is a singleton: it is predicted together with nothing. It claims no wrong pairs, and its
 * true pairs count as missed. With no pair predicted at all, precision is 1 (nothing claimed
 * wrongly); with no true pair, recall is 1 (nothing to find); F1 is 0 when both P and R are.
 */
export interface PairwiseScore {
  readonly items: number;
  readonly truePairs: number;
  readonly predictedPairs: number;
  /** Pairs together both in the prediction and in the truth. */
  readonly agreeingPairs: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

const pairs = (n: number): number => (n * (n - 1)) / 2;

function countPairs(sizes: Iterable<number>): number {
  let total = 0;
  for (const n of sizes) total += pairs(n);
  return total;
}

function tally<K>(keys: Iterable<K>): Map<K, number> {
  const counts = new Map<K, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

/**
 * `truth[i]` is item i's true cluster, `predicted[i]` its predicted cluster or `undefined`
 * (a singleton). Both lists have one entry per item, in the same order.
 */
export function pairwiseScore(
  truth: readonly string[], predicted: readonly (string | number | undefined)[],
): PairwiseScore {
  if (truth.length !== predicted.length) {
    throw new Error(`pairwiseScore: ${truth.length} true labels but ${predicted.length} predicted`);
  }
  const together: [string | number, string][] = [];
  predicted.forEach((p, i) => { if (p !== undefined) together.push([p, truth[i] as string]); });
  const truePairs = countPairs(tally(truth).values());
  const predictedPairs = countPairs(tally(together.map(([p]) => p)).values());
  // One cell per (incident, fault): JSON keeps a numeric 1 apart from a string "1".
  const agreeingPairs = countPairs(tally(together.map((cell) => JSON.stringify(cell))).values());
  const precision = predictedPairs === 0 ? 1 : agreeingPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : agreeingPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { items: truth.length, truePairs, predictedPairs, agreeingPairs, precision, recall, f1 };
}
