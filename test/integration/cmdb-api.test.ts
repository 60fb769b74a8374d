import { Registry } from 'prom-client';
import { CmdbLoader } from '../../src/cmdb/cmdb-loader';
import { createCmdbMetrics, type CmdbMetrics } from '../../src/cmdb/cmdb-metrics';
import { TopologyHolder } from '../../src/cmdb/topology-holder';
import { createLogger } from '../../src/log';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { CmdbVersionReplacedError, readCmdbMeta, readCmdbPages, replaceCmdb } from '../../src/store/cmdb-store';
import { serveTestApp, TEST_API_TOKEN, type TestApp } from '../support/app';
import { generateDataCentre } from '../support/cmdb-generator';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const log = createLogger('silent');
const GOOD = {
  cis: [
    { id: 'db-1', type: 'host', labels: { hostname: 'db-1.example', owner: 'dba' } },
    { id: 'orders-db', type: 'database', labels: { owner: 'dba' } },
    { id: 'checkout', type: 'service', labels: {} },
  ],
  relations: [
    { from: 'orders-db', type: 'runs_on', to: 'db-1' },
    { from: 'checkout', type: 'depends_on', to: 'orders-db' },
  ],
};

let t: TestDatabase;
let app: TestApp;
let registry: Registry;
let metrics: CmdbMetrics;
/** The API process's own holder, refreshed by its loader after each replace. */
let holder: TopologyHolder;
/** Another process's holder: polls. */
let worker: TopologyHolder;

const auth = { authorization: `Bearer ${TEST_API_TOKEN}` };
interface Answer { readonly status: number; readonly body: any }
async function put(body: string, type = 'application/json', base = app.base): Promise<Answer> {
  const r = await fetch(`${base}/api/v1/cmdb`, { method: 'PUT', headers: { ...auth, 'content-type': type }, body });
  return { status: r.status, body: await r.json() };
}
async function get(headers: Record<string, string> = auth): Promise<Answer & { etag: string | null }> {
  const r = await fetch(`${app.base}/api/v1/cmdb`, { headers });
  return { status: r.status, body: r.status === 304 ? undefined : await r.json(), etag: r.headers.get('etag') };
}
const metric = async (name: string): Promise<string> => {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(name)).join('\n');
};

beforeAll(async () => {
  t = await createTestDatabase();
  registry = new Registry();
  metrics = createCmdbMetrics(registry);
  holder = new TopologyHolder({ db: t.db, binding: {}, metrics, log });
  worker = new TopologyHolder({ db: t.db, binding: {}, metrics: createCmdbMetrics(new Registry()), log, pollMs: 50 });
  worker.start();
  app = await serveTestApp({
    db: t.db, queue: new EmbeddedQueue(t.db), registry,
    cmdb: { loader: new CmdbLoader({ db: t.db, metrics, log, holder }), maxBytes: 64 * 1024 * 1024 },
  });
});

afterAll(async () => {
  worker.stop();
  app.close();
  await t.drop();
});

describe('CMDB API', () => {
  test('before any load: version 0 and an empty topology', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    const meta = { version: 0, hash: '', source: 'none', loaded_at: null, cis: 0, relations: 0 };
    expect(r.body).toEqual({ meta, cis: [], relations: [] });
  });

  test('both ways need the API token', async () => {
    expect((await get({})).status).toBe(401);
    const r = await fetch(`${app.base}/api/v1/cmdb`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(GOOD),
    });
    expect(r.status).toBe(401);
    expect((await readCmdbMeta(t.db)).version).toBe(0);
  });

  test('PUT replaces the topology: the version and counts; every process picks it up', async () => {
    const r = await put(JSON.stringify(GOOD));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      version: 1, changed: true, cis: 3, relations: 2, source: 'api', hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(holder.current().info.version).toBe(1); // this process: at once
    expect(holder.current().bind({ instance: 'db-1.example:9100' })?.ci.id).toBe('db-1');
    await waitUntil(() => worker.current().info.version === 1); // another process: at its next poll
    expect(worker.current().rootCause(['checkout', 'db-1'])?.root.id).toBe('db-1');
    expect(await metric('quell_cmdb_')).toMatch(/quell_cmdb_cis 3\n.*quell_cmdb_relations 2\n.*quell_cmdb_version 1/s);
  });

  test('GET returns the document in force with its meta; ETag and If-None-Match', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ meta: expect.objectContaining({ version: 1, cis: 3, source: 'api' }), ...GOOD });
    expect(r.etag).toMatch(/^"1-[0-9a-f]{16}"$/);
    expect((await get({ ...auth, 'if-none-match': r.etag! })).status).toBe(304);
  });

  test('the same document again changes nothing; what GET gives can be PUT back', async () => {
    expect((await put(JSON.stringify(GOOD))).body).toMatchObject({ version: 1, changed: false });
    expect((await put(JSON.stringify((await get()).body))).body).toMatchObject({ version: 1, changed: false });
  });

  test('a bad document is a 400 naming the field, and the topology in force stays', async () => {
    const bad = { ...GOOD, relations: [...GOOD.relations, { from: 'checkout', type: 'depends_on', to: 'db-9' }] };
    const r = await put(JSON.stringify(bad));
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      code: 'invalid_payload', field: 'relations[2].to', message: 'relations[2].to: no CI "db-9"', retryable: false,
    });
    const broken = await put('{"cis": [');
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'invalid_json', retryable: false });
    expect((await put('')).body.error.code).toBe('invalid_json');
    expect((await get()).body).toEqual({ meta: expect.objectContaining({ version: 1 }), ...GOOD });
    expect(holder.current().info.version).toBe(1);
    expect(await metric('quell_cmdb_load_failures_total')).toContain('quell_cmdb_load_failures_total{source="api"} 3');
  });

  test('YAML with a YAML content type; its errors carry line and column', async () => {
    const yaml = 'cis:\n  - { id: a, type: host }\n  - { id: b, type: host }\n'
      + 'relations:\n  - { from: a, type: connected_to, to: b }\n';
    const r = await put(yaml, 'application/yaml');
    expect(r.body).toMatchObject({ version: 2, changed: true, cis: 2, relations: 1 });
    const badYaml = 'cis:\n  - { id: a, type: host }\nrelations:\n  - { from: a, type: runs_on, to: zz }\n';
    const bad = await put(badYaml, 'application/yaml');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_payload', field: 'relations[0].to', line: 4, column: 35 });
    expect((await readCmdbMeta(t.db)).version).toBe(2);
  });

  test('a body over QUELL_CMDB_MAX_BYTES is a 413 and changes nothing', async () => {
    const loader = new CmdbLoader({ db: t.db, metrics: createCmdbMetrics(new Registry()), log });
    const small = await serveTestApp({ db: t.db, queue: new EmbeddedQueue(t.db), cmdb: { loader, maxBytes: 256 } });
    try {
      const r = await put(JSON.stringify(generateDataCentre(200)), 'application/json', small.base);
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('payload_too_large');
    } finally {
      small.close();
    }
    expect((await readCmdbMeta(t.db)).version).toBe(2);
  });

  test('concurrent replaces are serialized: consecutive versions, the last one whole', async () => {
    const docs = [100, 200, 300].map((n) => generateDataCentre(n));
    const results = await Promise.all(docs.map((d) => put(JSON.stringify(d))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.map((r) => r.body.version).sort()).toEqual([3, 4, 5]);
    const meta = await readCmdbMeta(t.db);
    expect(meta.version).toBe(5);
    const last = results.find((r) => r.body.version === 5)!.body;
    expect(meta.cis).toBe(last.cis);
    const rows = await t.db.selectFrom('cmdb_cis').select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(meta.cis); // older versions' rows are gone
  });

  test('a reader of a version that is replaced meanwhile is told so, never given a mix', async () => {
    const meta = await readCmdbMeta(t.db);
    const pages = readCmdbPages(t.db, meta, 5);
    expect((await pages.next()).done).toBe(false);
    await replaceCmdb(t.db, GOOD as never, 'another-hash', 'api');
    await expect(pages.next()).rejects.toBeInstanceOf(CmdbVersionReplacedError);
  });

  test('100,000 CIs: PUT stores them in seconds; GET and a worker read them back', async () => {
    const doc = generateDataCentre(100_000);
    const body = JSON.stringify(doc);
    let started = performance.now();
    const r = await put(body);
    const putMs = performance.now() - started;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ changed: true, cis: doc.cis.length, relations: doc.relations.length });

    started = performance.now();
    const back = await get();
    const getMs = performance.now() - started;
    expect(back.body.meta.version).toBe(r.body.version);
    expect(back.body.cis).toEqual(doc.cis);
    expect(back.body.relations).toEqual(doc.relations);

    started = performance.now();
    const fresh = new TopologyHolder({ db: t.db, binding: {}, metrics: createCmdbMetrics(new Registry()), log });
    await fresh.refresh();
    const loadMs = performance.now() - started;
    expect(fresh.current().ciCount).toBe(doc.cis.length);
    const mb = (body.length / 1e6).toFixed(1);
    const size = `${doc.cis.length} CIs + ${doc.relations.length} relations (${mb} MB JSON)`;
    process.stdout.write(`cmdb: ${size}: `
      + `PUT (parse, validate, store) ${(putMs / 1000).toFixed(2)} s; GET ${(getMs / 1000).toFixed(2)} s; `
      + `a worker's load from PostgreSQL ${(loadMs / 1000).toFixed(2)} s\n`);
    expect(putMs).toBeLessThan(20_000);
  });
});

async function waitUntil(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
