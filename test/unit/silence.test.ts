import { parseMatcher } from '../../src/domain/matchers';
import { silenceState, SilenceIndex, type Silence } from '../../src/domain/silence';

const silence = (id: string, matchers: string[], startsAt: string, endsAt: string): Silence => ({
  id, matchers: matchers.map(parseMatcher), startsAt, endsAt, createdBy: 'alice', comment: 'c', updatedAt: startsAt,
});

describe('silences', () => {
  test('pending before its start, active until its end, then expired (as Alertmanager)', () => {
    const s = { startsAt: '2026-11-20T10:00:00Z', endsAt: '2026-11-20T11:00:00Z' };
    expect(silenceState(s, new Date('2026-11-20T09:59:59.999Z'))).toBe('pending');
    expect(silenceState(s, new Date('2026-11-20T10:00:00Z'))).toBe('active');
    expect(silenceState(s, new Date('2026-11-20T10:59:59.999Z'))).toBe('active');
    expect(silenceState(s, new Date('2026-11-20T11:00:00Z'))).toBe('expired');
  });

  test('an alert is silenced by the active silences whose matchers all hold', () => {
    const index = new SilenceIndex([
      silence('a', ['service="db"', 'env=~"prod|stage"'], '2026-11-20T10:00:00Z', '2026-11-20T12:00:00Z'),
      silence('b', ['service="db"'], '2026-11-20T11:00:00Z', '2026-11-20T13:00:00Z'),
      silence('c', ['instance=~"db-.*"', 'team!="dba"'], '2026-11-20T10:00:00Z', '2026-11-20T12:00:00Z'),
    ]);
    const ids = (labels: Record<string, string>, at: string) => index.silencing(labels, new Date(at)).map((s) => s.id);
    expect(ids({ service: 'db', env: 'prod' }, '2026-11-20T10:30:00Z')).toEqual(['a']);
    expect(ids({ service: 'db', env: 'prod' }, '2026-11-20T11:30:00Z')).toEqual(['a', 'b']);
    expect(ids({ service: 'db', env: 'dev' }, '2026-11-20T12:30:00Z')).toEqual(['b']);
    expect(ids({ service: 'db', env: 'prod' }, '2026-11-20T13:00:00Z')).toEqual([]);
    expect(ids({ instance: 'db-1' }, '2026-11-20T10:30:00Z')).toEqual(['c']);
    expect(ids({ instance: 'db-1', team: 'dba' }, '2026-11-20T10:30:00Z')).toEqual([]);
  });
});
