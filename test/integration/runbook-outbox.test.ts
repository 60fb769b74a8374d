import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { OutboxRelay } from '../../src/outbox/outbox-relay';
import { recordOutbox } from '../../src/outbox/outbox-store';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { BullmqConsumer, BullmqIngestQueue, BullmqQueue, runbookQueueName } from '../../src/queue/bullmq-queue';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { runbookJobHandler, type RunbookJob } from '../../src/runbooks/runbook-queue';
import { approveRun } from '../../src/runbooks/run-records';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobsApplier } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { REPO, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, obliterateQueue, uniqueQueueName } from '../support/redis';
import { recordingExecutor, testRunbook } from '../support/runbooks';
import { waitFor } from '../support/wait';

/**
 * Never lost, never doubled: a run is recorded with its outbox row in the incident's
 * transaction; a worker killed between that commit and the hand-over to the runbook queue
 * loses no run (another worker's sweeper hands it over), and neither the redelivered ingest
 * job nor a second hand-over makes a second run or a second job.
 */

const FIXTURE = resolve(REPO, 'dist/test/support/runbook-worker.js');
const RUNBOOKS = JSON.stringify([{ name: 'repair', triggers: [{ event: 'opened' }],
  matchers: ['alertname="WebUnhealthy"'] }]);
const RULES_DIR = resolve(REPO, 'rules');

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

/** The runbook worker fixture as a process (see test/support/runbook-worker.ts). */
function startRunbookWorker(
  env: Record<string, string>,
): QuellProcess & { exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', QUELL_RULES_DIR: RULES_DIR, QUELL_LOG_LEVEL: 'info',
      QUELL_METRICS_PORT: '0', ...env },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<NodeJS.Signals | number | null>((r) =>
    child.on('exit', (code, signal) => r(signal ?? code)));
  return {
    child, exited,
    output: () => out,
    waitForLog: (text, timeoutMs = 20_000) => waitFor(async () => out.includes(text), timeoutMs, `${text} in:\n${out}`)
      .then(() => undefined),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      return child.exitCode;
    },
  };
}

const alert = (labels: Record<string, string>): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
    startsAt: new Date().toISOString(), endsAt: null,
});

test('a worker SIGKILLed between commit and hand-over loses no run; the redelivered ingest job and a second '
  + 'hand-over add none', async () => {
  const name = uniqueQueueName();
  const ingest = new BullmqIngestQueue({ redisUrl: REDIS_URL, queueName: name });
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const runbookBull = new Queue(runbookQueueName(name), { connection: redis });
  const ingestBull = new Queue(name, { connection: redis });
  const env = {
    DATABASE_URL: t.url, REDIS_URL, QUELL_QUEUE_NAME: name, QUELL_LOCK_DURATION_MS: '2000',
      RUNBOOK_WORKER_RUNBOOKS: RUNBOOKS,
  };
  const processes: ReturnType<typeof startRunbookWorker>[] = [];
  try {
    const doomed = startRunbookWorker({ ...env, QUELL_TEST_CRASH_AFTER_COMMIT: '1', NODE_ENV: 'test' });
    processes.push(doomed);
    await doomed.waitForLog('worker started');
    const job: IngestJob = { id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(),
      alerts: [alert({ alertname: 'WebUnhealthy', service: 'web', instance: 'a' })] };
    await ingest.add(job);
    expect(await doomed.exited).toBe('SIGKILL');

    // Committed: the run and its outbox row; not handed over: no runbook job.
    const runs = await t.db.selectFrom('runbook_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    const runId = runs[0]!.id;
    expect(await t.db.selectFrom('outbox').select(['job_id', 'relayed_at']).execute())
      .toEqual([{ job_id: `run-${runId}`, relayed_at: null }]);
    expect(await runbookBull.getJobCounts()).toMatchObject({ waiting: 0, active: 0, completed: 0 });
    expect(await t.db.selectFrom('processed_jobs').select('id').execute()).toEqual([{ id: job.id }]);

    const survivor = startRunbookWorker(env);
    processes.push(survivor);
    await survivor.waitForLog(`executed run ${runId}`, 30_000);
    // The ingest job comes back once its lock expires: applied already, it changes nothing.
    await waitFor(async () => (await ingestBull.getJobCounts('completed')).completed === 1, 30_000,
      'the redelivered ingest job done');
    expect((await runbookBull.getJob(`run-${runId}`))?.data).toEqual({ id: `run-${runId}`, runId });
    await waitFor(async () => (await t.db.selectFrom('outbox').select('relayed_at').executeTakeFirstOrThrow())
      .relayed_at !== null, 10_000, 'marked relayed');

    // A second hand-over (two sweepers, a relay racing a sweep) is the same job: not executed again.
    const again = new BullmqQueue<RunbookJob>({ redisUrl: REDIS_URL, queueName: runbookQueueName(name),
      jobName: 'runbook' });
    await waitFor(async () => again.checkReady().then(() => true), 5000, 'redis');
    await new OutboxRelay(t.db, { runbook: again }).relay([{ id: '0', queue: 'runbook',
      job: { id: `run-${runId}`, runId } as RunbookJob }]);
    await again.close();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await t.db.selectFrom('runbook_runs').select('id').execute()).toHaveLength(1);
    expect(survivor.output().split('\n').filter((l) => l.startsWith('executed run ')))
      .toEqual([`executed run ${runId}`]);
  } finally {
    for (const p of processes) await p.stop('SIGKILL');
    await ingest.close();
    await runbookBull.close();
    await ingestBull.close();
    redis.disconnect();
    await obliterateQueue(name);
    await obliterateQueue(runbookQueueName(name));
  }
}, 90_000);

test('the relay hands rows to their queue with the outbox job id, marks them relayed; the sweeper takes what was left',
  async () => {
  const name = uniqueQueueName();
  const queue = new BullmqQueue<RunbookJob>({ redisUrl: REDIS_URL, queueName: name, jobName: 'runbook' });
  const executor = recordingExecutor();
  const consumer = new BullmqConsumer<RunbookJob>({ redisUrl: REDIS_URL, queueName: name, concurrency: 2 });
  consumer.start(runbookJobHandler(executor));
  const relay = new OutboxRelay(t.db, { runbook: queue }, { sweepAfterMs: 0 });
  try {
    await waitFor(async () => queue.checkReady().then(() => true), 5000, 'redis');
    await t.db.deleteFrom('outbox').execute();
    const rows = await t.db.transaction().execute(async (trx) => {
      return recordOutbox(trx, [{ queue: 'runbook', job: { id: 'run-9001', runId: 9001 } as RunbookJob },
        { queue: 'runbook', job: { id: 'run-9002', runId: 9002 } as RunbookJob }]);
    });
    await relay.relay(rows.slice(0, 1));
    await waitFor(async () => executor.calls.includes(9001), 10_000, 'run 9001 executed');
    expect(await relay.sweep()).toBe(1); // 9002 was left
    await waitFor(async () => executor.calls.includes(9002), 10_000, 'run 9002 executed');
    expect(await relay.sweep()).toBe(0);
    expect(await t.db.selectFrom('outbox').select('job_id').where('relayed_at', 'is', null).execute()).toEqual([]);
    await relay.relay(rows); // handed over again: one job each, executed once
    await new Promise((r) => setTimeout(r, 1000));
    expect(executor.calls.sort()).toEqual([9001, 9002]);
  } finally {
    await consumer.close();
    await queue.close();
    await obliterateQueue(name);
  }
}, 30_000);

test('embedded mode: a run created by the pipeline is handed to the embedded runbook queue and executed', async () => {
  const runbookQueue = new EmbeddedQueue<RunbookJob>(t.db, { queue: 'runbook', pollMs: 50 });
  const ingestQueue = new EmbeddedQueue(t.db, { pollMs: 50 });
  const relay = new OutboxRelay(t.db, { runbook: runbookQueue });
  const set = createRunbookSet([testRunbook('embedded', [{ event: 'opened' }])]);
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('r.yaml', 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n  - name: all\n'
    + '    matchers: [\'service=~".+"\']\n    group_by: [service]\n');
  const apply = createJobsApplier(t.db, buildPipeline({ rules: () => rules, metrics,
    incidentEvents: { runbooks: () => set, relay: (r) => relay.relayLater(r) } }), metrics);
  const executor = recordingExecutor();
  runbookQueue.start(runbookJobHandler(executor));
  ingestQueue.start((job) => apply([job]));
  try {
    // An ingest job whose id looks like a runbook job's: ids are per queue.
    await ingestQueue.add({ id: 'run-1', connector: 'test', receivedAt: new Date().toISOString(),
      alerts: [alert({ alertname: 'E', service: 'embedded' })] });
    const run = await waitFor(async () => t.db.selectFrom('runbook_runs').selectAll().where('runbook', '=', 'embedded')
      .executeTakeFirst(), 10_000, 'a run');
    await waitFor(async () => executor.calls.includes(run.id), 10_000, 'the run executed');
    await waitFor(async () => (await t.db.selectFrom('queue_jobs').select('id').execute()).length === 0, 10_000,
      'both queues drained');
    expect(executor.calls).toEqual([run.id]);
  } finally {
    await ingestQueue.close();
    await runbookQueue.close();
  }
}, 30_000);

test('an approval hands the run to the queue again through the outbox, under its own job id', async () => {
  await t.db.deleteFrom('outbox').execute();
  const incident = await t.db.insertInto('incidents').values({
    title: 'approval', status: 'open', priority: 3, rule: 'r', group_key: `g-${randomUUID()}`, grouping_open: true,
    group_window_seconds: 300, alert_count: 1, first_alert_at: new Date(), last_alert_at: new Date(),
  }).returning('id').executeTakeFirstOrThrow();
  const run = await t.db.insertInto('runbook_runs').values({
    runbook: 'repair', incident_id: incident.id, trigger: 'opened', trigger_key: `k-${randomUUID()}`,
      target: 'incident',
    status: 'awaiting_approval', status_reason: 'approval required (normal change)',
  }).returning('id').executeTakeFirstOrThrow();
  expect((await approveRun(t.db, run.id, 'alice')).ok).toBe(true);

  const queue = new EmbeddedQueue<RunbookJob>(t.db, { queue: 'runbook', pollMs: 50 });
  const executor = recordingExecutor();
  queue.start(runbookJobHandler(executor));
  try {
    expect(await new OutboxRelay(t.db, { runbook: queue }, { sweepAfterMs: 0 }).sweep()).toBe(1);
    await waitFor(async () => executor.calls.includes(run.id), 10_000, `run ${run.id} executed`);
    const relayed = await t.db.selectFrom('outbox').select(['job_id', 'payload', 'relayed_at']).execute();
    expect(relayed).toEqual([expect.objectContaining({ job_id: `run-${run.id}-approved-1`,
      payload: { id: `run-${run.id}-approved-1`, runId: run.id } })]);
    expect(relayed[0]?.relayed_at).not.toBeNull();
  } finally {
    await queue.close();
  }
});
