import { pairwiseScore } from '../quality/pairwise-score';
import { seededRandom } from '../quality/seeded-random';

test('the same clusters score 1', () => {
  const s = pairwiseScore(['a', 'a', 'b', 'b', 'c'], [1, 1, 2, 2, 3]);
  expect(s).toEqual({ items: 5, truePairs: 2, predictedPairs: 2, agreeingPairs: 2, precision: 1, recall: 1, f1: 1 });
});

test('a hand-computed mixed case', () => {
  // Truth: {0,1,2} {3}: 3 true pairs. Prediction: {0,1} {2,3}: 2 pairs, of which (0,1) is true.
  const s = pairwiseScore(['a', 'a', 'a', 'b'], [1, 1, 2, 2]);
  expect([s.truePairs, s.predictedPairs, s.agreeingPairs]).toEqual([3, 2, 1]);
  expect(s.precision).toBe(0.5);
  expect(s.recall).toBeCloseTo(1 / 3, 12);
  expect(s.f1).toBeCloseTo(0.4, 12); // 2 * 1/2 * 1/3 / (1/2 + 1/3)
});

test('one incident for everything: precision falls, recall is whole', () => {
  // Truth {0,1,2} {3,4}: 4 true pairs; all 5 together: 10 pairs, 4 of them true.
  const s = pairwiseScore(['a', 'a', 'a', 'b', 'b'], [7, 7, 7, 7, 7]);
  expect([s.truePairs, s.predictedPairs, s.agreeingPairs]).toEqual([4, 10, 4]);
  expect(s.precision).toBe(0.4);
  expect(s.recall).toBe(1);
  expect(s.f1).toBeCloseTo((2 * 0.4) / 1.4, 12);
});

test('an alert in no incident is alone: its true pairs are missed, it claims none', () => {
  // Truth {0,1,2}: 3 pairs. 0 and 2 share an incident, 1 is in none.
  const s = pairwiseScore(['a', 'a', 'a'], [5, undefined, 5]);
  expect([s.truePairs, s.predictedPairs, s.agreeingPairs]).toEqual([3, 1, 1]);
  expect(s.precision).toBe(1);
  expect(s.recall).toBeCloseTo(1 / 3, 12);
  expect(s.f1).toBeCloseTo(0.5, 12);
  // Alerts in no incident are not one cluster of their own.
  expect(pairwiseScore(['a', 'a'], [undefined, undefined]))
    .toMatchObject({ predictedPairs: 0, precision: 1, recall: 0, f1: 0 });
});

test('edge conventions: nothing to find is recall 1; nothing found right is F1 0', () => {
  expect(pairwiseScore([], [])).toMatchObject({ items: 0, precision: 1, recall: 1, f1: 1 });
  expect(pairwiseScore(['a', 'b', 'c'], [1, 1, 1])).toMatchObject({ precision: 0, recall: 1, f1: 0 });
  expect(pairwiseScore(['a', 'b'], [1, 2])).toMatchObject({ precision: 1, recall: 1, f1: 1 });
});

test('incident 1 and incident "1" are different clusters', () => {
  expect(pairwiseScore(['a', 'a'], [1, '1']).agreeingPairs).toBe(0);
});

test('lists of different lengths are refused', () => {
  expect(() => pairwiseScore(['a'], [])).toThrow(/1 true labels but 0 predicted/);
});

/** Every pair, one by one: the definition the contingency table must agree with. */
function bruteForce(truth: readonly string[], predicted: readonly (number | undefined)[]) {
  let t = 0, p = 0, both = 0;
  for (let i = 0; i < truth.length; i++) {
    for (let j = i + 1; j < truth.length; j++) {
      const sameTruth = truth[i] === truth[j];
      const samePred = predicted[i] !== undefined && predicted[i] === predicted[j];
      if (sameTruth) t++;
      if (samePred) p++;
      if (sameTruth && samePred) both++;
    }
  }
  return { truePairs: t, predictedPairs: p, agreeingPairs: both };
}

test('agrees with counting every pair on random clusterings', () => {
  const rnd = seededRandom(42);
  for (let round = 0; round < 50; round++) {
    const n = rnd.int(0, 60);
    const truth = Array.from({ length: n }, () => `f${rnd.int(1, 8)}`);
    const predicted = Array.from({ length: n }, () => (rnd.chance(0.2) ? undefined : rnd.int(1, 6)));
    expect(pairwiseScore(truth, predicted)).toMatchObject(bruteForce(truth, predicted));
  }
});

test('linear in the alerts: 300,000 alerts score in seconds, not the hours 4.5e10 pair checks take', () => {
  const n = 300_000;
  const truth = Array.from({ length: n }, (_, i) => `f${i % 997}`);
  const predicted = Array.from({ length: n }, (_, i) => i % 1009);
  const started = performance.now();
  const s = pairwiseScore(truth, predicted);
  // Well under a second alone; the bound leaves room for a loaded CI machine, and still fails a quadratic count.
  expect(performance.now() - started).toBeLessThan(10_000);
  expect(s.truePairs).toBeGreaterThan(4e7); // n^2 / 2 / 997: pairs are counted, not enumerated
});
