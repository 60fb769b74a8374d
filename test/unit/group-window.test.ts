import { decideGroup, type Arrival, type GroupState, type WindowMember } from '../../src/domain/group-window';
import type { GroupingPolicy } from '../../src/domain/grouping-policy';

const M = 60_000;
const sliding: GroupingPolicy = { window: 'sliding', windowMs: 10 * M, minAlerts: 1 };
const fixed: GroupingPolicy = { ...sliding, window: 'fixed' };
const none: GroupState<WindowMember> = { pending: [] };
const at = (minute: number, fingerprint = `f${minute}`, extra: Partial<Arrival> = {}): Arrival =>
  ({ fingerprint, startsAt: minute * M, ...extra });
const fps = (list: readonly WindowMember[]) => list.map((m) => m.fingerprint);

describe('sliding and fixed windows', () => {
  test('sliding: each alert extends the window from the latest; fixed: it runs from the first', () => {
    const arrivals = [at(0), at(8), at(16)];
    const s = decideGroup(sliding, none, arrivals, 0);
    expect(s.incidents).toHaveLength(1);
    expect(s.incidents[0])
      .toMatchObject({ target: { kind: 'new' }, groupingUntil: 26 * M, closed: false, window: 'sliding' });
    expect(fps(s.incidents[0]!.arrivals)).toEqual(['f0', 'f8', 'f16']);

    const f = decideGroup(fixed, none, arrivals, 0);
    expect(f.incidents.map((w) => [w.target.kind, fps(w.arrivals), w.groupingUntil, w.closed])).toEqual([
      ['new', ['f0', 'f8'], 10 * M, true],
      ['new', ['f16'], 26 * M, false],
    ]);
  });

  test('an open incident keeps its own window: a fixed one stops at its end, a sliding one moves', () => {
    const open = { id: 7, groupingUntil: 10 * M, window: 'fixed' as const, windowMs: 10 * M };
    // The rule says sliding now (a reload): the incident keeps the fixed window it opened with.
    const plan = decideGroup(sliding, { pending: [], open }, [at(9), at(11)], 0);
    expect(plan.incidents.map((w) => [w.target, fps(w.arrivals), w.groupingUntil, w.closed])).toEqual([
      [{ kind: 'existing', id: 7 }, ['f9'], 10 * M, true],
      [{ kind: 'new' }, ['f11'], 21 * M, false],
    ]);
    const moved = decideGroup(sliding, { pending: [], open: { ...open, window: 'sliding' } }, [at(9)], 0);
    expect(moved.incidents[0])
      .toMatchObject({ target: { kind: 'existing', id: 7 }, groupingUntil: 19 * M, closed: false });
  });

  test('arrivals are placed in order of their start, whatever order they came in', () => {
    const plan = decideGroup(fixed, none, [at(16), at(0), at(8)], 0);
    expect(plan.incidents.map((w) => fps(w.arrivals))).toEqual([['f0', 'f8'], ['f16']]);
  });

  test('an alert starting before the window ends joins, late delivery or not', () => {
    const open = { id: 1, groupingUntil: 30 * M, window: 'sliding' as const, windowMs: 10 * M };
    const plan = decideGroup(sliding, { pending: [], open }, [at(-5)], 0);
    expect(plan.incidents)
      .toEqual([expect.objectContaining({ target: { kind: 'existing', id: 1 }, groupingUntil: 30 * M })]);
  });
});

describe('min_alerts', () => {
  const three: GroupingPolicy = { ...sliding, minAlerts: 3 };

  test('alerts wait until the window holds min_alerts distinct alerts, then all open the incident', () => {
    const first = decideGroup(three, none, [at(0), at(2)], 0);
    expect(first.incidents).toEqual([]);
    expect(fps(first.pending)).toEqual(['f0', 'f2']);

    const stored: GroupState<WindowMember> = { pending: first.pending };
    const third = decideGroup(three, stored, [at(4), at(5)], 0);
    expect(third.pending).toEqual([]);
    expect(third.incidents).toHaveLength(1);
    expect(third.incidents[0]).toMatchObject({ target: { kind: 'new' }, closed: false, groupingUntil: 15 * M });
    expect(fps(third.incidents[0]!.pending)).toEqual(['f0', 'f2']);
    expect(fps(third.incidents[0]!.arrivals)).toEqual(['f4', 'f5']);
  });

  test('one alert firing again counts once', () => {
    const plan = decideGroup(three, { pending: [at(0, 'a')] }, [at(1, 'a'), at(2, 'b')], 0);
    expect(plan.incidents).toEqual([]);
    expect(fps(plan.pending)).toEqual(['a', 'b']);
  });

  test('a pending window that passes short of min_alerts expires; the next alert starts a new one', () => {
    const plan = decideGroup(three, { pending: [at(0), at(5)] }, [at(16), at(17)], 0);
    expect(fps(plan.expired)).toEqual(['f0', 'f5']);
    expect(fps(plan.pending)).toEqual(['f16', 'f17']);
    expect(plan.incidents).toEqual([]);
  });

  test('a fixed pending window runs from its first alert', () => {
    const plan = decideGroup({ ...three, window: 'fixed' }, { pending: [at(0), at(8)] }, [at(11)], 0);
    expect(fps(plan.expired)).toEqual(['f0', 'f8']);
    expect(fps(plan.pending)).toEqual(['f11']);
  });

  test('once open, the incident takes the next alerts of its window directly', () => {
    const open = { id: 3, groupingUntil: 15 * M, window: 'sliding' as const, windowMs: 10 * M };
    const plan = decideGroup(three, { pending: [], open }, [at(6)], 0);
    expect(plan.incidents).toEqual([expect.objectContaining({ target: { kind: 'existing', id: 3 } })]);
  });
});

describe('reopening', () => {
  const reopen: GroupingPolicy = { ...sliding, reopenWithinMs: 15 * M };
  const resolvedAt = 100 * M;
  const latest = { id: 9, autoResolvedAt: resolvedAt };

  test('a group firing again within reopen_within of Quell resolving its incident reopens it; later, a new one', () => {
    const within = decideGroup(reopen, { pending: [], latest }, [at(110)], resolvedAt + 15 * M);
    expect(within.incidents)
      .toEqual([expect.objectContaining({ target: { kind: 'reopen', id: 9 }, groupingUntil: 120 * M })]);
    const after = decideGroup(reopen, { pending: [], latest }, [at(120)], resolvedAt + 15 * M + 1);
    expect(after.incidents).toEqual([expect.objectContaining({ target: { kind: 'new' } })]);
  });

  test('without reopen_within, or when a person resolved it, a new incident opens', () => {
    const targetOf = (policy: GroupingPolicy, state: GroupState<WindowMember>, a: Arrival) =>
      decideGroup(policy, state, [a], resolvedAt).incidents[0]!.target;
    expect(targetOf(sliding, { pending: [], latest }, at(101))).toEqual({ kind: 'new' });
    expect(targetOf(reopen, { pending: [], latest: { id: 9 } }, at(101))).toEqual({ kind: 'new' });
  });

  test('an alert bouncing back into its own incident reopens it without reopen_within', () => {
    const plan = decideGroup(sliding, { pending: [], latest }, [at(101, 'x', { rebound: 9 })], resolvedAt + 60 * M);
    expect(plan.incidents[0]!.target).toEqual({ kind: 'reopen', id: 9 });
    const other = decideGroup(sliding, { pending: [], latest }, [at(101, 'x', { rebound: 8 })], resolvedAt);
    expect(other.incidents[0]!.target).toEqual({ kind: 'new' });
  });

  test('reopening beats min_alerts; only the first window of a batch may reopen', () => {
    const plan = decideGroup({ ...reopen, minAlerts: 5 }, { pending: [], latest }, [at(101), at(130)], resolvedAt);
    expect(plan.incidents.map((w) => [w.target, w.closed])).toEqual([[{ kind: 'reopen', id: 9 }, true]]);
    expect(fps(plan.pending)).toEqual(['f130']);
  });

  test('a group with an incident that takes alerts joins it, whatever its latest resolved one', () => {
    const open = { id: 10, groupingUntil: 200 * M, window: 'sliding' as const, windowMs: 10 * M };
    const plan = decideGroup(reopen, { pending: [], open, latest }, [at(101)], resolvedAt);
    expect(plan.incidents[0]!.target).toEqual({ kind: 'existing', id: 10 });
  });
});
