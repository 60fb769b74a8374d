import { timelineEntryOf } from '../../src/domain/incident-event';
import {
  ACTIVE_STATUSES, CLOCK_PAUSING_STATUSES, INCIDENT_STATUSES, nextStatus, pauseAfter, pausedMsAt, pausesClocks,
  statusesAllowing, transition, type IncidentStatus, type LifecycleStep,
} from '../../src/domain/incident-lifecycle';

test('the lifecycle allows acknowledge from open only, resolve from open or acknowledged', () => {
  expect(nextStatus('open', 'acknowledge')).toBe('acknowledged');
  expect(nextStatus('acknowledged', 'acknowledge')).toBeUndefined();
  expect(nextStatus('resolved', 'acknowledge')).toBeUndefined();
  expect(nextStatus('open', 'resolve')).toBe('resolved');
  expect(nextStatus('acknowledged', 'resolve')).toBe('resolved');
  expect(nextStatus('resolved', 'resolve')).toBeUndefined();
});

const STEPS: readonly LifecycleStep[] = [
  { action: 'acknowledge' }, { action: 'resolve' }, { action: 'reopen' },
  { action: 'hold', state: 'on_hold' }, { action: 'hold', state: 'awaiting_change' }, { action: 'resume' },
];
const label = (s: LifecycleStep) => (s.action === 'hold' ? `hold:${s.state}` : s.action);

test('every status and change: the whole transition table', () => {
  const table: Record<string, Record<string, string>> = {};
  for (const status of INCIDENT_STATUSES) {
    for (const acknowledged of [false, true]) {
      const row: Record<string, string> = {};
      for (const step of STEPS) row[label(step)] = transition({ status, acknowledged }, step) ?? '-';
      table[`${status}${acknowledged ? '+ack' : ''}`] = row;
    }
  }
  expect(table).toEqual({
    'open': { acknowledge: 'acknowledged', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': 'awaiting_change', resume: '-' },
    'open+ack': { acknowledge: 'acknowledged', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': 'awaiting_change', resume: '-' },
    'acknowledged': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': 'awaiting_change', resume: '-' },
    'acknowledged+ack': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': 'awaiting_change', resume: '-' },
    // Resume goes back to acknowledged only if it had been acknowledged.
    'on_hold': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': '-', 'hold:awaiting_change': 'awaiting_change', resume: 'open' },
    'on_hold+ack': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': '-', 'hold:awaiting_change': 'awaiting_change', resume: 'acknowledged' },
    'awaiting_change': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': '-', resume: 'open' },
    'awaiting_change+ack': { acknowledge: '-', resolve: 'resolved', reopen: '-',
      'hold:on_hold': 'on_hold', 'hold:awaiting_change': '-', resume: 'acknowledged' },
    'resolved': { acknowledge: '-', resolve: '-', reopen: 'open',
      'hold:on_hold': '-', 'hold:awaiting_change': '-', resume: '-' },
    'resolved+ack': { acknowledge: '-', resolve: '-', reopen: 'open',
      'hold:on_hold': '-', 'hold:awaiting_change': '-', resume: '-' },
  });
});

test('the statuses SQL reads: where each change is allowed, which are open work, which pause clocks', () => {
  expect(statusesAllowing({ action: 'resolve' })).toEqual(['open', 'acknowledged', 'on_hold', 'awaiting_change']);
  expect(statusesAllowing({ action: 'reopen' })).toEqual(['resolved']);
  expect(statusesAllowing({ action: 'resume' })).toEqual(['on_hold', 'awaiting_change']);
  expect(statusesAllowing({ action: 'hold', state: 'on_hold' })).toEqual(['open', 'acknowledged', 'awaiting_change']);
  expect(ACTIVE_STATUSES).toEqual(['open', 'acknowledged', 'on_hold', 'awaiting_change']);
  expect(CLOCK_PAUSING_STATUSES).toEqual(['on_hold', 'awaiting_change']);
  expect(INCIDENT_STATUSES.filter(pausesClocks)).toEqual(['on_hold', 'awaiting_change']);
});

test('a pause starts on hold, goes on across hold states, and adds up when it ends', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  let clock = { pausedAt: null as Date | null, pausedMs: 0 };
  const step = (from: IncidentStatus, to: IncidentStatus, at: Date) => {
    clock = pauseAfter(clock, from, to, at);
    return clock;
  };
  expect(step('acknowledged', 'on_hold', t(10))).toEqual({ pausedAt: t(10), pausedMs: 0 });
  expect(pausedMsAt(clock, t(15))).toBe(5000);
  expect(step('on_hold', 'awaiting_change', t(20))).toEqual({ pausedAt: t(10), pausedMs: 0 });
  expect(step('awaiting_change', 'acknowledged', t(40))).toEqual({ pausedAt: null, pausedMs: 30_000 });
  expect(pausedMsAt(clock, t(59))).toBe(30_000);
  expect(step('acknowledged', 'awaiting_change', t(50))).toEqual({ pausedAt: t(50), pausedMs: 30_000 });
  expect(step('awaiting_change', 'resolved', t(52))).toEqual({ pausedAt: null, pausedMs: 32_000 });
  // Changes that neither start nor end a pause leave it as it is.
  expect(pauseAfter({ pausedAt: null, pausedMs: 7 }, 'open', 'acknowledged', t(60)))
    .toEqual({ pausedAt: null, pausedMs: 7 });
  // A clock going backwards never makes negative pauses.
  expect(pauseAfter({ pausedAt: t(30), pausedMs: 0 }, 'on_hold', 'open', t(20)))
    .toEqual({ pausedAt: null, pausedMs: 0 });
});

test('only a resolved incident reopens, to open', () => {
  expect(nextStatus('resolved', 'reopen')).toBe('open');
  expect(nextStatus('open', 'reopen')).toBeUndefined();
  expect(nextStatus('acknowledged', 'reopen')).toBeUndefined();
});

test('reopened, flapping and settled events have their timeline rows', () => {
  expect(timelineEntryOf({ kind: 'reopened', incidentId: 3, reason: 'r', fingerprints: ['f'] }))
    .toEqual({ incidentId: 3, kind: 'reopened', actor: 'quell', detail: { reason: 'r', fingerprints: ['f'] } });
  expect(timelineEntryOf({ kind: 'flapping', incidentId: 3, fingerprint: 'f', changes: 4, windowMs: 600_000 }))
    .toEqual({
      incidentId: 3, kind: 'flapping', actor: 'quell', detail: { fingerprint: 'f', changes: 4, window_seconds: 600 },
    });
  expect(timelineEntryOf({ kind: 'settled', incidentId: 3, fingerprint: 'f' }))
    .toEqual({ incidentId: 3, kind: 'settled', actor: 'quell', detail: { fingerprint: 'f' } });
});

test('assigned, held, resumed and impact/urgency events have their timeline rows, actor the person', () => {
  expect(timelineEntryOf({ kind: 'assigned', incidentId: 3, by: 'alice', assignee: 'bob', assignmentGroup: null }))
    .toEqual({ incidentId: 3, kind: 'assigned', actor: 'alice', detail: { assignee: 'bob', assignment_group: null } });
  expect(timelineEntryOf({ kind: 'assigned', incidentId: 3, by: 'alice', assignmentGroup: 'dba' }).detail)
    .toEqual({ assignment_group: 'dba' });
  expect(timelineEntryOf({ kind: 'held', incidentId: 3, by: 'alice', state: 'awaiting_change', reason: 'CHG0042' }))
    .toEqual({ incidentId: 3, kind: 'held', actor: 'alice', detail: { state: 'awaiting_change', reason: 'CHG0042' } });
  expect(timelineEntryOf({ kind: 'held', incidentId: 3, by: 'alice', state: 'on_hold' }).detail)
    .toEqual({ state: 'on_hold' });
  expect(timelineEntryOf({ kind: 'resumed', incidentId: 3, by: 'bob', status: 'acknowledged', heldMs: 1500 }))
    .toEqual({ incidentId: 3, kind: 'resumed', actor: 'bob', detail: { status: 'acknowledged', held_ms: 1500 } });
  expect(timelineEntryOf({
    kind: 'impact_urgency_changed', incidentId: 3, by: 'bob', impact: 1, urgency: 2,
    previous: { impact: null, urgency: null },
  })).toEqual({
    incidentId: 3, kind: 'impact_urgency_changed', actor: 'bob',
    detail: { impact: 1, urgency: 2, previous: { impact: null, urgency: null } },
  });
});

test('incident events become the timeline rows the API has always shown', () => {
  expect(timelineEntryOf({
    kind: 'opened', incidentId: 3, rule: 'r', groupKey: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'],
  })).toEqual({
    incidentId: 3, kind: 'opened', actor: 'quell',
    detail: { rule: 'r', group_key: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'] },
  });
  expect(timelineEntryOf({ kind: 'acknowledged', incidentId: 3, by: 'alice', comment: 'looking' }))
    .toEqual({ incidentId: 3, kind: 'acknowledged', actor: 'alice', detail: { comment: 'looking' } });
  expect(timelineEntryOf({ kind: 'resolved', incidentId: 3, by: 'quell', reason: 'all alerts resolved' }))
    .toEqual({ incidentId: 3, kind: 'resolved', actor: 'quell', detail: { reason: 'all alerts resolved' } });
  expect(timelineEntryOf({ kind: 'grouping_closed', incidentId: 3, reason: 'group_window passed' }).detail)
    .toEqual({ reason: 'group_window passed' });
});
