import { formatDuration } from '../../src/domain/duration';
import { businessElapsedMs, pausesOf, slaClocks, type ClockFacts,
  type ServiceLevelPolicy } from '../../src/domain/service-level';
import { serviceLevelsKind } from '../../src/rules/kinds/service-levels-kind';
import { compileRuleSources, compileRuleText, formatProblem } from '../../src/rules/rule-loader';

const T0 = new Date('2026-03-02T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const MIN = 60_000;

const policy: ServiceLevelPolicy = {
  targets: { 1: { tta: 15 * MIN, ttr: 240 * MIN }, 3: { ttr: 60 * MIN } },
  pauseIn: ['on_hold', 'awaiting_change'], warnAt: 0.8, notify: ['oncall'],
};
const facts = (over: Partial<ClockFacts> = {}): ClockFacts => ({
  priority: 1, openedAt: T0, acknowledgedAt: null, resolvedAt: null, pauses: [], ...over,
});
const clock = (name: 'tta' | 'ttr', f: ClockFacts, now: Date) => slaClocks(policy, f,
  now).find((c) => c.clock === name);

describe('service-level clocks', () => {
  test('run from the opening: near from warn_at, breached at the target', () => {
    expect(clock('tta', facts(), at(10))).toMatchObject({ elapsedMs: 10 * MIN, remainingMs: 5 * MIN, near: false,
      breached: false, stopped: false });
    expect(clock('tta', facts(), at(12))).toMatchObject({ near: true, breached: false });
    expect(clock('tta', facts(), at(15))).toMatchObject({ near: false, breached: true, remainingMs: 0 });
    expect(clock('tta', facts(), at(20))).toMatchObject({ breached: true, remainingMs: -5 * MIN });
  });

  test('time to acknowledge stops at the acknowledgement, or at the resolve of one never acknowledged', () => {
    expect(clock('tta', facts({ acknowledgedAt: at(7) }), at(60))).toMatchObject({ elapsedMs: 7 * MIN, stopped: true,
      breached: false });
    expect(clock('tta', facts({ resolvedAt: at(20) }), at(60))).toMatchObject({ elapsedMs: 20 * MIN, stopped: true,
      breached: true });
    expect(clock('ttr', facts({ acknowledgedAt: at(7) }), at(60))).toMatchObject({ elapsedMs: 60 * MIN,
      stopped: false });
  });

  test('pauses in the pausing statuses are left out; others count', () => {
    const pauses = [
      { state: 'on_hold', from: at(5), to: at(25) },
      { state: 'awaiting_change', from: at(30), to: at(40) },
    ];
    expect(clock('ttr', facts({ pauses }), at(60))?.elapsedMs).toBe(30 * MIN);
    const onHoldOnly = { ...policy, pauseIn: ['on_hold'] };
    expect(slaClocks(onHoldOnly, facts({ pauses }), at(60))[1]?.elapsedMs).toBe(40 * MIN);
    expect(slaClocks({ ...policy, pauseIn: [] }, facts({ pauses }), at(60))[1]?.elapsedMs).toBe(60 * MIN);
  });

  test('an open pause stands the clock still: paused, and its elapsed time does not grow', () => {
    const pauses = [{ state: 'on_hold', from: at(10) }];
    const a = clock('ttr', facts({ pauses }), at(30));
    const b = clock('ttr', facts({ pauses }), at(300));
    expect(a).toMatchObject({ elapsedMs: 10 * MIN, paused: true });
    expect(b).toMatchObject({ elapsedMs: 10 * MIN, paused: true, breached: false });
  });

  test('a pause after the clock stopped changes nothing; a pause overlapping the stop counts up to it', () => {
    const f = facts({ acknowledgedAt: at(10), pauses: [{ state: 'on_hold', from: at(8), to: at(50) }] });
    expect(clock('tta', f, at(60))?.elapsedMs).toBe(8 * MIN);
  });

  test('a priority without a target has no clock; a priority may have one clock only', () => {
    expect(slaClocks(policy, facts({ priority: 2 }), at(60))).toEqual([]);
    expect(slaClocks(policy, facts({ priority: 3 }), at(60)).map((c) => c.clock)).toEqual(['ttr']);
  });

  test('pauses from the timeline: held (with its state) to resumed or resolved; a second hold ends the first', () => {
    expect(pausesOf([
      { kind: 'held', at: at(1), state: 'awaiting_change' }, { kind: 'resumed', at: at(3) },
      { kind: 'commented', at: at(4) }, { kind: 'held', at: at(5), state: null }, { kind: 'held', at: at(6),
        state: 'awaiting_change' },
      { kind: 'resolved', at: at(8) }, { kind: 'held', at: at(9), state: 'on_hold' },
    ])).toEqual([
      { state: 'awaiting_change', from: at(1), to: at(3) },
      { state: 'on_hold', from: at(5), to: at(6) },
      { state: 'awaiting_change', from: at(6), to: at(8) },
      { state: 'on_hold', from: at(9) },
    ]);
    expect(businessElapsedMs(T0, at(10), [{ state: 'on_hold', from: at(-5), to: at(2) }], ['on_hold'])).toBe(8 * MIN);
  });

  test('durations print as Prometheus durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(65 * MIN + 5000)).toBe('1h5m5s');
    expect(formatDuration(2 * 86_400_000)).toBe('2d');
  });
});

describe('kind: ServiceLevels', () => {
  test('compiles targets per priority, pause_in, warn_at and notify', () => {
    const bundle = compileRuleText('sla.yaml', `apiVersion: quell/v1
kind: ServiceLevels
pause_in: [on_hold]
warn_at: 75%
notify: [oncall-slack]
priorities:
  P1: { time_to_acknowledge: 15m, time_to_resolve: 4h }
  P3: { time_to_resolve: 3d }
`);
    expect(bundle.get(serviceLevelsKind)).toEqual({
      targets: { 1: { tta: 15 * MIN, ttr: 240 * MIN }, 3: { ttr: 3 * 86_400_000 } },
      pauseIn: ['on_hold'], warnAt: 0.75, notify: ['oncall-slack'],
    });
    expect(bundle.counts['ServiceLevels']).toBe(2);
  });

  test('defaults: both waiting states pause, warn at 80%', () => {
    const levels = compileRuleText('sla.yaml',
      'apiVersion: quell/v1\nkind: ServiceLevels\npriorities: { P2: { time_to_resolve: 8h } }\n')
      .get(serviceLevelsKind);
    expect(levels).toMatchObject({ pauseIn: ['on_hold', 'awaiting_change'], warnAt: 0.8, notify: [] });
  });

  test('bad fields are errors at their place; a second document is an error', () => {
    const errors = (text: string) => compileRuleSources([{ file: 'sla.yaml', text }]).errors.map(formatProblem);
    expect(errors(
      'apiVersion: quell/v1\nkind: ServiceLevels\nwarn_at: 120%\n'
      + 'priorities: { P1: { time_to_resolve: soon } }\n').join('\n'))
      .toMatch(/sla\.yaml:3:\d+.*percentage[\s\S]*sla\.yaml:4:\d+.*duration/);
    expect(errors('apiVersion: quell/v1\nkind: ServiceLevels\npause_in: [resolved]\npriorities: {}\n')[0]).toMatch(/sla\.yaml:3/);
    const two = 'apiVersion: quell/v1\nkind: ServiceLevels\npriorities: {}\n---\n'
      + 'apiVersion: quell/v1\nkind: ServiceLevels\npriorities: {}\n';
    expect(errors(two).join('\n')).toMatch(/a second ServiceLevels/);
  });
});
