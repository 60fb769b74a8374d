import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import type { RecordedOutbox } from '../../src/outbox/outbox-store';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import type { Runbook } from '../../src/runbooks/runbook';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { compileRuleText } from '../../src/rules/rule-loader';
import type { IncidentEventsDeps } from '../../src/store/incident-events-commit';
import { changeProblemStatus } from '../../src/store/problem-changes';
import { topRecurringProblems } from '../../src/store/problem-queries';
import { linkIncidents, pruneProblemOccurrences } from '../../src/store/problem-store';
import { createJobsApplier } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { testRunbook } from '../support/runbooks';

/** Problem detection in the pipeline, on real PostgreSQL, with an injected clock. */

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-instance
    group_by: [alertname, service, instance]
    group_window: 5m
---
apiVersion: quell/v1
kind: ProblemRules
rules:
  - name: recurring
    matchers: ['service=~".+"']
    signature: alertname_service
    min_incidents: 3
    window: 1h
`;

let t: TestDatabase;
let runbooks: Runbook[] = [];
const relayed: RecordedOutbox[] = [];
const deps: IncidentEventsDeps = { runbooks: () => createRunbookSet(runbooks), relay: (rows) => relayed.push(...rows) };
let clock = new Date('2026-11-20T10:00:00Z');
let apply: (jobs: readonly IngestJob[]) => Promise<void>;
const metrics = createPipelineMetrics(new Registry());
const rules = compileRuleText('rules.yaml', RULES);
const stages = buildPipeline({ rules: () => rules, metrics, incidentEvents: deps });

beforeAll(async () => {
  t = await createTestDatabase();
  apply = createJobsApplier(t.db, stages, metrics, () => clock);
});
afterAll(async () => { await t.drop(); });

const alert = (labels: Record<string, string>): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
    startsAt: clock.toISOString(), endsAt: null,
});
const job = (...alerts: CanonicalAlert[]): IngestJob => ({ id: randomUUID(), connector: 'test',
  receivedAt: clock.toISOString(), alerts });
const later = (ms: number) => { clock = new Date(clock.getTime() + ms); };
const problemsOf = (service: string) => t.db.selectFrom('problems').selectAll()
  .where('signature', '=', `alertname_service:{alertname="Err",service=${JSON.stringify(service)}}`).orderBy('id')
    .execute();
const linksOf = async (problemId: number) => (await t.db.selectFrom('problem_incidents').select('incident_id')
  .where('problem_id', '=', problemId).orderBy('incident_id').execute()).map((r) => r.incident_id);
const incidentOf = (service: string, instance: string) => t.db.selectFrom('incidents').selectAll()
  .where('group_key', '=', `by-instance:{alertname="Err",instance="${instance}",service="${service}"}`)
    .executeTakeFirstOrThrow();

test('the third incident of a signature within the window opens a problem linking all three; the fourth joins it',
  async () => {
  await apply([job(alert({ alertname: 'Err', service: 'pay', instance: 'a' }))]);
  later(10 * 60_000);
  await apply([job(alert({ alertname: 'Err', service: 'pay', instance: 'b' }))]);
  expect(await problemsOf('pay')).toEqual([]);
  later(10 * 60_000);
  await apply([job(alert({ alertname: 'Err', service: 'pay', instance: 'c' }),
    alert({ alertname: 'Err', service: 'other', instance: 'c' }))]);
  const [problem, ...none] = await problemsOf('pay');
  expect(none).toEqual([]);
  expect(problem).toMatchObject({ status: 'open', rule: 'recurring', opened_by: 'quell',
    title: 'Recurring: Err (service=pay, instance=c)' });
  expect(problem!.opened_at.toISOString()).toBe(clock.toISOString());
  const ids = await Promise.all(['a', 'b', 'c'].map(async (i) => (await incidentOf('pay', i)).id));
  expect(await linksOf(problem!.id)).toEqual(ids.sort((x, y) => x - y));
  expect(await problemsOf('other')).toEqual([]);

  later(60_000);
  await apply([job(alert({ alertname: 'Err', service: 'pay', instance: 'd' }))]);
  const d = await incidentOf('pay', 'd');
  expect(await linksOf(problem!.id)).toContain(d.id);
  const timeline = await t.db.selectFrom('problem_events').select(['kind', 'actor', 'detail'])
    .where('problem_id', '=', problem!.id).orderBy('id').execute();
  expect(timeline).toEqual([
    { kind: 'opened', actor: 'quell', detail: { signature: problem!.signature, rule: 'recurring', incident_ids: ids } },
    { kind: 'incidents_linked', actor: 'quell', detail: { incident_ids: [d.id] } },
  ]);
});

test('incidents older than the window do not count (the clock is injected)', async () => {
  await apply([job(alert({ alertname: 'Err', service: 'slow', instance: 'a' }))]);
  later(40 * 60_000);
  await apply([job(alert({ alertname: 'Err', service: 'slow', instance: 'b' }))]);
  later(40 * 60_000); // the first is now 80 minutes old: out of the 1h window
  await apply([job(alert({ alertname: 'Err', service: 'slow', instance: 'c' }))]);
  expect(await problemsOf('slow')).toEqual([]);
  later(10 * 60_000);
  await apply([job(alert({ alertname: 'Err', service: 'slow', instance: 'd' }))]);
  const [problem] = await problemsOf('slow');
  const ids = await Promise.all(['b', 'c', 'd'].map(async (i) => (await incidentOf('slow', i)).id));
  expect(await linksOf(problem!.id)).toEqual(ids);
});

test('once a problem is resolved, counting starts afresh: its incidents open no second problem', async () => {
  for (const i of ['a', 'b', 'c']) {
    later(60_000); await apply([job(alert({ alertname: 'Err', service: 'again', instance: i }))]);
  }
  const [first] = await problemsOf('again');
  expect(await changeProblemStatus(t.db, first!.id, 'resolve', 'alice')).toEqual({ ok: true });
  for (const i of ['d', 'e']) {
    later(60_000); await apply([job(alert({ alertname: 'Err', service: 'again', instance: i }))]);
  }
  expect((await problemsOf('again')).map((p) => p.status)).toEqual(['resolved']);
  later(60_000);
  await apply([job(alert({ alertname: 'Err', service: 'again', instance: 'f' }))]);
  const [, second] = await problemsOf('again');
  const ids = await Promise.all(['d', 'e', 'f'].map(async (i) => (await incidentOf('again', i)).id));
  expect(second).toMatchObject({ status: 'open' });
  expect(await linksOf(second!.id)).toEqual(ids);
});

test('a known error gives each new incident its workaround, on record and timeline, and triggers its runbook once',
  async () => {
  runbooks = [testRunbook('restart-pay', [{ event: 'resolved' }], { matchers: ['service="kn"'] })];
  for (const i of ['a', 'b', 'c']) {
    later(60_000); await apply([job(alert({ alertname: 'Err', service: 'kn', instance: i }))]);
  }
  const [problem] = await problemsOf('kn');
  expect(await changeProblemStatus(t.db, problem!.id, 'mark_known_error', 'alice',
    { workaround: 'restart the pay pods', runbook: 'restart-pay' }))
    .toEqual({ ok: true });
  const before = await incidentOf('kn', 'a');
  expect(before.workaround).toBeNull(); // only new incidents get it

  relayed.length = 0;
  later(60_000);
  const j = job(alert({ alertname: 'Err', service: 'kn', instance: 'e' }));
  await apply([j]);
  const e = await incidentOf('kn', 'e');
  expect(e).toMatchObject({ workaround: 'restart the pay pods', known_error_problem_id: problem!.id });
  const timeline = await t.db.selectFrom('incident_events').select(['kind', 'detail']).where('incident_id', '=', e.id)
    .where('kind', 'in', ['known_error', 'runbook']).orderBy('id').execute();
  expect(timeline).toEqual([
    { kind: 'known_error', detail: { problem_id: problem!.id, workaround: 'restart the pay pods',
      runbook: 'restart-pay' } },
    { kind: 'runbook', detail: expect.objectContaining({ runbook: 'restart-pay', status: 'queued',
      reason: 'triggered by known_error' }) },
  ]);
  const runs = await t.db.selectFrom('runbook_runs').selectAll().where('incident_id', '=', e.id).execute();
  expect(runs).toEqual([expect.objectContaining({ runbook: 'restart-pay', trigger: 'known_error',
    trigger_key: `restart-pay|known_error|${e.id}` })]);
  expect(relayed.map((r) => r.job.id)).toEqual([`run-${runs[0]!.id}`]);

  await apply([j]); // delivered again: nothing more
  expect(await t.db.selectFrom('runbook_runs').selectAll().where('incident_id', '=', e.id).execute()).toHaveLength(1);
  const applied = await t.db.selectFrom('problem_events').select('detail').where('problem_id', '=', problem!.id)
    .where('kind', '=', 'workaround_applied').execute();
  expect(applied).toEqual([{ detail: { incident_ids: [e.id] } }]);
});

test('four workers applying at once open exactly one problem per signature, linking every incident', async () => {
  const appliers = Array.from({ length: 4 }, () => createJobsApplier(t.db, stages, metrics, () => clock));
  // 40 incidents of one signature and 40 of another, spread over 4 workers' concurrent batches.
  const jobs = Array.from({ length: 40 }, (_, i) => job(
    alert({ alertname: 'Err', service: 'race1', instance: `h${i}` }), alert({ alertname: 'Err', service: 'race2',
      instance: `h${i}` }),
  ));
  await Promise.all(appliers.map(async (applyOne, w) => {
    for (let i = w; i < jobs.length; i += 4) await applyOne([jobs[i]!]);
  }));
  for (const service of ['race1', 'race2']) {
    const problems = await problemsOf(service);
    expect(problems).toHaveLength(1);
    expect(await linksOf(problems[0]!.id)).toHaveLength(40);
  }
});

test('topRecurringProblems: problems by their incidents opened in the period, most first', async () => {
  const from = new Date('2030-01-01T00:00:00Z');
  const inc = async (openedAt: string) => (await t.db.insertInto('incidents').values({
    title: 't', status: 'open', priority: 3, rule: 'r', group_key: randomUUID(), grouping_open: false,
      group_window_seconds: 60,
    alert_count: 1, first_alert_at: openedAt, last_alert_at: openedAt, opened_at: new Date(openedAt),
  }).returning('id').executeTakeFirstOrThrow()).id;
  const problem = async (title: string) => (await t.db.insertInto('problems').values({ title, opened_by: 'quell' })
    .returning('id').executeTakeFirstOrThrow()).id;
  const [p1, p2, p3] = [await problem('one'), await problem('two'), await problem('three')];
  const link = async (p: number, at: string) => {
    await linkIncidents(t.db, [{ problemId: p, incidentId: await inc(at) }], 'quell');
  };
  await link(p1, '2030-01-02T00:00:00Z');
  for (const d of ['03', '04', '05']) await link(p2, `2030-01-${d}T00:00:00Z`);
  await link(p2, '2029-12-31T23:59:59Z'); // before the period
  await link(p3, '2030-01-06T00:00:00Z');
  await link(p3, '2030-02-01T00:00:00Z'); // the period's end is excluded
  const top = await topRecurringProblems(t.db, { from, to: new Date('2030-02-01T00:00:00Z') });
  expect(top.map((p) => [p.title, p.incident_count])).toEqual([['two', 3], ['one', 1], ['three', 1]]);
  expect(await topRecurringProblems(t.db, { from, to: new Date('2030-02-01T00:00:00Z'), limit: 1 })).toEqual([
    { id: p2, title: 'two', status: 'open', signature: null, incident_count: 3 },
  ]);
  expect(p1).toBeLessThan(p3);
});

test('occurrences older than the longest window are pruned', async () => {
  await t.db.insertInto('problem_occurrences').values([
    { signature: 'prune-me', incident_id: 1, at: new Date(Date.now() - 91 * 86_400_000) },
    { signature: 'prune-me', incident_id: 2, at: new Date(Date.now() - 89 * 86_400_000) },
  ]).execute();
  expect(await pruneProblemOccurrences(t.db)).toBe(1);
  expect(await t.db.selectFrom('problem_occurrences').select('incident_id').where('signature', '=', 'prune-me')
    .execute()).toEqual([{ incident_id: 2 }]);
});
