import type { DryRunIncident } from '../../src/tooling/dry-run-engine';
import { progressOn, renderBar } from '../../src/tooling/progress-bar';
import { diffRuleSets } from '../../src/tooling/replay-diff';
import { inferStart, parseReplayLine } from '../../src/tooling/replay-input';
import { diffReport } from '../../src/tooling/replay-report';

describe('replay input', () => {
  test('one JSON per line: {"offsetMs","payload"}; blank lines skipped; bad ones named', () => {
    expect(parseReplayLine('{"offsetMs":1500,"payload":{"version":"4"}}', 3))
      .toEqual({ offsetMs: 1500, payload: { version: '4' }, line: 3 });
    expect(parseReplayLine('   ', 4)).toBeUndefined();
    expect(parseReplayLine('{"offsetMs":', 5)).toMatchObject({ line: 5, reason: expect.stringMatching(/^not JSON/) });
    expect(parseReplayLine('[1]', 6)).toMatchObject({ reason: 'expected an object {"offsetMs":…,"payload":{…}}' });
    expect(parseReplayLine('{"offsetMs":-1,"payload":{}}', 7))
      .toMatchObject({ reason: expect.stringMatching(/^offsetMs/) });
    expect(parseReplayLine('{"offsetMs":0}', 8)).toMatchObject({ reason: expect.stringMatching(/^payload/) });
  });

  test('the start is the latest that puts no alert after its own receipt', () => {
    const line = (offsetMs: number, ...times: [string, string?][]) => ({
      offsetMs, line: 1, payload: { alerts: times.map(([startsAt, endsAt]) => ({ startsAt, endsAt })) },
    });
    expect(inferStart([
      line(0, ['2026-01-01T10:00:00Z', '0001-01-01T00:00:00Z']),
      line(60_000, ['2026-01-01T09:00:00Z', '2026-01-01T10:02:00Z']),
    ])).toBe(Date.parse('2026-01-01T10:01:00Z'));
    expect(inferStart([{ offsetMs: 0, line: 1, payload: {} }])).toBeUndefined();
  });
});

const incident = (id: number, episodes: string[], more: Partial<DryRunIncident> = {}): DryRunIncident => ({
  id, title: `t${id}`, rule: 'r', groupKey: `r:{id="${id}"}`, status: 'open', priority: 3,
  firstAlertAt: `2026-01-01T10:00:${String(id).padStart(2, '0')}.000Z`,
  members: episodes.map((fingerprint) => ({
    fingerprint, labels: {}, status: 'firing', startsAt: '2026-01-01T10:00:00.000Z',
  })),
  ...more,
});

describe('what changes between two rule sets', () => {
  test('incidents matched by their alerts: merged, split, regrouped, changed, appeared, disappeared', () => {
    const before = [
      incident(1, ['a']), incident(2, ['b']),         // merged into 11
      incident(3, ['c', 'd']),                        // split into 12, 13
      incident(4, ['e', 'f']), incident(5, ['g', 'h']), // regrouped into 14, 15
      incident(6, ['i']),                             // unchanged as 16
      incident(7, ['j']),                             // changed: rule, priority, +1 alert
      incident(8, ['k']),                             // disappeared: no rule takes k
    ];
    const after = [
      incident(11, ['a', 'b']), incident(12, ['c']), incident(13, ['d']),
      incident(14, ['e', 'g']), incident(15, ['f', 'h']),
      incident(16, ['i'], { id: 16, title: 't6', groupKey: 'x' }),
      incident(17, ['j', 'l'], { rule: 'other', title: 't7', priority: 1 }),
      incident(18, ['m']),                            // appeared
    ];
    const diff = diffRuleSets(before, after);
    expect(diff.unchanged).toBe(1);
    const shape = diff.changes.map((c) => [c.kind, c.before.map((i) => i.id), c.after.map((i) => i.id), c.details]);
    expect(shape).toEqual([
      ['merged', [1, 2], [11], []],
      ['split', [3], [12, 13], []],
      ['regrouped', [4, 5], [14, 15], []],
      ['changed', [7], [17], ['rule r -> other', 'priority P3 -> P1', '+1 alert']],
      ['disappeared', [8], [], []],
      ['appeared', [], [18], []],
    ]);
    const report = diffReport(diff, 1);
    expect(report).toContain('split: 1 -> 2');
    expect(report).toContain('  + … 1 more');
    expect(report[report.length - 1])
      .toBe('changes: 1 merged, 1 split, 1 regrouped, 1 changed, 1 appeared, 1 disappeared; 1 unchanged');
  });
});

describe('progress', () => {
  test('a bar fitted to the terminal', () => {
    expect(renderBar('replay', 45, 100, 'alerts', 60))
      .toBe(`replay [${'#'.repeat(14)}${'.'.repeat(16)}]   45%  45/100 alerts`);
    expect(renderBar('replay', 45, 100, 'alerts', 60)).toHaveLength(60);
    expect(renderBar('replay', 1, 3, 'alerts', 20)).toBe('replay  33%  1/3 alerts');
  });

  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, isTTY, columns: 60, write: (t: string) => written.push(t) };
  };

  test('on a terminal: redrawn in place after a delay, at most ten times a second, erased when done', () => {
    let now = 0;
    const tty = stream(true);
    const p = progressOn(tty, 'replay', 100, 'alerts', { now: () => now });
    p.advance(10);                       // before the delay: nothing
    now = 600; p.advance(10);            // drawn
    now = 650; p.advance(10);            // too soon
    now = 800; p.advance(10);            // drawn
    p.done();
    expect(tty.written).toEqual([
      `\r${renderBar('replay', 20, 100, 'alerts', 60)}\x1b[K`,
      `\r${renderBar('replay', 40, 100, 'alerts', 60)}\x1b[K`,
      '\r\x1b[K',
    ]);
  });

  test('elsewhere: a plain line now and then; short work shows nothing', () => {
    let now = 0;
    const log = stream(false);
    const p = progressOn(log, 'replay', 100, 'alerts', { now: () => now, lineEveryMs: 5000 });
    for (const t of [600, 1000, 4000, 5600, 7000]) { now = t; p.advance(10); }
    p.done();
    expect(log.written).toEqual(['replay: 10/100 alerts (10%)\n', 'replay: 40/100 alerts (40%)\n']);
    const quick = stream(false);
    const q = progressOn(quick, 'x', 1, 'alerts', { now: () => 0 });
    q.advance(1);
    q.done();
    expect(quick.written).toEqual([]);
  });
});
