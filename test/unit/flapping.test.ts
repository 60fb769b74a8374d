import {
  changeTime, flapStep, hasSettled, isBounce, MAX_CLOCK_SKEW_MS, type FlappingState,
} from '../../src/domain/flapping';
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

describe('changeTime: when a change happened', () => {
  const received = Date.parse('2026-11-20T10:30:00Z');
  const firing = { status: 'firing', startsAt: '2026-11-20T10:00:00Z', endsAt: null } as const;
  const resolved = { status: 'resolved', startsAt: '2026-11-20T10:00:00Z', endsAt: '2026-11-20T10:05:00Z' } as const;

  test('a firing at its start, a resolve at its end, however late they arrive', () => {
    expect(changeTime(firing, received)).toBe(Date.parse('2026-11-20T10:00:00Z'));
    expect(changeTime(resolved, received)).toBe(Date.parse('2026-11-20T10:05:00Z'));
    // An Alertmanager firing carries a future endsAt (its resolve timeout): a firing ignores it.
    expect(changeTime({ ...firing, endsAt: '2026-11-20T10:35:00Z' }, received)).toBe(Date.parse(firing.startsAt));
  });

  test('the receipt stands in for a time the source did not give, or one that cannot be', () => {
    expect(changeTime({ ...resolved, endsAt: null }, received)).toBe(received);
    expect(changeTime({ ...firing, startsAt: 'not a time' }, received)).toBe(received);
    expect(changeTime({ ...firing, startsAt: '1969-12-31T23:59:59Z' }, received)).toBe(received);
    const ahead = (ms: number) => ({ ...firing, startsAt: new Date(received + ms).toISOString() });
    expect(changeTime(ahead(MAX_CLOCK_SKEW_MS), received)).toBe(received + MAX_CLOCK_SKEW_MS);
    expect(changeTime(ahead(MAX_CLOCK_SKEW_MS + 1), received)).toBe(received);
  });

  test('never before the alert\'s previous change', () => {
    const previous = Date.parse('2026-11-20T10:20:00Z');
    expect(changeTime(firing, received, previous)).toBe(previous);
    expect(changeTime(resolved, received, Date.parse('2026-11-20T09:00:00Z'))).toBe(Date.parse(resolved.endsAt));
  });
});

test('a firing bounces when it comes back within the window of the previous change', () => {
  expect(isBounce(0, policy, 9 * M)).toBe(true);
  expect(isBounce(0, policy, 10 * M)).toBe(false);
  expect(isBounce(undefined, policy, 0)).toBe(false);
});
