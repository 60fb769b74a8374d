import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics, type PipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import type { Database } from '../../src/store/database';
import { createJobsApplier, type JobsApplier } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * How many statements a worker's transaction runs for the common batches, on the real
 * PostgreSQL: each is a round trip, and the worker's latency is their sum. The bounds are the
 * counts as they are (begin and commit included), so that a change adding a statement to one
 * of these paths fails here and is a decision, not an accident. The rule detects flapping, as
 * the default rules do (the flapping stage runs its statements). The flapping stage reads its
 * tracking rows and their history in two statements on purpose (flapping-store.ts readStateChanges),
 * and neither for alerts stored first in the transaction (dedup's `firstSeen`): they have none.
 * Its writes travel with the timeline's statement unless an alert starts or stops flapping
 * (LaterWrites).
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: default
    group_by: [alertname, service]
    group_window: 1h
    flapping: {}
`;

let t: TestDatabase;
let counted: Kysely<Database>;
let statements: string[] = [];
let apply: JobsApplier;
let metrics: PipelineMetrics;

beforeAll(async () => {
  t = await createTestDatabase();
  const pool = new Pool({ connectionString: t.url, max: 2 });
  const log = (event: LogEvent): void => { statements.push(event.query.sql.replace(/\s+/g, ' ').slice(0, 120)); };
  counted = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
  metrics = createPipelineMetrics(new Registry());
  const bundle = compileRuleText('rules.yaml', RULES);
  apply = createJobsApplier(counted, buildPipeline({ rules: () => bundle, metrics }), metrics);
  // A first batch of another group: the worker's caches (silences) are warm, as in a running worker.
  await apply([job(alert({ alertname: 'Warm', service: 'up', instance: '1' }, 'firing', '2026-11-20T09:00:00Z'))]);
});
afterAll(async () => {
  await counted.destroy();
  await t.drop();
});

const alert = (
  labels: Record<string, string>, status: 'firing' | 'resolved', startsAt: string, endsAt: string | null = null,
): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status, labels, annotations: {}, startsAt, endsAt,
});
const job = (...alerts: CanonicalAlert[]): IngestJob => ({
  id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(), alerts,
});

/** Applies the batch as one transaction; returns the statements it ran, in order. */
async function statementsOf(...jobs: IngestJob[]): Promise<string[]> {
  statements = [];
  await apply(jobs);
  return statements;
}

function expectAtMost(ran: readonly string[], most: number): void {
  if (ran.length > most) {
    throw new Error(`${String(ran.length)} statements, at most ${String(most)} expected:\n${ran.join('\n')}`);
  }
}

const first = ['1', '2', '3'].map((instance) =>
  alert({ alertname: 'Down', service: 'web', instance }, 'firing', '2026-11-20T10:00:00Z'));
const joining = ['4', '5'].map((instance) =>
  alert({ alertname: 'Down', service: 'web', instance }, 'firing', '2026-11-20T10:01:00Z'));
const another = alert({ alertname: 'Down', service: 'web', instance: '6' }, 'firing', '2026-11-20T10:02:00Z');
const all = [...first, ...joining, another];
const incidents = () => t.db.selectFrom('incidents').select(['id', 'status', 'alert_count'])
  .where('group_key', 'like', '%Down%').execute();
/** The incident's alerts as linked, in order. */
const linked = () => t.db.selectFrom('incident_alerts as ia').innerJoin('incidents as i', 'i.id', 'ia.incident_id')
  .select(['ia.fingerprint', 'ia.status']).where('i.group_key', 'like', '%Down%')
  .orderBy('ia.linked_at').orderBy('ia.fingerprint').execute();

test('new alerts opening a new incident', async () => {
  const ran = await statementsOf(job(...first.slice(0, 2)), job(...first.slice(2)));
  expect(await incidents()).toEqual([expect.objectContaining({ status: 'open', alert_count: 3 })]);
  expect(await linked()).toEqual(first.map((a) => ({ fingerprint: a.fingerprint, status: 'firing' })));
  expectAtMost(ran, 5);
});

test('new alerts joining the open incident', async () => {
  const ran = await statementsOf(job(...joining));
  expect(await incidents()).toEqual([expect.objectContaining({ status: 'open', alert_count: 5 })]);
  expect(await linked()).toEqual([...first, ...joining].map((a) => ({ fingerprint: a.fingerprint, status: 'firing' })));
  expectAtMost(ran, 6);
});

test('a group sent again with a new alert: the new one joins the incident', async () => {
  // One re-sent with another label under its fingerprint: counted (the update's part of the statement).
  const relabelled = all.map((a, i) => (i === 0 ? { ...a, labels: { ...a.labels, severity: 'critical' } } : a));
  const ran = await statementsOf(job(...relabelled));
  const counted = await metrics.fingerprintLabelChanges.get();
  expect(counted.values).toEqual([expect.objectContaining({ labels: { source: 'test' }, value: 1 })]);
  expect(await incidents()).toEqual([expect.objectContaining({ status: 'open', alert_count: 6 })]);
  expect(await linked()).toEqual(all.map((a) => ({ fingerprint: a.fingerprint, status: 'firing' })));
  expectAtMost(ran, 7);
});

test('alerts sent again (duplicates)', async () => {
  const ran = await statementsOf(job(...all));
  expect(await incidents()).toEqual([expect.objectContaining({ status: 'open', alert_count: 6 })]);
  const occurrences = await t.db.selectFrom('alerts').select(['fingerprint', 'occurrences'])
    .where('fingerprint', 'in', all.map((a) => a.fingerprint)).execute();
  expect(new Map(occurrences.map((r) => [r.fingerprint, r.occurrences])))
    .toEqual(new Map(all.map((a) => [a.fingerprint, a === another ? 2 : 3])));
  expectAtMost(ran, 5);
});

test('every alert resolved: the incident resolves', async () => {
  const resolved = all
    .map((a): CanonicalAlert => ({ ...a, status: 'resolved', endsAt: '2026-11-20T10:05:00Z' }));
  const ran = await statementsOf(job(...resolved));
  expect(await incidents()).toEqual([expect.objectContaining({ status: 'resolved', alert_count: 6 })]);
  expect((await linked()).map((l) => l.status)).toEqual(all.map(() => 'resolved'));
  expectAtMost(ran, 10);
});

test('a new alert in a job applied before and in a fresh one is stored as the fresh job alone makes it', async () => {
  // The job applied before is known by its id only: its alerts are not stored again.
  const z = (annotation: string) => ({
    ...alert({ alertname: 'Z', service: 'web', instance: '1' }, 'firing', '2026-11-20T11:00:00Z'),
    annotations: { note: annotation },
  });
  const before = { ...job(z('before')), receivedAt: '2026-11-20T11:00:01.000Z' };
  const fresh = { ...job(z('fresh')), receivedAt: '2026-11-20T11:00:02.000Z' };
  await t.db.insertInto('processed_jobs').values({ id: before.id }).execute();
  await statementsOf(before, fresh);
  const row = await t.db.selectFrom('alerts').select(['occurrences', 'annotations', 'first_seen_at'])
    .where('fingerprint', '=', z('').fingerprint).executeTakeFirstOrThrow();
  expect(row).toEqual({ occurrences: 1, annotations: { note: 'fresh' }, first_seen_at: new Date(fresh.receivedAt) });
});
