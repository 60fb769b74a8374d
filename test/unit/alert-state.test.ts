import type { CanonicalAlert } from '../../src/domain/alert';
import { decide, decideAll, type AlertState } from '../../src/domain/alert-state';

const base = { source: 'alertmanager', fingerprint: 'fp1', labels: { alertname: 'A', instance: 'x' }, annotations: {} };
const firing = (startsAt: string): CanonicalAlert => ({ ...base, status: 'firing', startsAt, endsAt: null });
const resolved = (startsAt: string, endsAt: string): CanonicalAlert =>
  ({ ...base, status: 'resolved', startsAt, endsAt });

describe('decide', () => {
  test('first firing opens an episode', () => {
    const d = decide(undefined, firing('2026-01-01T10:00:00Z'));
    expect(d.transition.kind).toBe('opened');
    expect(d.next).toEqual({ status: 'firing', startsAt: '2026-01-01T10:00:00Z', endsAt: null, occurrences: 1 });
  });

  test('a re-sent firing is a duplicate that counts an occurrence', () => {
    const prev: AlertState = { status: 'firing', startsAt: '2026-01-01T10:00:00Z', endsAt: null, occurrences: 3 };
    const d = decide(prev, firing('2026-01-01T10:00:00Z'));
    expect(d.transition.kind).toBe('duplicate');
    expect(d.next.occurrences).toBe(4);
  });

  test('a resolve ends the current episode', () => {
    const prev: AlertState = { status: 'firing', startsAt: '2026-01-01T10:00:00Z', endsAt: null, occurrences: 1 };
    const d = decide(prev, resolved('2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z'));
    expect(d.transition).toMatchObject({ kind: 'resolved', episodeStartsAt: '2026-01-01T10:00:00Z' });
    expect(d.next).toMatchObject({ status: 'resolved', endsAt: '2026-01-01T10:05:00Z' });
  });

  test('a stale firing that arrives after its resolve reopens nothing', () => {
    const prev: AlertState = {
      status: 'resolved', startsAt: '2026-01-01T10:00:00Z', endsAt: '2026-01-01T10:05:00Z', occurrences: 2,
    };
    const d = decide(prev, firing('2026-01-01T10:00:00Z'));
    expect(d.transition.kind).toBe('stale');
    expect(d.next).toBe(prev);
  });

  test('a firing that starts after the resolve opens a new episode', () => {
    const prev: AlertState = {
      status: 'resolved', startsAt: '2026-01-01T10:00:00Z', endsAt: '2026-01-01T10:05:00Z', occurrences: 2,
    };
    const d = decide(prev, firing('2026-01-01T11:00:00Z'));
    expect(d.transition).toMatchObject({ kind: 'opened', episodeStartsAt: '2026-01-01T11:00:00Z' });
    expect(d.next).toEqual({ status: 'firing', startsAt: '2026-01-01T11:00:00Z', endsAt: null, occurrences: 3 });
  });

  test('a resolve that arrives first is remembered, so its late firing is stale', () => {
    const r = decide(undefined, resolved('2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z'));
    expect(r.transition.kind).toBe('stale');
    expect(r.next.status).toBe('resolved');
    expect(decide(r.next, firing('2026-01-01T10:00:00Z')).transition.kind).toBe('stale');
  });

  test('a resolve of an older episode does not end the current one', () => {
    const prev: AlertState = { status: 'firing', startsAt: '2026-01-01T11:00:00Z', endsAt: null, occurrences: 3 };
    const d = decide(prev, resolved('2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z'));
    expect(d.transition.kind).toBe('stale');
    expect(d.next).toBe(prev);
  });

  test('decideAll folds a batch in order', () => {
    const { next, transitions } = decideAll(undefined, [
      firing('2026-01-01T10:00:00Z'), firing('2026-01-01T10:00:00Z'),
      resolved('2026-01-01T10:00:00Z', '2026-01-01T10:01:00Z'), firing('2026-01-01T10:00:00Z'),
    ]);
    expect(transitions.map((t) => t.kind)).toEqual(['opened', 'duplicate', 'resolved', 'stale']);
    expect(next).toMatchObject({ status: 'resolved', occurrences: 3 });
  });
});
