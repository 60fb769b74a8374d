import { flapStep, hasSettled, type FlappingState } from '../../src/domain/flapping';
import type { FlappingPolicy } from '../../src/domain/grouping-policy';

const M = 60_000;
const policy: FlappingPolicy = { changes: 4, windowMs: 10 * M };

/** Feeds changes at these minutes through flapStep, as the flapping stage does. */
function run(minutes: readonly number[], start: FlappingState = { flapping: false }) {
  let state = start;
  const earlier: number[] = [];
  return minutes.map((m) => {
    const step = flapStep(state, earlier, policy, m * M);
    state = { flapping: step.flapping, lastChangeAt: m * M };
    earlier.push(m * M);
    return step;
  });
}

test('the change that makes `changes` within the window starts flapping', () => {
  expect(run([0, 1, 2, 3]).map((s) => [s.flapping, s.started]))
    .toEqual([[false, false], [false, false], [false, false], [true, true]]);
});

test('changes spread wider than the window are not flapping', () => {
  expect(run([0, 4, 8, 12, 16, 20]).some((s) => s.flapping)).toBe(false);
});

test('a flapping alert stays flapping while it keeps changing, even slower than the threshold', () => {
  const steps = run([0, 1, 2, 3, 12, 21]);
  expect(steps.slice(3).map((s) => [s.flapping, s.started, s.settled]))
    .toEqual([[true, true, false], [true, false, false], [true, false, false]]);
});

test('it settles once a whole window passes without a change', () => {
  const state = { flapping: true, lastChangeAt: 3 * M };
  expect(hasSettled(state, policy, 12 * M)).toBe(false);
  expect(hasSettled(state, policy, 13 * M)).toBe(true);
  expect(hasSettled({ flapping: false, lastChangeAt: 0 }, policy, 60 * M)).toBe(false);
  // A change after the quiet window: it had settled, and one change alone is not flapping.
  expect(flapStep(state, [0, M, 2 * M, 3 * M], policy, 14 * M))
    .toEqual({ flapping: false, started: false, settled: true });
});

test('changes outside the window do not count', () => {
  expect(flapStep({ flapping: false }, [0, M, 2 * M], policy, 20 * M).flapping).toBe(false);
  expect(flapStep({ flapping: false }, [11 * M, 12 * M, 13 * M], policy, 20 * M).flapping).toBe(true);
});
