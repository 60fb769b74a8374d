import { setTimeout as sleep } from 'node:timers/promises';
import type { Runbook } from '../../src/runbooks/runbook';
import { approveRun, cancelRun, rejectRun, setKillSwitch } from '../../src/runbooks/run-records';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';
import {
  ageRun, calls, createRun, outboxJobs, runbook, runOf, SECRET, seedIncident, step, stepsOf, testExecutor, timelineOf,
    tpl,
} from '../support/runbook-fixtures';

/** The runbook executor on real PostgreSQL, with small test actions that follow the action contract. */
let t: TestDatabase;
let books: Runbook[] = [];
const use = (...rbs: Runbook[]) => { books = rbs; };

beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });
beforeEach(async () => {
  calls.clear();
  await t.db.deleteFrom('runbook_breakers').execute();
  await t.db.deleteFrom('quell_settings').execute();
});

const exec = (over = {}) => testExecutor(t.db, () => books, over);

describe('runbook executor', () => {
  test('steps run in order; each sees earlier outputs; the run and its steps are on the timeline', async () => {
    use(runbook('order', [
      step('a', 'record', { text: tpl('hello {{ labels.service }} P={{ incident.priority }}') }),
      step('b', 'record', { text: tpl('{{ steps.a.value }}!') }),
    ]));
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'order', incident);
    const { executor, registry } = exec();
    await executor.execute(id);
    expect(await runOf(t.db, id)).toMatchObject({ status: 'succeeded', started_at: expect.any(Date),
      finished_at: expect.any(Date) });
    const steps = await stepsOf(t.db, id);
    expect(steps.map((s) => [s.name, s.status, s.attempts, s.output])).toEqual([
      ['a', 'succeeded', 1, { value: 'hello pay P=P2' }],
      ['b', 'succeeded', 1, { value: 'hello pay P=P2!' }],
    ]);
    expect(steps[1]!.params).toEqual({ name: 'b', text: 'hello pay P=P2!' });
    expect(steps[0]!.started_at!.getTime()).toBeLessThanOrEqual(steps[1]!.started_at!.getTime());
    const timeline = (await timelineOf(t.db, incident)).map((e) => [e.kind, e.detail['status'],
      e.detail['step'] ?? null]);
    expect(timeline).toEqual([
      ['runbook', 'running', null],
      ['runbook_step', 'running', 'a'], ['runbook_step', 'succeeded', 'a'],
      ['runbook_step', 'running', 'b'], ['runbook_step', 'succeeded', 'b'],
      ['runbook', 'succeeded', null],
    ]);
    // Not mutating: no change record.
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', id).execute()).toEqual([]);
    const text = await registry.metrics();
    expect(text).toMatch(/quell_runbook_runs_total\{runbook="order",outcome="succeeded"\} 1/);
    expect(text).toMatch(/quell_runbook_step_duration_seconds_count\{runbook="order",action="record"\} 2/);
    expect(text).toMatch(/quell_runbook_trigger_latency_seconds_count 1/);
  });

  test('a redelivered job starts no second run', async () => {
    use(runbook('twice', [step('a', 'record', { text: tpl('x') })]));
    const id = await createRun(t.db, 'twice', await seedIncident(t.db));
    const { executor } = exec();
    await Promise.all([executor.execute(id), exec().executor.execute(id)]);
    await executor.execute(id);
    expect(calls.get('a')).toBe(1);
    expect((await runOf(t.db, id)).status).toBe('succeeded');
  });

  test('the audit row is written before the action runs', async () => {
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'audit', incident);
    use(runbook('audit', [step('look', 'peek', { runId: id })]));
    await exec().executor.execute(id);
    const [row] = await stepsOf(t.db, id);
    expect(row!.status).toBe('succeeded');
    expect(row!.output).toEqual({ status: 'running', attempts: 1, params: JSON.stringify({ name: 'look', runId: id }),
      started: true });
  });

  test('a step over its timeout fails the run; later steps are skipped', async () => {
    use(runbook('slow', [
      step('wait', 'sleep', { ms: 5000, ignoreSignal: true }, { timeoutMs: 150 }),
      step('after', 'record', { text: tpl('x') }),
    ]));
    const id = await createRun(t.db, 'slow', await seedIncident(t.db));
    const started = Date.now();
    await exec().executor.execute(id);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await runOf(t.db, id))
      .toMatchObject({ status: 'failed', status_reason: 'step wait: timed out after 150ms' });
    expect((await stepsOf(t.db, id)).map((s) => s.status)).toEqual(['failed', 'skipped']);
    expect(calls.get('after')).toBeUndefined();
  });

  test('retries with backoff only an idempotent step with a retryable error', async () => {
    use(
      runbook('retry-idem', [step('f1', 'flaky', { failures: 2, retryable: true },
        { idempotent: true, retry: { attempts: 3, backoffMs: 20 } })]),
      runbook('retry-not-idem', [step('f2', 'flaky', { failures: 2, retryable: true },
        { retry: { attempts: 3, backoffMs: 20 } })]),
      runbook('retry-permanent', [step('f3', 'flaky', { failures: 2, retryable: false },
        { idempotent: true, retry: { attempts: 3, backoffMs: 20 } })]),
    );
    const incident = await seedIncident(t.db);
    const [a, b, c] = [await createRun(t.db, 'retry-idem', incident), await createRun(t.db, 'retry-not-idem', incident),
      await createRun(t.db, 'retry-permanent', incident)];
    const { executor } = exec();
    await executor.execute(a);
    await executor.execute(b);
    await executor.execute(c);
    expect([(await runOf(t.db, a)).status, (await stepsOf(t.db, a))[0]!.attempts, calls.get('f1')])
      .toEqual(['succeeded', 3, 3]);
    expect([(await runOf(t.db, b)).status, (await stepsOf(t.db, b))[0]!.attempts, calls.get('f2')])
      .toEqual(['failed', 1, 1]);
    expect([(await runOf(t.db, c)).status, (await stepsOf(t.db, c))[0]!.attempts, calls.get('f3')])
      .toEqual(['failed', 1, 1]);
    const retrying = (await timelineOf(t.db, incident))
      .filter((e) => e.detail['status'] === 'retrying' && e.detail['step'] === 'f1');
    expect(retrying).toHaveLength(2);
  });

  describe('a run left running by a dead process', () => {
    const crashed = async (name: string, idempotent: boolean) => {
      use(runbook(name, [
        step('first', 'record', { text: tpl('one') }),
        step('second', 'mutate', { text: tpl('{{ steps.first.value }}-two') }, { idempotent }),
      ]));
      const incident = await seedIncident(t.db);
      const id = await createRun(t.db, name, incident);
      await t.db.updateTable('runbook_runs').set({ status: 'running', started_at: new Date() }).where('id', '=', id)
        .execute();
      await t.db.insertInto('runbook_steps').values([
        { run_id: id, idx: 0, name: 'first', action: 'record', status: 'succeeded', attempts: 1,
          output: JSON.stringify({ value: 'one' }) },
        { run_id: id, idx: 1, name: 'second', action: 'mutate', status: 'running', attempts: 1,
          started_at: new Date() },
      ]).execute();
      await ageRun(t.db, id);
      return { id, incident };
    };

    test('its idempotent step is marked unknown and run again', async () => {
      const { id, incident } = await crashed('crash-idem', true);
      await exec().executor.execute(id);
      expect((await runOf(t.db, id)).status).toBe('succeeded');
      expect(calls.get('first')).toBeUndefined();
      expect((await stepsOf(t.db, id)).map((s) => [s.status, s.attempts, s.output])).toEqual([
        ['succeeded', 1, { value: 'one' }], ['succeeded', 2, { value: 'one-two' }],
      ]);
      const statuses = (await timelineOf(t.db, incident)).filter((e) => e.detail['step'] === 'second')
        .map((e) => e.detail['status']);
      expect(statuses).toEqual(['unknown', 'running', 'succeeded']);
    });

    test('a step not idempotent is not run again blindly: the run awaits approval; approving runs it', async () => {
      const { id } = await crashed('crash-blind', false);
      const { executor } = exec();
      await executor.execute(id);
      expect(await runOf(t.db, id)).toMatchObject({ status: 'awaiting_approval',
        status_reason: expect.stringMatching(/second ended unknown.*approve/) });
      expect((await stepsOf(t.db, id))[1]!.status).toBe('unknown');
      expect(calls.get('second')).toBeUndefined();
      await executor.execute(id); // a redelivered job changes nothing
      expect(calls.get('second')).toBeUndefined();

      const approved = await approveRun(t.db, id, 'alice', 'checked the host');
      expect(approved.ok).toBe(true);
      expect(await outboxJobs(t.db)).toContain(`run-${id}-approved-1`);
      await executor.execute(id);
      expect(await runOf(t.db, id)).toMatchObject({ status: 'succeeded', approved_by: 'alice' });
      expect(calls.get('second')).toBe(1);
      expect((await stepsOf(t.db, id))[1]).toMatchObject({ status: 'succeeded', attempts: 2 });
    });

    test('a run left verifying checks again; its steps are not run again', async () => {
      use(runbook('crash-verify', [step('v', 'mutate', { text: tpl('x') })],
        { postCheck: { resolvedWithinMs: 2000 } }));
      const incident = await seedIncident(t.db);
      const id = await createRun(t.db, 'crash-verify', incident);
      await t.db.updateTable('runbook_runs').set({ status: 'verifying', started_at: new Date() }).where('id', '=', id)
        .execute();
      await t.db.insertInto('runbook_steps').values({ run_id: id, idx: 0, name: 'v', action: 'mutate',
        status: 'succeeded', attempts: 1 }).execute();
      await t.db.updateTable('incident_alerts').set({ status: 'resolved' }).where('incident_id', '=', incident)
        .execute();
      await ageRun(t.db, id);
      await exec().executor.execute(id);
      expect((await runOf(t.db, id)).status).toBe('succeeded');
      expect(calls.get('v')).toBeUndefined();
    });

    test('a run whose heartbeat is fresh is not taken over', async () => {
      const { id } = await crashed('crash-fresh', true);
      await t.db.updateTable('runbook_runs').set({ updated_at: new Date() }).where('id', '=', id).execute();
      const run = exec().executor.execute(id);
      await sleep(150);
      expect((await stepsOf(t.db, id))[1]!.status).toBe('running');
      await run; // stale after staleMs without a heartbeat: taken over
      expect((await runOf(t.db, id)).status).toBe('succeeded');
    });
  });

  test('cancel mid-step, in this process: the step is aborted at once', async () => {
    use(runbook('cancel-here', [step('block', 'sleep', { ms: 30_000 }), step('never', 'record', { text: tpl('x') })]));
    const id = await createRun(t.db, 'cancel-here', await seedIncident(t.db));
    const { executor, aborts } = exec({ pollMs: 10_000 });
    const running = executor.execute(id);
    await waitFor(async () => (await stepsOf(t.db, id))[0]?.status === 'running', 5000, 'the step to run');
    const outcome = await cancelRun(t.db, id, 'bob');
    expect(outcome).toMatchObject({ ok: true, ended: false });
    expect(aborts.abort(id, { kind: 'cancel', by: 'bob' })).toBe(true);
    const started = Date.now();
    await running;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await runOf(t.db, id)).toMatchObject({ status: 'cancelled', status_reason: 'cancelled by bob' });
    expect((await stepsOf(t.db, id)).map((s) => s.status)).toEqual(['cancelled', 'skipped']);
    expect(calls.get('never')).toBeUndefined();
  });

  test('cancel from another process: seen at the next check', async () => {
    use(runbook('cancel-there', [step('block', 'sleep', { ms: 30_000 })]));
    const id = await createRun(t.db, 'cancel-there', await seedIncident(t.db));
    const running = exec().executor.execute(id);
    await waitFor(async () => (await stepsOf(t.db, id))[0]?.status === 'running', 5000, 'the step to run');
    await cancelRun(t.db, id, 'carol');
    await running;
    expect((await runOf(t.db, id)).status).toBe('cancelled');
  });

  test('kill switch: a queued run is cancelled, nothing runs; a running run stops at its next check', async () => {
    use(runbook('killed', [step('a', 'record', { text: tpl('x') })]), runbook('killed-mid',
      [step('block', 'sleep', { ms: 30_000 })]));
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'killed', incident);
    await setKillSwitch(t.db, false, 'ops');
    await exec().executor.execute(id);
    expect(await runOf(t.db, id))
      .toMatchObject({ status: 'cancelled', status_reason: expect.stringMatching(/kill switch/) });
    expect(calls.get('a')).toBeUndefined();
    expect(await stepsOf(t.db, id)).toEqual([]);

    // The environment's switch (QUELL_RUNBOOKS_ENABLED=false) too.
    await setKillSwitch(t.db, true, 'ops');
    const env = await createRun(t.db, 'killed', incident);
    await exec({ enabled: false }).executor.execute(env);
    expect((await runOf(t.db, env)).status).toBe('cancelled');

    const mid = await createRun(t.db, 'killed-mid', incident);
    const running = exec().executor.execute(mid);
    await waitFor(async () => (await stepsOf(t.db, mid))[0]?.status === 'running', 5000, 'the step to run');
    await setKillSwitch(t.db, false, 'ops');
    await running;
    expect(await runOf(t.db, mid))
      .toMatchObject({ status: 'cancelled', status_reason: expect.stringMatching(/kill switch/) });
  });

  test('dry run (per runbook and global): steps recorded with rendered, masked parameters; nothing runs', async () => {
    const steps = [step('a', 'mutate', { text: tpl('restart {{ labels.service }} with {{ secret.TOKEN }}') })];
    use(runbook('dry', steps, { dryRun: true }), runbook('wet', steps));
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'dry', incident);
    const { executor, registry } = exec();
    await executor.execute(id);
    expect(await runOf(t.db, id)).toMatchObject({ status: 'succeeded', dry_run: true });
    expect(await stepsOf(t.db, id)).toMatchObject([{ status: 'dry_run', attempts: 0,
      params: { text: 'restart pay with ***' } }]);
    expect(calls.get('a')).toBeUndefined();
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', id).execute()).toEqual([]);
    expect(await registry.metrics()).toMatch(/quell_runbook_runs_total\{runbook="dry",outcome="dry_run"\} 1/);

    const global = await createRun(t.db, 'wet', incident);
    await exec({ dryRun: true }).executor.execute(global);
    expect((await stepsOf(t.db, global))[0]!.status).toBe('dry_run');
    expect(calls.get('a')).toBeUndefined();
  });

  test('concurrency: a run over the limit waits queued; the run that frees the slot hands it to the queue again',
    async () => {
    use(runbook('one-at-a-time', [step('block', 'sleep', { ms: 400 })], { concurrency: 1 }));
    const incident = await seedIncident(t.db);
    const first = await createRun(t.db, 'one-at-a-time', incident);
    const second = await createRun(t.db, 'one-at-a-time', incident);
    const { executor } = exec();
    const running = executor.execute(first);
    await waitFor(async () => (await runOf(t.db, first)).status === 'running', 5000, 'the first run');
    await exec().executor.execute(second); // another process
    expect(await runOf(t.db, second))
      .toMatchObject({ status: 'queued', status_reason: 'waiting for a slot (concurrency 1)' });
    expect(calls.get('block')).toBe(1);
    await running;
    expect(await outboxJobs(t.db)).toContain(`run-${second}-slot-${first}`);
    await executor.execute(second);
    expect((await runOf(t.db, second)).status).toBe('succeeded');
  });

  test('rate limit per target: over it, a run awaits approval; another target runs', async () => {
    use(runbook('limited', [step('a', 'record', { text: tpl('x') })], { rateLimit: { max: 1, perMs: 3_600_000,
      by: 'ci' } }));
    const incident = await seedIncident(t.db);
    const { executor } = exec();
    const one = await createRun(t.db, 'limited', incident, 'ci-a');
    await executor.execute(one);
    const two = await createRun(t.db, 'limited', incident, 'ci-a');
    await executor.execute(two);
    expect(await runOf(t.db, two)).toMatchObject({
      status: 'awaiting_approval', status_reason: 'rate limit: 1 runs for ci ci-a in the last 1h (at most 1)',
    });
    const other = await createRun(t.db, 'limited', incident, 'ci-b');
    await executor.execute(other);
    expect((await runOf(t.db, other)).status).toBe('succeeded');
    await approveRun(t.db, two, 'dave');
    await executor.execute(two);
    expect((await runOf(t.db, two)).status).toBe('succeeded');
  });

  test('breaker: after K failed runs in a row new runs await approval; a success resets it', async () => {
    const failing = runbook('breaks', [step('f', 'flaky', { failures: 2, retryable: false })], { breakerFailures: 2 });
    use(failing);
    const incident = await seedIncident(t.db);
    const { executor } = exec();
    for (let i = 0; i < 2; i++) {
      const id = await createRun(t.db, 'breaks', incident);
      await executor.execute(id);
      expect((await runOf(t.db, id)).status).toBe('failed');
    }
    expect(await t.db.selectFrom('runbook_breakers').selectAll().executeTakeFirst())
      .toMatchObject({ runbook: 'breaks', consecutive_failures: 2, opened_at: expect.any(Date) });
    const third = await createRun(t.db, 'breaks', incident);
    await executor.execute(third);
    expect(await runOf(t.db, third)).toMatchObject({ status: 'awaiting_approval',
      status_reason: expect.stringMatching(/^breaker open/) });
    expect(calls.get('f')).toBe(2);
    await approveRun(t.db, third, 'erin');
    await executor.execute(third);
    expect((await runOf(t.db, third)).status).toBe('succeeded');
    expect(await t.db.selectFrom('runbook_breakers').selectAll().executeTakeFirst())
      .toMatchObject({ consecutive_failures: 0, opened_at: null });
  });

  test('approval required: a normal change waits; rejected, it never runs; approved, it runs and the change is '
    + 'implemented', async () => {
    use(runbook('needs-ok', [step('m', 'mutate', { text: tpl('x') })], { approval: 'required' }));
    const incident = await seedIncident(t.db);
    const { executor } = exec();
    const rejected = await createRun(t.db, 'needs-ok', incident);
    await executor.execute(rejected);
    expect(await runOf(t.db, rejected)).toMatchObject({ status: 'awaiting_approval',
      status_reason: 'approval required (normal change)' });
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', rejected).executeTakeFirst())
      .toMatchObject({ type: 'normal', status: 'awaiting_approval' });
    await rejectRun(t.db, rejected, 'frank', 'not during the sale');
    await executor.execute(rejected);
    expect(await runOf(t.db, rejected)).toMatchObject({ status: 'rejected',
      status_reason: 'rejected by frank: not during the sale' });
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', rejected).executeTakeFirst())
      .toMatchObject({ status: 'rejected', decided_by: 'frank', decided_at: expect.any(Date),
        decision_comment: 'not during the sale' });
    expect(calls.get('m')).toBeUndefined();

    const approved = await createRun(t.db, 'needs-ok', incident);
    await executor.execute(approved);
    await approveRun(t.db, approved, 'grace');
    await executor.execute(approved);
    expect(calls.get('m')).toBe(1);
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', approved).executeTakeFirst())
      .toMatchObject({
      type: 'normal', status: 'implemented', outcome: 'successful', decided_by: 'grace', closed_at: expect.any(Date),
      review_note: expect.stringMatching(/^Run \d+ of runbook needs-ok for incident \d+: succeeded\.\n- m: succeeded in \d+ ms$/),
    });
  });

  test('a mutating run without approval is a standard change; a failed one is recorded unsuccessful', async () => {
    use(runbook('std', [step('m', 'mutate', { text: tpl('x') })]), runbook('std-fail',
      [step('x', 'fail', { text: tpl('no') })]));
    const incident = await seedIncident(t.db);
    const { executor } = exec();
    const ok = await createRun(t.db, 'std', incident);
    await executor.execute(ok);
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', ok).executeTakeFirst())
      .toMatchObject({ type: 'standard', status: 'implemented', outcome: 'successful',
        decided_by: 'pre-approved (standard change)' });
    const bad = await createRun(t.db, 'std-fail', incident);
    await executor.execute(bad);
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', bad).executeTakeFirst())
      .toMatchObject({ type: 'standard', status: 'failed', outcome: 'unsuccessful' });
  });

  test('post-check passes when the alerts resolve in time', async () => {
    use(runbook('fixes', [step('fix', 'fix', { afterMs: 200 })], { postCheck: { resolvedWithinMs: 5000 } }));
    const incident = await seedIncident(t.db, 2);
    const id = await createRun(t.db, 'fixes', incident);
    const { executor, registry } = exec();
    await executor.execute(id);
    expect(await runOf(t.db, id))
      .toMatchObject({ status: 'succeeded', status_reason: expect.stringMatching(/post-check passed/) });
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', id).executeTakeFirst())
      .toMatchObject({ outcome: 'successful' });
    const statuses = (await timelineOf(t.db, incident)).filter((e) => e.kind === 'runbook')
      .map((e) => e.detail['status']);
    expect(statuses).toEqual(['running', 'verifying', 'succeeded']);
    expect(await registry.metrics()).toMatch(/quell_remediation_duration_seconds_count 1/);
  });

  test('post-check: alerts still firing is "did not fix": ineffective, escalated, counted by the breaker', async () => {
    use(runbook('no-fix', [step('m', 'mutate', { text: tpl('x') })], { postCheck: { resolvedWithinMs: 300 } }));
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'no-fix', incident);
    const { executor, registry } = exec();
    await executor.execute(id);
    expect(await runOf(t.db, id))
      .toMatchObject({ status: 'ineffective',
      status_reason: 'did not fix: 1 alert(s) still firing 300ms after its steps' });
    expect(await t.db.selectFrom('changes').selectAll().where('run_id', '=', id).executeTakeFirst())
      .toMatchObject({ status: 'implemented', outcome: 'did_not_fix' });
    const escalated = (await timelineOf(t.db, incident)).filter((e) => e.kind === 'escalated');
    expect(escalated).toEqual([{ kind: 'escalated', actor: 'runbook:no-fix',
      detail: { reason: expect.stringMatching(/^runbook no-fix did not fix/) } }]);
    expect(await t.db.selectFrom('runbook_breakers').selectAll().where('runbook', '=', 'no-fix').executeTakeFirst())
      .toMatchObject({ consecutive_failures: 1 });
    expect(await registry.metrics()).toMatch(/quell_runbook_runs_total\{runbook="no-fix",outcome="ineffective"\} 1/);
  });

  test('secrets are masked in step params, outputs, errors, the run and the timeline', async () => {
    use(runbook('secretive', [
      step('show', 'record', { text: tpl('token={{ secret.TOKEN }}') }),
      step('boom', 'fail', { text: tpl('{{ secret.TOKEN }} rejected') }),
    ]));
    const incident = await seedIncident(t.db);
    const id = await createRun(t.db, 'secretive', incident);
    await exec().executor.execute(id);
    const steps = await stepsOf(t.db, id);
    expect(steps[0]).toMatchObject({ params: { text: 'token=***' }, output: { value: 'token=***' } });
    expect(steps[1]).toMatchObject({ status: 'failed', error: 'step boom: refused: *** rejected',
      output: { body: '*** rejected' } });
    const everything = JSON.stringify([await runOf(t.db, id), steps, await timelineOf(t.db, incident),
      await t.db.selectFrom('changes').selectAll().execute()]);
    expect(everything).toContain('***');
    expect(everything).not.toContain(SECRET);
  });

  test('the incident port: a comment is on the timeline as the runbook', async () => {
    use(runbook('talks', [step('c', 'comment', { text: tpl('restarted {{ labels.service }}') })]));
    const incident = await seedIncident(t.db);
    await exec().executor.execute(await createRun(t.db, 'talks', incident));
    expect((await timelineOf(t.db, incident)).filter((e) => e.kind === 'commented'))
      .toEqual([{ kind: 'commented', actor: 'runbook:talks', detail: { comment: 'restarted pay' } }]);
  });
});
