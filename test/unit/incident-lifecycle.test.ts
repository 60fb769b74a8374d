import { timelineEntryOf } from '../../src/domain/incident-event';
import { nextStatus } from '../../src/domain/incident-lifecycle';

test('the lifecycle allows acknowledge from open only, resolve from open or acknowledged', () => {
  expect(nextStatus('open', 'acknowledge')).toBe('acknowledged');
  expect(nextStatus('acknowledged', 'acknowledge')).toBeUndefined();
  expect(nextStatus('resolved', 'acknowledge')).toBeUndefined();
  expect(nextStatus('open', 'resolve')).toBe('resolved');
  expect(nextStatus('acknowledged', 'resolve')).toBe('resolved');
  expect(nextStatus('resolved', 'resolve')).toBeUndefined();
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

test('incident events become the timeline rows the API has always shown', () => {
  expect(timelineEntryOf({ kind: 'opened', incidentId: 3, rule: 'r', groupKey: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'] }))
    .toEqual({ incidentId: 3, kind: 'opened', actor: 'quell', detail: { rule: 'r', group_key: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'] } });
  expect(timelineEntryOf({ kind: 'acknowledged', incidentId: 3, by: 'alice', comment: 'looking' }))
    .toEqual({ incidentId: 3, kind: 'acknowledged', actor: 'alice', detail: { comment: 'looking' } });
  expect(timelineEntryOf({ kind: 'resolved', incidentId: 3, by: 'quell', reason: 'all alerts resolved' }))
    .toEqual({ incidentId: 3, kind: 'resolved', actor: 'quell', detail: { reason: 'all alerts resolved' } });
  expect(timelineEntryOf({ kind: 'grouping_closed', incidentId: 3, reason: 'group_window passed' }).detail).toEqual({ reason: 'group_window passed' });
});
