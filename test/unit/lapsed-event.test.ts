import { timelineEntryOf } from '../../src/domain/incident-event';

test('alerts_lapsed is written with its fingerprints, by and reason, as Quell', () => {
  expect(timelineEntryOf({ kind: 'alerts_lapsed', incidentId: 3, fingerprints: ['a'], by: 'reconciliation',
    reason: 'gone' }))
    .toEqual({ incidentId: 3, kind: 'alerts_lapsed', actor: 'quell',
      detail: { fingerprints: ['a'], by: 'reconciliation', reason: 'gone' } });
});
