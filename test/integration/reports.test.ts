import { sql } from 'kysely';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { rollUpReports } from '../../src/reports/report-rollup';
import { serveTestApp, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The KPI reports on a hand-made data set with known answers, read live, partly rolled up and
 * wholly rolled up (the same answers each time), as JSON and CSV; and their 400s and 404.
 */
let t: TestDatabase;
let app: TestApp;
let withTargets: TestApp;

interface Hand {
  readonly priority: number;
  readonly service: string | null;
  readonly opened: string;
  readonly ackAfter?: number;
  readonly resolveAfter?: number;
  readonly alerts: number;
}

/** Times in seconds after opening. */
const INCIDENTS: readonly Hand[] = [
  { priority: 1, service: 'checkout', opened: '2026-03-01T10:00:00Z', ackAfter: 60, resolveAfter: 600, alerts: 4 },
  { priority: 1, service: 'checkout', opened: '2026-03-01T12:00:00Z', ackAfter: 120, resolveAfter: 1800, alerts: 6 },
  { priority: 1, service: 'payments', opened: '2026-03-02T08:00:00Z', ackAfter: 300, resolveAfter: 3600, alerts: 10 },
  { priority: 2, service: 'payments', opened: '2026-03-02T09:00:00Z', ackAfter: 600, alerts: 2 },
  // resolved after the period
  { priority: 3, service: null, opened: '2026-03-03T23:50:00Z', resolveAfter: 1800, alerts: 1 },
  // opened before the period, acknowledged and resolved in it
  { priority: 2, service: 'checkout', opened: '2026-02-28T23:00:00Z', ackAfter: 5400, resolveAfter: 10800, alerts: 3 },
  // after the period
  { priority: 1, service: 'checkout', opened: '2026-03-04T01:00:00Z', ackAfter: 60, alerts: 2 },
];

const PERIOD = 'from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z';
const NAMES = ['mtta', 'mttr', 'incidents-by-priority', 'incidents-by-service', 'reopen-rate', 'compression',
  'sla-compliance'];

beforeAll(async () => {
  t = await createTestDatabase();
  const queue = new EmbeddedQueue(t.db);
  app = await serveTestApp({ db: t.db, queue, openReads: true });
  withTargets = await serveTestApp({
    openReads: true,
    db: t.db, queue,
    reports: { slaTargets: () => ({ 1: { ttaSeconds: 100, ttrSeconds: 1800 }, 2: { ttaSeconds: 1000 } }) },
  });
  for (const [n, i] of INCIDENTS.entries()) {
    const at = (s: number | undefined) => (
      s === undefined ? null : new Date(Date.parse(i.opened) + s * 1000).toISOString());
    const status = i.resolveAfter !== undefined ? 'resolved' : i.ackAfter !== undefined ? 'acknowledged' : 'open';
    await sql`insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds,
        alert_count, opened_at, first_alert_at, last_alert_at, acknowledged_at, resolved_at, resolved_by, service)
      values (${`incident ${n + 1}`}, ${status}, ${i.priority}, 'r', ${`g${n}`}, false, 600, ${i.alerts}, ${i.opened},
        ${i.opened}, ${i.opened}, ${at(i.ackAfter)}, ${at(i.resolveAfter)}, ${status === 'resolved' ? 'manual' : null},
        ${i.service})`.execute(t.db);
  }
  // The first incident was reopened once in the period (and resolved again: its stored times).
  await sql`insert into incident_events (incident_id, at, kind, actor, detail)
    select id, '2026-03-02T12:00:00Z', 'reopened', 'quell', '{}' from incidents where title = 'incident 1'`
    .execute(t.db);
});
afterAll(async () => {
  app.close();
  withTargets.close();
  await t.drop();
});

const get = (base: string, path: string, accept = 'application/json') => fetch(`${base}${path}`,
  { headers: { accept } });

async function rowsOf(name: string, query = PERIOD, base = app.base): Promise<unknown[]> {
  const res = await get(base, `/api/v1/reports/${name}?${query}`);
  expect(res.status).toBe(200);
  const body = await res.json() as { report: string; rows: unknown[]; columns: string[] };
  expect(body.report).toBe(name);
  return body.rows;
}

const EXPECTED: Record<string, unknown[]> = {
  // Percentiles are their bucket's value (within 2 %): 120 s -> 119, 300 -> 299, 600 -> 590...
  mtta: [
    { priority: 1, acknowledged: 3, mean_seconds: 160, p50_seconds: 119, p90_seconds: 299, p95_seconds: 299 },
    { priority: 2, acknowledged: 2, mean_seconds: 3000, p50_seconds: 590, p90_seconds: 5329, p95_seconds: 5329 },
    { priority: 3, acknowledged: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
    { priority: 4, acknowledged: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
    { priority: 5, acknowledged: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
  ],
  mttr: [
    { priority: 1, resolved: 3, mean_seconds: 2000, p50_seconds: 1809, p90_seconds: 3572, p95_seconds: 3572 },
    { priority: 2, resolved: 1, mean_seconds: 10800, p50_seconds: 10949, p90_seconds: 10949, p95_seconds: 10949 },
    { priority: 3, resolved: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
    { priority: 4, resolved: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
    { priority: 5, resolved: 0, mean_seconds: null, p50_seconds: null, p90_seconds: null, p95_seconds: null },
  ],
  'incidents-by-priority': [
    { priority: 1, opened: 3, resolved: 3 }, { priority: 2, opened: 1, resolved: 1 },
      { priority: 3, opened: 1, resolved: 0 },
    { priority: 4, opened: 0, resolved: 0 }, { priority: 5, opened: 0, resolved: 0 },
  ],
  'incidents-by-service': [
    { service: 'checkout', opened: 2, resolved: 3 }, { service: 'payments', opened: 2, resolved: 1 },
    { service: null, opened: 1, resolved: 0 },
  ],
  'reopen-rate': [{ resolved: 4, reopened: 1, reopen_rate_percent: 25 }],
  compression: [{ alerts: 23, incidents: 5, alerts_per_incident: 4.6, compression_percent: 78.26 }],
  'sla-compliance': [],
};

async function expectAll(): Promise<void> {
  for (const name of NAMES) expect({ name, rows: await rowsOf(name) }).toEqual({ name, rows: EXPECTED[name] });
  expect(await rowsOf('sla-compliance', PERIOD, withTargets.base)).toEqual([
    { priority: 1, measure: 'tta', target_seconds: 100, incidents: 3, met: 1, breached: 2, compliance_percent: 33.33 },
    { priority: 1, measure: 'ttr', target_seconds: 1800, incidents: 3, met: 2, breached: 1, compliance_percent: 66.67 },
    { priority: 2, measure: 'tta', target_seconds: 1000, incidents: 2, met: 1, breached: 1, compliance_percent: 50 },
  ]);
}

/** Whole months: February and March. */
const WIDE = 'from=2026-02-01T00:00:00Z&to=2026-04-01T00:00:00Z';

/** A period with partial days at both ends: from 11:00 on the 1st to 12:00 on the 3rd. */
const PARTIAL = 'from=2026-03-01T11:00:00Z&to=2026-03-03T12:00:00Z';

test('each report has its known figures, read live, partly rolled up, then wholly rolled up', async () => {
  await expectAll();
  const partialLive = await Promise.all(NAMES.map((n) => rowsOf(n, PARTIAL)));
  const wideLive = await Promise.all(NAMES.map((n) => rowsOf(n, WIDE)));
  expect(partialLive[NAMES.indexOf('incidents-by-priority')]).toEqual([
    { priority: 1, opened: 2, resolved: 2 }, { priority: 2, opened: 1, resolved: 0 },
      { priority: 3, opened: 0, resolved: 0 },
    { priority: 4, opened: 0, resolved: 0 }, { priority: 5, opened: 0, resolved: 0 },
  ]);

  // The 1st rolled up (the roll-up ran on the 2nd): the period reads it, and the rest live.
  expect(await rollUpReports(t.db, new Date('2026-03-02T05:00:00Z'), 7)).toEqual({ fromDay: '2026-02-28',
    toDay: '2026-03-02' });
  await expectAll();
  expect(await Promise.all(NAMES.map((n) => rowsOf(n, PARTIAL)))).toEqual(partialLive);

  // Everything rolled up; the settle days are rolled again.
  expect(await rollUpReports(t.db, new Date('2026-03-05T00:30:00Z'), 7)).toEqual({ fromDay: '2026-02-23',
    toDay: '2026-03-05' });
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from incident_daily
    where day >= '2026-03-01' and day < '2026-03-04'`.execute(t.db);
  expect(rows[0]?.n).toBeGreaterThan(0);
  await expectAll();
  expect(await Promise.all(NAMES.map((n) => rowsOf(n, PARTIAL)))).toEqual(partialLive);
  // Rolled past March: February and March come from the monthly roll-up.
  await rollUpReports(t.db, new Date('2026-04-10T00:30:00Z'), 7);
  const { rows: months } = await sql<{ month: string }>`select distinct month::text from incident_monthly order by 1`
    .execute(t.db);
  expect(months.map((m) => m.month)).toEqual(['2026-02-01', '2026-03-01']);
  expect(await Promise.all(NAMES.map((n) => rowsOf(n, WIDE)))).toEqual(wideLive);
  await expectAll();
  // And the period after, with the incident opened on the 4th (live: today).
  expect(await rowsOf('mtta', 'from=2026-03-04T00:00:00Z&to=2026-03-06T00:00:00Z')).toContainEqual(
    { priority: 1, acknowledged: 1, mean_seconds: 60, p50_seconds: 60, p90_seconds: 60, p95_seconds: 60 });
});

test('a roll-up under way elsewhere is skipped, not run twice', async () => {
  await t.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${0x5152_5054}::int4, 0)`.execute(trx);
    expect(await rollUpReports(t.db, new Date('2026-03-05T00:30:00Z'), 7)).toBeUndefined();
  });
});

test('CSV: a header row, then the rows, CRLF, quoted where needed, formulas defused', async () => {
  const res = await get(app.base, `/api/v1/reports/incidents-by-service?${PERIOD}`, 'text/csv');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
  expect(await res.text()).toBe('service,opened,resolved\r\ncheckout,2,3\r\npayments,2,1\r\n,1,0\r\n');

  await sql`insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds,
      alert_count, opened_at, first_alert_at, last_alert_at, service)
    values ('odd', 'open', 4, 'r', 'odd1', false, 600, 1, '2026-06-01T10:00:00Z', now(), now(), 'a "quoted", name'),
      ('odd', 'open', 4, 'r', 'odd2', false, 600, 1, '2026-06-01T10:00:00Z', now(), now(), '=HYPERLINK("x")')`
    .execute(t.db);
  const odd = await get(app.base,
    '/api/v1/reports/incidents-by-service?from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z', 'text/csv');
  expect(await odd.text()).toBe('service,opened,resolved\r\n"\'=HYPERLINK(""x"")",1,0\r\n"a ""quoted"", name",1,0\r\n');
  // JSON stays the default, and what */* gets.
  expect((await get(app.base, `/api/v1/reports/compression?${PERIOD}`, '*/*')).headers.get('content-type'))
    .toMatch(/^application\/json/);
});

test('a missing or wrong period is 400 naming the parameter; an unknown report 404 listing the known ones',
  async () => {
  const cases: [string, string][] = [
    ['to=2026-03-04T00:00:00Z', 'from'],
    ['from=2026-03-01T00:00:00Z', 'to'],
    ['from=yesterday&to=2026-03-04T00:00:00Z', 'from'],
    ['from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00', 'to'],
    ['from=2026-03-01T00:00:00Z&to=2026-02-30T00:00:00Z', 'to'],
    ['from=2026-03-04T00:00:00Z&to=2026-03-01T00:00:00Z', 'to'],
    ['from=2026-03-01T00:00:00Z&from=2026-03-02T00:00:00Z&to=2026-03-04T00:00:00Z', 'from'],
  ];
  for (const [query, field] of cases) {
    const res = await get(app.base, `/api/v1/reports/mtta?${query}`);
    const body = await res.json() as { error: { code: string; field: string; message: string } };
    expect({ query, status: res.status, code: body.error.code, field: body.error.field })
      .toEqual({ query, status: 400, code: 'invalid_request', field });
    expect(body.error.message).toMatch(new RegExp(`^${field}`));
  }
  const res = await get(app.base, `/api/v1/reports/nope?${PERIOD}`);
  expect(res.status).toBe(404);
  const body = await res.json() as { error: { code: string; reports: string[] } };
  expect(body.error.code).toBe('not_found');
  expect(body.error.reports).toEqual([...NAMES.slice(0, 6), 'sla-compliance', 'top-problems']);
  const list = await (await get(app.base, '/api/v1/reports')).json() as { reports: { name: string }[] };
  expect(list.reports.map((r) => r.name)).toContain('top-problems');
});

test('top-problems and sla-compliance take the functions plugged in', async () => {
  const plugged = await serveTestApp({
    openReads: true,
    db: t.db, queue: new EmbeddedQueue(t.db),
    reports: {
      topProblems: async (p) => [{ problem_id: 7, title: `since ${p.from.toISOString()}`, status: 'open',
        incidents: 12 }],
      slaCompliance: async () => [{ priority: 1, measure: 'tta', target_seconds: 300, incidents: 4, met: 3, breached: 1,
        compliance_percent: 75 }],
    },
  });
  try {
    expect(await rowsOf('top-problems', PERIOD, plugged.base)).toEqual([{ problem_id: 7,
      title: 'since 2026-03-01T00:00:00.000Z', status: 'open', incidents: 12 }]);
    expect(await rowsOf('sla-compliance', PERIOD, plugged.base)).toEqual([{ priority: 1, measure: 'tta',
      target_seconds: 300, incidents: 4, met: 3, breached: 1, compliance_percent: 75 }]);
    expect(await rowsOf('top-problems')).toEqual([]);
  } finally {
    plugged.close();
  }
});
