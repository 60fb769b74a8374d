import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { Client } from 'pg';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { REPO } from '../support/quell-process';
import { waitFor } from '../support/wait';

/**
 * Reads are bounded (issue 10, finding 6): an incident's detail has a summary and one page of
 * its alerts and timeline, every list is paged by a cursor and bounded in bytes, and reads
 * cannot take the database connections ingest needs.
 */
const ALERTS = 3000;
const BATCH = 500; // fingerprints per timeline entry, as one group-commit batch writes them
const COMMENTS = 150;
const SMALL_BUDGET = 32 * 1024;

let t: TestDatabase;
let queue: EmbeddedQueue;
let app: TestApp;
let small: TestApp;
let big: number;

beforeAll(async () => {
  t = await createTestDatabase();
  queue = new EmbeddedQueue(t.db); // ingest in the embedded mode: the same pool as the reads; not consumed here
  app = await serveTestApp({ db: t.db, queue, openReads: true });
  small = await serveTestApp({ db: t.db, queue, openReads: true, reads: { maxBytes: SMALL_BUDGET, concurrency: 4 } });
  // One incident of ALERTS alerts (a third resolved), linked 100 per millisecond and at odd
  // microseconds (a JS Date would merge them), with its timeline.
  const { rows } = await sql<{ id: number }>`
    with inc as (
      insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds, alert_count,
        first_alert_at, last_alert_at)
      values ('Big', 'open', 3, 'default', 'default:{big}', true, 3600, ${ALERTS}, now(), now()) returning id
    ), al as (
      insert into alerts (fingerprint, source, status, labels, annotations, starts_at, occurrences, first_seen_at,
        last_seen_at)
      select md5('big' || i), 'alertmanager', 'firing',
        jsonb_build_object('alertname', 'Big', 'cluster', 'eu1', 'service', 'checkout', 'instance', 'host-' || i,
          'pod', 'checkout-' || md5(i::text)),
        jsonb_build_object('summary', repeat('s', 300), 'runbook_url', 'https://runbooks.example/checkout/' || i),
        '2026-11-20T10:00:00Z', 1, now(), now()
      from generate_series(1, ${ALERTS}) i returning 1
    ), ia as (
      insert into incident_alerts (fingerprint, starts_at, incident_id, status, ends_at, received_at, linked_at)
      select md5('big' || i), '2026-11-20T10:00:00Z', inc.id, case when i % 3 = 0 then 'resolved' else 'firing' end,
        case when i % 3 = 0 then timestamptz '2026-11-20T11:00:00Z' end, now(),
        timestamptz '2026-11-20T10:00:00.000007Z' + (i / 100) * interval '1 millisecond'
      from inc, generate_series(1, ${ALERTS}) i returning 1
    ), batches as (
      insert into incident_events (incident_id, kind, actor, detail)
      select inc.id, case when b = 0 then 'opened' else 'alerts_linked' end, 'quell', jsonb_build_object('fingerprints',
        (select jsonb_agg(md5('big' || i)) from generate_series(b * ${BATCH} + 1, b * ${BATCH} + ${BATCH}) i))
      from inc, generate_series(0, ${ALERTS / BATCH - 1}) b returning 1
    )
    select id from inc`.execute(t.db);
  big = rows[0]!.id;
  await sql`insert into incident_events (incident_id, kind, actor, detail)
    select ${big}, 'acknowledged', 'noc', jsonb_build_object('comment', 'note ' || c)
    from generate_series(1, ${COMMENTS}) c`
    .execute(t.db);
  // 250 small incidents opened within one millisecond, ten at each microsecond.
  await sql`insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds,
      alert_count, opened_at, first_alert_at, last_alert_at)
    select 'Small ' || i, case when i % 2 = 0 then 'open' else 'resolved' end, 4, 'default',
      'default:{small=' || i || '}', false, 3600, 0,
      timestamptz '2026-11-19T09:00:00.000001Z' + (i / 10) * interval '1 microsecond', now(), now()
    from generate_series(1, 250) i`.execute(t.db);
});

afterAll(async () => {
  app.close();
  small.close();
  await t.drop();
});

const get = async (base: string, path: string) => {
  const r = await fetch(`${base}${path}`);
  const text = await r.text();
  const body = JSON.parse(text);
  return { status: r.status, bytes: Buffer.byteLength(text), body, retryAfter: r.headers.get('retry-after') };
};

/** Follows `next` from `start` (or the first page) to the last; the largest answer's size in bytes. */
async function pageAll(base: string, path: string, field: string, start: string | null = null) {
  const items: any[] = [];
  let cursor = start;
  let pages = 0;
  let largest = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await get(base, cursor === null ? path : `${path}${sep}cursor=${cursor}`);
    expect(res.status).toBe(200);
    items.push(...res.body[field]);
    largest = Math.max(largest, res.bytes);
    cursor = res.body.next;
    pages++;
  } while (cursor !== null && pages < 500);
  return { items, pages, largest };
}

const inDbOrder = async (status?: string) => (await sql<{ fingerprint: string }>`
  select fingerprint from incident_alerts where incident_id = ${big} ${status ? sql`and status = ${status}` : sql``}
  order by linked_at, fingerprint, starts_at`.execute(t.db)).rows.map((r) => r.fingerprint);

describe('incident detail', () => {
  test('a big incident: the summary, one page of alerts and of timeline, in kilobytes, not megabytes', async () => {
    const all = await sql<{ n: string }>`
      select sum(octet_length(a.labels::text) + octet_length(a.annotations::text)) as n
      from incident_alerts ia join alerts a using (fingerprint) where ia.incident_id = ${big}`.execute(t.db);
    expect(Number(all.rows[0]!.n)).toBeGreaterThan(1_500_000); // what the answer held before

    const { status, bytes, body } = await get(app.base, `/api/v1/incidents/${big}`);
    expect(status).toBe(200);
    expect(bytes).toBeLessThan(100_000);
    expect(body).toMatchObject({ id: big, title: 'Big', alert_count: ALERTS });
    expect(body.alert_summary).toEqual({ total: ALERTS, firing: ALERTS - ALERTS / 3, resolved: ALERTS / 3 });
    expect(body.alerts).toHaveLength(50);
    expect(body.alerts.map((a: any) => a.fingerprint)).toEqual((await inDbOrder()).slice(0, 50));
    expect(Object.keys(body.alerts[0]))
      .toEqual(expect.arrayContaining(['fingerprint', 'labels', 'annotations', 'status', 'starts_at', 'ends_at']));
    expect(typeof body.alerts_next).toBe('string');
    expect(body.timeline).toHaveLength(50);
    expect(typeof body.timeline_next).toBe('string');
    // A batch's entry lists a sample of its fingerprints and counts them all.
    expect(body.timeline[0]).toMatchObject({ kind: 'opened', actor: 'quell', detail: { fingerprint_count: BATCH } });
    expect(body.timeline[0].detail.fingerprints).toHaveLength(20);
    expect(body.timeline[0].detail.fingerprints[0]).toBe(createHash('md5').update('big1').digest('hex'));
  });

  test('alerts_limit and timeline_limit choose the page sizes; 0 gives the summary alone', async () => {
    const { body } = await get(app.base, `/api/v1/incidents/${big}?alerts_limit=0&timeline_limit=3`);
    expect(body.alert_summary.total).toBe(ALERTS);
    expect(body.alerts).toEqual([]);
    expect(body.alerts_next).toBeNull();
    expect(body.timeline).toHaveLength(3);
    const rest = await pageAll(app.base, `/api/v1/incidents/${big}/timeline`, 'timeline', body.timeline_next);
    expect(rest.items).toHaveLength(ALERTS / BATCH + COMMENTS - 3);
    expect(rest.items.at(-1)).toMatchObject({ kind: 'acknowledged', detail: { comment: `note ${COMMENTS}` } });
  });

  test('the detail stays within the byte budget', async () => {
    const { status, bytes, body } = await get(small.base,
      `/api/v1/incidents/${big}?alerts_limit=1000&timeline_limit=1000`);
    expect(status).toBe(200);
    expect(bytes).toBeLessThanOrEqual(SMALL_BUDGET);
    expect(body.alerts.length).toBeGreaterThan(5);
    expect(body.timeline.length).toBeGreaterThan(5);
    expect(body.alerts_next).not.toBeNull();
  });
});

describe('paging', () => {
  test('the alerts, page by page, are every alert exactly once, in order', async () => {
    const { items, pages } = await pageAll(app.base, `/api/v1/incidents/${big}/alerts?limit=1000`, 'alerts');
    expect(pages).toBe(3);
    expect(items.map((a) => a.fingerprint)).toEqual(await inDbOrder());

    const detail = (await get(app.base, `/api/v1/incidents/${big}`)).body;
    const rest = await pageAll(app.base, `/api/v1/incidents/${big}/alerts?limit=1000`, 'alerts', detail.alerts_next);
    expect([...detail.alerts, ...rest.items].map((a) => a.fingerprint)).toEqual(await inDbOrder());
  });

  test('status= pages through the alerts of one status', async () => {
    const { items } = await pageAll(app.base, `/api/v1/incidents/${big}/alerts?status=resolved&limit=150`, 'alerts');
    expect(items.map((a) => a.fingerprint)).toEqual(await inDbOrder('resolved'));
    expect(items.every((a) => a.status === 'resolved')).toBe(true);
  });

  test('each answer stays within QUELL_MAX_RESPONSE_BYTES, and the pages still hold every row once', async () => {
    const alerts = await pageAll(small.base, `/api/v1/incidents/${big}/alerts?limit=1000`, 'alerts');
    expect(alerts.largest).toBeLessThanOrEqual(SMALL_BUDGET);
    expect(alerts.pages).toBeGreaterThan(ALERTS / 1000);
    expect(alerts.items.map((a) => a.fingerprint)).toEqual(await inDbOrder());

    const timeline = await pageAll(small.base, `/api/v1/incidents/${big}/timeline?limit=1000`, 'timeline');
    expect(timeline.largest).toBeLessThanOrEqual(SMALL_BUDGET);
    expect(timeline.items).toHaveLength(ALERTS / BATCH + COMMENTS);

    const incidents = await pageAll(small.base, '/api/v1/incidents?limit=1000', 'incidents');
    expect(incidents.largest).toBeLessThanOrEqual(SMALL_BUDGET);
    expect(incidents.pages).toBeGreaterThan(1);
    const ids = (await t.db.selectFrom('incidents').select('id')
      .orderBy('opened_at', 'desc').orderBy('id', 'desc').execute()).map((r) => r.id);
    expect(incidents.items.map((i) => i.id)).toEqual(ids);
  });

  test('the incident list pages by cursor within a status, through rows opened in the same millisecond', async () => {
    const { items, pages } = await pageAll(app.base, '/api/v1/incidents?status=resolved&limit=7', 'incidents');
    expect(pages).toBe(Math.ceil(125 / 7));
    const ids = (await t.db.selectFrom('incidents').select('id').where('status', '=', 'resolved')
      .orderBy('opened_at', 'desc').orderBy('id', 'desc').execute()).map((r) => r.id);
    expect(items.map((i) => i.id)).toEqual(ids);
    expect(ids).toHaveLength(125);
  });

  test('a row over the budget comes alone, whole, and paging moves on', async () => {
    const huge = 'h'.repeat(SMALL_BUDGET + 1000);
    const { rows } = await sql<{ id: number }>`
      with inc as (
        insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds,
          alert_count, first_alert_at, last_alert_at)
        values ('Huge', 'open', 3, 'default', 'default:{huge}', true, 3600, 3, now(), now()) returning id
      ), al as (
        insert into alerts (fingerprint, source, status, labels, annotations, starts_at, occurrences, first_seen_at,
          last_seen_at)
        select 'huge-' || i, 'alertmanager', 'firing', jsonb_build_object('alertname', 'Huge', 'i', i::text),
          jsonb_build_object('description', case when i = 2 then ${huge} else 'small' end), now(), 1, now(), now()
        from generate_series(1, 3) i returning 1
      ), ia as (
        insert into incident_alerts (fingerprint, starts_at, incident_id, status, received_at, linked_at)
        select 'huge-' || i, now(), inc.id, 'firing', now(), now() + i * interval '1 second'
        from inc, generate_series(1, 3) i returning 1
      )
      select id from inc`.execute(t.db);
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res = await get(small.base, `/api/v1/incidents/${rows[0]!.id}/alerts${cursor ? `?cursor=${cursor}` : ''}`);
      pages.push(res.body.alerts.map((a: any) => a.fingerprint));
      if (pages.length === 2) expect(res.body.alerts[0].annotations.description).toBe(huge);
      cursor = res.body.next;
    } while (cursor !== null && pages.length < 10);
    expect(pages).toEqual([['huge-1'], ['huge-2'], ['huge-3']]);
  });
});

describe('bad requests', () => {
  const b64 = (value: unknown) =>
    Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const alertKey = ['2026-11-20T10:00:00.000007Z', 'abc', '2026-11-20T10:00:00.000000Z'];
  test.each([
    ['not base64url', 'alerts', '!!!'],
    ['not JSON', 'alerts', b64('{nope')],
    ['not an array', 'alerts', b64({ a: 1 })],
    ['another list', 'alerts', b64(['timeline', '5'])],
    ['a key too short', 'alerts', b64(['alerts', alertKey[0], alertKey[1]])],
    ['a day that does not exist', 'alerts', b64(['alerts', '2026-02-30T10:00:00.000000Z', 'abc', alertKey[2]])],
    ['a NUL in the fingerprint', 'alerts', b64(['alerts', alertKey[0], 'a\u0000b', alertKey[2]])],
    ['a timeline id that is not a number', 'timeline', b64(['timeline', '1 or 1=1'])],
    ['an incidents cursor on the timeline', 'timeline', b64(['incidents', '2026-11-20T10:00:00.000000Z', 1])],
    ['an incident id out of range', '', b64(['incidents', '2026-11-20T10:00:00.000000Z', 2 ** 40])],
  ])('a cursor with %s is 400 invalid_request', async (_what, list, cursor) => {
    const path = list === '' ? '/api/v1/incidents' : `/api/v1/incidents/${big}/${list}`;
    const { status, body } = await get(app.base, `${path}?cursor=${cursor}`);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', field: 'cursor', retryable: false });
  });

  test.each([
    [`/api/v1/incidents/{big}?alerts_limit=1001`, 400, 'invalid_request'],
    [`/api/v1/incidents/{big}?timeline_limit=-1`, 400, 'invalid_request'],
    [`/api/v1/incidents/{big}/alerts?status=pending`, 400, 'invalid_request'],
    [`/api/v1/incidents/{big}/alerts?limit=0`, 400, 'invalid_request'],
    ['/api/v1/incidents/abc/alerts', 400, 'invalid_request'],
    ['/api/v1/incidents/999999/alerts', 404, 'not_found'],
    ['/api/v1/incidents/999999/timeline', 404, 'not_found'],
  ])('GET %s -> %i %s', async (path, code, error) => {
    const { status, body } = await get(app.base, path.replace('{big}', String(big)));
    expect(status).toBe(code);
    expect(body.error.code).toBe(error);
  });
});

test('slow reads cannot take the connections ingest needs: the surplus waits, then is 503 busy', async () => {
  const gated = await serveTestApp({ db: t.db, queue, openReads: true, reads: { maxBytes: 1024 * 1024,
    concurrency: 2 } });
  const locker = new Client({ connectionString: t.url });
  const observer = new Client({ connectionString: t.url });
  await locker.connect();
  await observer.connect();
  try {
    // Reads of incidents now wait on the lock, as reads would on a database slowed down.
    await locker.query('begin');
    await locker.query('lock table incidents in access exclusive mode');
    const reads = Array.from({ length: 20 }, () => get(gated.base, '/api/v1/incidents'));
    // (pg_stat_activity is read outside the locking transaction: inside it, its first read would be kept.)
    const blocked = async () => Number((await observer.query(`select count(*) as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`)).rows[0].n);
    await waitFor(async () => (await blocked()) >= 2, 5000, 'reads waiting on the lock');
    await new Promise((r) => setTimeout(r, 300)); // more would pile up here if the gate let them
    expect(await blocked()).toBe(2);

    const ingest = await fetch(`${gated.base}/ingest/alertmanager`, {
      method: 'POST', headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}` },
      body: readFileSync(`${REPO}/connectors/alertmanager/fixtures/firing.json`), signal: AbortSignal.timeout(3000),
    });
    expect(ingest.status).toBe(202);

    await locker.query('commit');
    const answers = await Promise.all(reads);
    const busy = answers.filter((a) => a.status === 503);
    expect(busy).toHaveLength(20 - 2 - 8); // two served at once, eight waiting
    expect(busy[0]).toMatchObject({ retryAfter: '5', body: { error: { code: 'busy', retryable: true } } });
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
  } finally {
    await locker.end();
    await observer.end();
    gated.close();
  }
});
