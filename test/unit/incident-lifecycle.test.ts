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

test('incident events become the timeline rows the API has always shown', () => {
  expect(timelineEntryOf({ kind: 'opened', incidentId: 3, rule: 'r', groupKey: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'] }))
    .toEqual({ incidentId: 3, kind: 'opened', actor: 'quell', detail: { rule: 'r', group_key: 'r:{}', title: 'T', priority: 2, fingerprints: ['f'] } });
  expect(timelineEntryOf({ kind: 'acknowledged', incidentId: 3, by: 'alice', comment: 'looking' }))
    .toEqual({ incidentId: 3, kind: 'acknowledged', actor: 'alice', detail: { comment: 'looking' } });
  expect(timelineEntryOf({ kind: 'resolved', incidentId: 3, by: 'quell', reason: 'all alerts resolved' }))
    .toEqual({ incidentId: 3, kind: 'resolved', actor: 'quell', detail: { reason: 'all alerts resolved' } });
  expect(timelineEntryOf({ kind: 'grouping_closed', incidentId: 3, reason: 'group_window passed' }).detail).toEqual({ reason: 'group_window passed' });
});
