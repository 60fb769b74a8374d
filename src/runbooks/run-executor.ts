import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import { QUELL_ACTOR } from '../domain/incident-event';
import type { Logger } from '../log';
import type { Database, RunbookStepStatus } from '../store/database';
import { createIncidentPort, writeIncidentEvents } from './incident-port';
import { RunAborts, type RunStop } from './run-aborts';
import {
  ACTIVE_STATUSES, KILL_SWITCH_KEY, lockRunbook, readKillSwitch, releaseSlot, settleRun, WAITING_FOR_SLOT,
  type RunRow, type Settlement,
} from './run-records';
import { loadRunScope, type RendererFactory, type RunScope } from './run-scope';
import { recordedParams, recordedOutput, truncateText } from './step-record';
import type { Runbook, RunbookSet, RunbookStep } from './runbook';
import {
  StepError, type ActionSettings, type AnyRunbookAction, type StepOutput, type TemplateRenderer,
} from './runbook-action';
import type { RunbookMetrics } from './runbook-metrics';
import type { IncidentEventsDeps } from '../store/incident-events-commit';

/** Executes runbook runs; the `runbook` queue's consumer calls it with each job's run id. */
export interface RunExecutor {
  /**
   * Executes run `runId` as far as it can go now. Safe to call again for the same run (a
   * redelivered job): a run not `queued` is not started twice; one left `running` by a dead
   * process is recovered. Resolves when the run has ended or waits (for an approval, a slot);
   * rejects only when the database fails (the job is then retried).
   */
  execute(runId: number): Promise<void>;
}

export interface ExecutorSettings {
  /** QUELL_RUNBOOKS_ENABLED: false stops every run, whatever the API's kill switch says. */
  readonly enabled: boolean;
  /** QUELL_RUNBOOKS_DRY_RUN: every run only renders and records its steps. */
  readonly dryRun: boolean;
  /** What actions read (allowlists, output limit, Prometheus). */
  readonly actions: ActionSettings;
  /**
   * How often a run heartbeats and checks cancel and the kill switch while a step runs; the post-check's poll.
   * @defaultValue 1000
   */
  readonly pollMs?: number;
  /** A `running` run whose heartbeat is older is taken for a dead process's. @defaultValue 30000 */
  readonly staleMs?: number;
  /** The longest wait between two attempts of a step. @defaultValue 60000 */
  readonly maxBackoffMs?: number;
}

export interface RunExecutorDeps {
  readonly db: Kysely<Database>;
  readonly runbooks: () => RunbookSet;
  /** The action registry (src/runbooks/actions/action-registry.ts). */
  readonly actions: (name: string) => AnyRunbookAction | undefined;
  /** rb-lang's TemplateRenderer over a run's scope, with the process's secrets. */
  readonly renderer: RendererFactory;
  readonly settings: ExecutorSettings;
  readonly metrics: RunbookMetrics;
  readonly log: Logger;
  /** Shared with the API so that a cancel aborts a step running here at once. @defaultValue one of its own */
  readonly aborts?: RunAborts;
  /** @defaultValue the system clock */
  readonly clock?: () => Date;
  /**
   * The one path for incident events (the `incident` action's changes trigger runbooks too).
   * @defaultValue the timeline only
   */
  readonly incidentEvents?: IncidentEventsDeps;
}

type Trx = Transaction<Database>;

/** A claim found every slot of its runbook taken: its transaction is rolled back. */
class NoSlot extends Error {}

/** What a claim leaves to do. */
type Claimed =
  | { readonly phase: 'steps'; readonly run: RunRow; readonly runbook: Runbook; readonly dry: boolean }
  | { readonly phase: 'verify'; readonly run: RunRow; readonly runbook: Runbook };

type StepResult =
  | { readonly kind: 'ok'; readonly output: StepOutput }
  | { readonly kind: 'failed'; readonly error: string; readonly output?: StepOutput }
  | { readonly kind: 'stopped'; readonly stop: RunStop };

const KILLED: RunStop = { kind: 'kill_switch' };
const KILL_REASON = 'kill switch: runbooks are disabled';

export function createRunExecutor(deps: RunExecutorDeps): RunExecutor {
  const { db, metrics, log } = deps;
  const clock = deps.clock ?? (() => new Date());
  const aborts = deps.aborts ?? new RunAborts();
  const pollMs = deps.settings.pollMs ?? 1000;
  const staleMs = deps.settings.staleMs ?? 30_000;
  const maxBackoffMs = deps.settings.maxBackoffMs ?? 60_000;
  const active = new Set<number>();
  const actor = (runbook: string) => `runbook:${runbook}`;

  const enabled = async (q: Kysely<Database> | Trx): Promise<boolean> =>
    deps.settings.enabled && (await readKillSwitch(q)).enabled;

  const runEvent = (run: RunRow, status: string, reason?: string, by = QUELL_ACTOR): IncidentEvent => ({
    kind: 'runbook', incidentId: run.incident_id, by, runId: run.id, runbook: run.runbook, status,
    ...(reason !== undefined ? { reason } : {}),
  });

  const mutates = (runbook: Runbook): boolean =>
    runbook.steps.some((s) => deps.actions(s.action)?.mutates(s.params) === true);

  const settle = async (run: RunRow, s: Omit<Settlement, 'at' | 'by'> & { by?: string }) => {
    const steps = await db.selectFrom('runbook_steps').select(['name', 'status', 'started_at', 'finished_at', 'error'])
      .where('run_id', '=', run.id).orderBy('idx').execute();
    const reviewNote = s.reviewNote ?? reviewNoteOf(run, s.status, s.reason, steps);
    await db.transaction().execute(async (trx) => {
      // Steps the run did not reach are recorded as skipped.
      await trx.updateTable('runbook_steps').set({ status: 'skipped' })
        .where('run_id', '=', run.id).where('status', '=', 'pending').execute();
      await settleRun(trx, run, { ...s, by: s.by ?? QUELL_ACTOR, at: clock(), reviewNote });
    });
    metrics.runs.inc({ runbook: run.runbook, outcome: s.status });
  };

  // ---- claiming ----

  /** A queued run: kill switch, dry run, concurrency, then (unless approved) approval, breaker, rate limit. */
  const claimQueued = (runId: number) => db.transaction().execute(async (trx): Promise<Claimed | undefined> => {
    const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (run === undefined || run.status !== 'queued') return undefined;
    const runbook = deps.runbooks().byName(run.runbook);
    const at = clock();
    if (runbook === undefined) {
      await settleRun(trx, run, {
        status: 'failed', reason: `runbook ${run.runbook} is no longer defined`, by: QUELL_ACTOR, at,
        outcome: 'unsuccessful', breaker: 'none',
      });
      metrics.runs.inc({ runbook: run.runbook, outcome: 'failed' });
      return undefined;
    }
    if (!(await enabled(trx))) {
      // Cancelled rather than left queued: switching automation back on must not replay a
      // backlog of remediations decided for a situation that has passed.
      await settleRun(trx, run, {
        status: 'cancelled', reason: KILL_REASON, by: QUELL_ACTOR, at, outcome: 'unsuccessful', breaker: 'none',
      });
      metrics.runs.inc({ runbook: run.runbook, outcome: 'cancelled' });
      return undefined;
    }
    const missing = runbook.steps.find((s) => deps.actions(s.action) === undefined);
    if (missing !== undefined) {
      const reason = `step ${missing.name}: no action ${JSON.stringify(missing.action)}`;
      await settleRun(trx, run, {
        status: 'failed', reason, by: QUELL_ACTOR, at, outcome: 'unsuccessful', breaker: 'none',
      });
      metrics.runs.inc({ runbook: run.runbook, outcome: 'failed' });
      return undefined;
    }
    const dry = deps.settings.dryRun || runbook.dryRun || run.dry_run;
    const changes = !dry && mutates(runbook);
    if (!dry && run.approved_at === null) {
      const wait = await approvalNeeded(trx, run, runbook, at);
      if (wait !== undefined) {
        await trx.updateTable('runbook_runs')
          .set({ status: 'awaiting_approval', status_reason: wait, updated_at: sql`now()` })
          .where('id', '=', run.id).execute();
        if (changes) {
          await trx.insertInto('changes').values({
            run_id: run.id, incident_id: run.incident_id, runbook: run.runbook, type: 'normal',
            status: 'awaiting_approval',
          }).onConflict((oc) => oc.column('run_id').doNothing()).execute();
        }
        await writeIncidentEvents(trx, [runEvent(run, 'awaiting_approval', wait)]);
        return undefined;
      }
    }
    const claimed = await trx.updateTable('runbook_runs')
      .set({
        status: 'running', status_reason: null, dry_run: dry, started_at: run.started_at ?? at, updated_at: sql`now()`,
      })
      .where('id', '=', run.id).returningAll().executeTakeFirstOrThrow();
    if (changes) {
      // A standard change is pre-approved (the runbook is); a run that waited for an approval is a normal one.
      const normal = run.approved_at !== null;
      await trx.insertInto('changes').values({
        run_id: run.id, incident_id: run.incident_id, runbook: run.runbook, type: normal ? 'normal' : 'standard',
        status: 'approved', decided_by: run.approved_by ?? 'pre-approved (standard change)',
        decided_at: run.approved_at ?? at,
      }).onConflict((oc) => oc.column('run_id').doNothing()).execute();
    }
    await trx.insertInto('runbook_steps')
      .values(runbook.steps.map((s, idx) => ({
        run_id: run.id, idx, name: s.name, action: s.action, status: 'pending' as const,
      })))
      .onConflict((oc) => oc.columns(['run_id', 'idx']).doNothing()).execute();
    await writeIncidentEvents(trx, [
      runEvent(run, 'running', dry ? 'dry run: steps are rendered and recorded, none runs' : undefined),
    ]);
    if (!dry) {
      // The runbook's lock last, held only for the count and the commit: claims of one runbook
      // queue on it for a moment, not for the whole claim. Over the limit, the claim is undone.
      await lockRunbook(trx, run.runbook);
      const busy = await trx.selectFrom('runbook_runs').select(sql<number>`count(*)::int`.as('n'))
        .where('runbook', '=', run.runbook).where('status', 'in', [...ACTIVE_STATUSES]).where('id', '!=', run.id)
        .executeTakeFirstOrThrow();
      if (busy.n >= runbook.concurrency) throw new NoSlot(`${WAITING_FOR_SLOT} (concurrency ${runbook.concurrency})`);
    }
    return { phase: 'steps', run: claimed, runbook, dry };
  }).catch(async (err: unknown) => {
    if (!(err instanceof NoSlot)) throw err;
    // Stays queued; the run that frees a slot hands it to the queue again (releaseSlot), and
    // the periodic wake-up (wakeWaitingRuns) catches a release that raced with this.
    await db.transaction().execute(async (trx) => {
      const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate()
        .executeTakeFirst();
      if (run === undefined || run.status !== 'queued') return;
      await trx.updateTable('runbook_runs').set({ status_reason: err.message, updated_at: sql`now()` })
        .where('id', '=', run.id).execute();
      if (run.status_reason !== err.message) await writeIncidentEvents(trx, [runEvent(run, 'queued', err.message)]);
    });
    return undefined;
  });

  /** Why a run must wait for an approval before it starts, if it must. */
  const approvalNeeded = async (trx: Trx, run: RunRow, runbook: Runbook, at: Date): Promise<string | undefined> => {
    if (runbook.approval === 'required') return 'approval required (normal change)';
    const breaker = await trx.selectFrom('runbook_breakers').select('consecutive_failures')
      .where('runbook', '=', runbook.name).executeTakeFirst();
    if (breaker !== undefined && breaker.consecutive_failures >= runbook.breakerFailures) {
      return `breaker open: ${breaker.consecutive_failures} failed or ineffective runs in a row`;
    }
    const limit = runbook.rateLimit;
    if (limit !== undefined) {
      const recent = await trx.selectFrom('runbook_runs').select(sql<number>`count(*)::int`.as('n'))
        .where('runbook', '=', runbook.name).where('target', '=', run.target).where('id', '!=', run.id)
        .where('dry_run', '=', false).where('started_at', '>=', new Date(at.getTime() - limit.perMs))
        .executeTakeFirstOrThrow();
      if (recent.n >= limit.max) {
        return `rate limit: ${recent.n} runs for ${limit.by} ${run.target} in the last ${formatMs(limit.perMs)}`
          + ` (at most ${limit.max})`;
      }
    }
    return undefined;
  };

  /**
   * A run found `running` or `verifying`: waits until its heartbeat is stale (its process is
   * gone), then takes it over. A step left `running` becomes `unknown`; an idempotent one is run
   * again, any other makes the run wait for an approval (approving it runs the step again).
   */
  const recover = async (runId: number): Promise<Claimed | undefined> => {
    for (;;) {
      const outcome = await db.transaction().execute(async (trx): Promise<Claimed | 'busy' | undefined> => {
        const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate()
          .executeTakeFirst();
        if (run === undefined || !ACTIVE_STATUSES.includes(run.status)) return undefined;
        const stale = await trx.selectFrom('runbook_runs').select('id').where('id', '=', runId)
          .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${staleMs / 1000})`).executeTakeFirst();
        if (stale === undefined) return 'busy';
        const runbook = deps.runbooks().byName(run.runbook);
        await trx.updateTable('runbook_runs').set({ updated_at: sql`now()` }).where('id', '=', runId).execute();
        if (runbook === undefined) return undefined; // settled below, outside
        if (run.status === 'verifying') return { phase: 'verify', run, runbook };
        const cut = await trx.updateTable('runbook_steps')
          .set({ status: 'unknown', error: 'the process running it stopped before its end was recorded' })
          .where('run_id', '=', runId).where('status', '=', 'running').returning(['idx', 'name', 'action']).execute();
        await writeIncidentEvents(trx, cut.map((s) => ({
          kind: 'runbook_step' as const, incidentId: run.incident_id, runId, runbook: run.runbook, step: s.name,
          action: s.action, status: 'unknown',
        })));
        const blind = cut.find((s) => runbook.steps[s.idx]?.idempotent !== true);
        if (blind !== undefined) {
          const reason = `step ${blind.name} ended unknown (its process stopped) and is not idempotent: `
            + 'approve to run it again';
          await lockRunbook(trx, run.runbook);
          await trx.updateTable('runbook_runs')
            .set({ status: 'awaiting_approval', status_reason: reason, updated_at: sql`now()` })
            .where('id', '=', runId).execute();
          await writeIncidentEvents(trx, [runEvent(run, 'awaiting_approval', reason)]);
          await releaseSlot(trx, run.runbook, run.id);
          return undefined;
        }
        return { phase: 'steps', run, runbook, dry: run.dry_run };
      });
      if (outcome !== 'busy') {
        if (outcome === undefined) {
          const run = await db.selectFrom('runbook_runs').selectAll().where('id', '=', runId).executeTakeFirst();
          if (run !== undefined && ACTIVE_STATUSES.includes(run.status)
            && deps.runbooks().byName(run.runbook) === undefined) {
            await settle(run, {
              status: 'failed', reason: `runbook ${run.runbook} is no longer defined`, outcome: 'unsuccessful',
              breaker: 'none',
            });
          }
        }
        return outcome;
      }
      await sleep(Math.max(10, Math.min(pollMs, staleMs / 4)));
    }
  };

  // ---- running ----

  /** Heartbeat, and whether the run was cancelled or the kill switch thrown. */
  const check = async (runId: number): Promise<RunStop | undefined> => {
    const { rows } = await sql<{ cancel_requested: boolean; switch: unknown }>`
      update runbook_runs set updated_at = now() where id = ${runId}
      returning cancel_requested, (select value from quell_settings where key = ${KILL_SWITCH_KEY}) as switch`
      .execute(db);
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.cancel_requested) return { kind: 'cancel', by: 'api' };
    if (!deps.settings.enabled || row.switch === false) return KILLED;
    return undefined;
  };

  const drive = async (claimed: Claimed): Promise<void> => {
    const { run, runbook } = claimed;
    const controller = new AbortController();
    aborts.register(run.id, controller);
    const stopOf = (): RunStop => controller.signal.reason as RunStop;
    const timer = setInterval(() => {
      check(run.id).then((stop) => { if (stop !== undefined && !controller.signal.aborted) controller.abort(stop); })
        .catch((err: unknown) => {
          log.warn({ err: (err as Error).message, runId: run.id }, 'runbook run heartbeat failed');
        });
    }, pollMs);
    timer.unref();
    try {
      if (claimed.phase === 'steps') {
        const result = await runSteps(run, runbook, claimed.dry, controller);
        if (result.kind === 'stopped') {
          await settleStopped(run, result.stop);
          return;
        }
        if (result.kind === 'failed') {
          await settle(run, {
            status: 'failed', reason: result.error, outcome: 'unsuccessful', breaker: 'count',
            breakerFailures: runbook.breakerFailures,
          });
          return;
        }
        if (claimed.dry) {
          await settle(run, { status: 'succeeded', reason: 'dry run: nothing ran', breaker: 'none' });
          metrics.runs.inc({ runbook: run.runbook, outcome: 'dry_run' });
          return;
        }
      }
      if (runbook.postCheck === undefined) {
        await settle(run, { status: 'succeeded', outcome: 'successful', breaker: 'reset' });
        await observeRemediation(run.incident_id, false);
        return;
      }
      await postCheck(run, runbook, runbook.postCheck.resolvedWithinMs, controller, stopOf);
    } finally {
      clearInterval(timer);
      aborts.unregister(run.id, controller);
    }
  };

  const settleStopped = (run: RunRow, stop: RunStop) => settle(run, {
    status: 'cancelled', reason: stop.kind === 'cancel' ? `cancelled by ${stop.by}` : KILL_REASON,
    outcome: 'unsuccessful', breaker: 'none',
  });

  /** Runs the steps not yet succeeded, in order; earlier outputs come from their rows. */
  const runSteps = async (
    run: RunRow, runbook: Runbook, dry: boolean, controller: AbortController,
  ): Promise<StepResult> => {
    const base = await loadRunScope(db, runbook, run.incident_id);
    const rows = await db.selectFrom('runbook_steps').select(['idx', 'status', 'output']).where('run_id', '=', run.id)
      .orderBy('idx').execute();
    const done = new Set(rows.filter((r) => r.status === 'succeeded').map((r) => r.idx));
    const steps: Record<string, StepOutput> = {};
    for (const r of rows) if (done.has(r.idx)) steps[runbook.steps[r.idx]?.name ?? ''] = (r.output ?? {}) as StepOutput;
    const port = createIncidentPort(db, actor(runbook.name), deps.incidentEvents);
    // Trigger latency is measured once, on a run's first start (not after an approval or a crash).
    let first = run.approved_at === null && rows.every((r) => r.status === 'pending');
    for (let idx = 0; idx < runbook.steps.length; idx++) {
      if (done.has(idx)) continue;
      const stop = controller.signal.aborted ? controller.signal.reason as RunStop : await check(run.id);
      if (stop !== undefined) return { kind: 'stopped', stop };
      const step = runbook.steps[idx] as RunbookStep;
      const action = deps.actions(step.action) as AnyRunbookAction;
      const scope: RunScope = { ...base, steps: { ...steps } };
      const render = deps.renderer(scope);
      const params = recordedParams(step.params, render);
      if (dry) {
        await writeStep(run, idx, step, 'dry_run', { params, finished: clock() });
        continue;
      }
      const result = await runStep(run, runbook, idx, step, action, params, render, port, controller.signal, first);
      first = false;
      if (result.kind !== 'ok') return result;
      steps[step.name] = result.output;
    }
    return { kind: 'ok', output: {} };
  };

  /** One step, with its attempts: each attempt's row is written before the action runs. */
  const runStep = async (
    run: RunRow, runbook: Runbook, idx: number, step: RunbookStep, action: AnyRunbookAction, params: unknown,
    render: TemplateRenderer, port: ReturnType<typeof createIncidentPort>, runSignal: AbortSignal, first: boolean,
  ): Promise<StepResult> => {
    const attempts = step.idempotent ? Math.max(1, step.retry.attempts) : 1;
    const max = deps.settings.actions.maxOutputBytes;
    for (let attempt = 1; ; attempt++) {
      const started = clock();
      await writeStep(run, idx, step, 'running', { params, started, attempt: true });
      if (first && attempt === 1) {
        metrics.triggerLatency.observe(Math.max(0, started.getTime() - run.created_at.getTime()) / 1000);
      }
      const stepController = new AbortController();
      const timeout = setTimeout(() => {
        stepController.abort(new StepError(`timed out after ${formatMs(step.timeoutMs)}`, true));
      }, step.timeoutMs);
      const onRunAbort = () => stepController.abort(runSignal.reason);
      runSignal.addEventListener('abort', onRunAbort, { once: true });
      if (runSignal.aborted) onRunAbort();
      let result: StepResult;
      let retryable = false;
      try {
        const output = await untilAborted(action.run(step.params, {
          signal: stepController.signal, render, incident: port, incidentId: run.incident_id,
          settings: deps.settings.actions,
        }), stepController.signal);
        result = { kind: 'ok', output: recordedOutput(output, render, max) };
      } catch (err) {
        const reason: unknown = stepController.signal.aborted ? stepController.signal.reason : err;
        if (runSignal.aborted) {
          result = { kind: 'stopped', stop: runSignal.reason as RunStop };
        } else {
          retryable = reason instanceof StepError && reason.retryable;
          const message = reason instanceof Error ? reason.message : String(reason);
          const output = reason instanceof StepError && Object.keys(reason.output).length > 0
            ? { output: recordedOutput(reason.output, render, max) } : {};
          result = {
            kind: 'failed', error: truncateText(render.mask(`step ${step.name}: ${message}`), max), ...output,
          };
        }
      } finally {
        clearTimeout(timeout);
        runSignal.removeEventListener('abort', onRunAbort);
      }
      const finished = clock();
      const durationMs = finished.getTime() - started.getTime();
      metrics.stepDuration.observe({ runbook: runbook.name, action: step.action }, durationMs / 1000);
      if (result.kind === 'ok') {
        await writeStep(run, idx, step, 'succeeded', { output: result.output, finished, durationMs });
        return result;
      }
      if (result.kind === 'stopped') {
        await writeStep(run, idx, step, 'cancelled', {
          error: result.stop.kind === 'cancel' ? 'cancelled while running' : `${KILL_REASON} (while running)`,
          finished, durationMs,
        });
        return result;
      }
      const retry = retryable && attempt < attempts;
      await writeStep(run, idx, step, retry ? 'running' : 'failed', {
        error: result.error, finished, durationMs, retrying: retry,
        ...(result.output !== undefined ? { output: result.output } : {}),
      });
      if (!retry) return result;
      const backoff = Math.min(maxBackoffMs, step.retry.backoffMs * 2 ** (attempt - 1));
      try {
        await sleep(backoff, undefined, { signal: runSignal });
      } catch {
        return { kind: 'stopped', stop: runSignal.reason as RunStop };
      }
    }
  };

  interface StepWrite {
    readonly params?: unknown;
    readonly started?: Date;
    readonly finished?: Date;
    readonly output?: StepOutput;
    readonly error?: string;
    readonly durationMs?: number;
    /** Counts an attempt (the row is written before the action runs). */
    readonly attempt?: boolean;
    /** A failed attempt that will be tried again: the row stays `running`, the timeline says `retrying`. */
    readonly retrying?: boolean;
  }

  /** A step's row and its timeline event, in one transaction. */
  const writeStep = async (run: RunRow, idx: number, step: RunbookStep, status: RunbookStepStatus, w: StepWrite) => {
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('runbook_steps').set({
        status,
        ...(w.params !== undefined ? { params: JSON.stringify(w.params) } : {}),
        ...(w.started !== undefined ? { started_at: w.started, finished_at: null, error: null, output: null } : {}),
        ...(w.finished !== undefined ? { finished_at: w.finished } : {}),
        ...(w.output !== undefined ? { output: JSON.stringify(w.output) } : {}),
        ...(w.error !== undefined ? { error: w.error } : {}),
        ...(w.attempt === true ? { attempts: sql<number>`attempts + 1` } : {}),
      }).where('run_id', '=', run.id).where('idx', '=', idx).execute();
      await writeIncidentEvents(trx, [{
        kind: 'runbook_step', incidentId: run.incident_id, runId: run.id, runbook: run.runbook, step: step.name,
        action: step.action, status: w.retrying === true ? 'retrying' : status,
        ...(w.durationMs !== undefined ? { durationMs: w.durationMs } : {}),
        ...(w.output !== undefined ? { output: w.output } : {}),
        ...(w.error !== undefined ? { error: w.error } : {}),
      }]);
    });
  };

  /** After the steps: the incident's alerts must all resolve within `withinMs`, or the run did not fix it. */
  const postCheck = async (
    run: RunRow, runbook: Runbook, withinMs: number, controller: AbortController, stopOf: () => RunStop,
  ) => {
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('runbook_runs').set({ status: 'verifying', updated_at: sql`now()` })
        .where('id', '=', run.id).execute();
      await writeIncidentEvents(trx, [
        runEvent(run, 'verifying', `waiting up to ${formatMs(withinMs)} for the incident's alerts to resolve`),
      ]);
    });
    const port = createIncidentPort(db, actor(runbook.name), deps.incidentEvents);
    const deadline = Date.now() + withinMs;
    for (;;) {
      if (controller.signal.aborted) return settleStopped(run, stopOf());
      const state = await port.state(run.incident_id);
      if (state.firingAlerts === 0) {
        await settle(run, {
          status: 'succeeded', reason: 'post-check passed: the incident\'s alerts resolved', outcome: 'successful',
          breaker: 'reset',
        });
        await observeRemediation(run.incident_id, true);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const reason = `did not fix: ${state.firingAlerts} alert(s) still firing ${formatMs(withinMs)} after its steps`;
        return settle(run, {
          status: 'ineffective', reason, outcome: 'did_not_fix', breaker: 'count',
          breakerFailures: runbook.breakerFailures,
          events: [{
            kind: 'escalated', incidentId: run.incident_id, by: actor(runbook.name),
            reason: `runbook ${runbook.name} ${reason}`,
          }],
        });
      }
      try {
        await sleep(Math.min(pollMs, left), undefined, { signal: controller.signal });
      } catch { /* cancelled: seen at the top */ }
    }
  };

  /** Opened to resolved, for an incident a run fixed (its post-check passed, or it is resolved). */
  const observeRemediation = async (incidentId: number, fixed: boolean) => {
    const row = await db.selectFrom('incidents').select(['opened_at', 'resolved_at']).where('id', '=', incidentId)
      .executeTakeFirst();
    if (row === undefined || (!fixed && row.resolved_at === null)) return;
    const end = row.resolved_at ?? clock();
    metrics.remediationDuration.observe(Math.max(0, end.getTime() - row.opened_at.getTime()) / 1000);
  };

  const executeOnce = async (runId: number): Promise<void> => {
    const run = await db.selectFrom('runbook_runs').select(['status']).where('id', '=', runId).executeTakeFirst();
    if (run === undefined) {
      log.warn({ runId }, 'runbook job for a run that does not exist');
      return;
    }
    let claimed: Claimed | undefined;
    if (run.status === 'queued') claimed = await claimQueued(runId);
    else if (ACTIVE_STATUSES.includes(run.status)) claimed = await recover(runId);
    // awaiting_approval or ended: a redelivered job, nothing to do.
    if (claimed !== undefined) await drive(claimed);
  };

  return {
    async execute(runId) {
      if (active.has(runId)) return; // the same run's job delivered twice to this process
      active.add(runId);
      try {
        await executeOnce(runId);
      } finally {
        active.delete(runId);
      }
    },
  };
}

/** Settles with the promise, or rejects with the signal's reason when it aborts first (an action that ignores it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the promise's own rejection
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The change's review note: what ran, how long, how it ended. */
function reviewNoteOf(
  run: RunRow, status: string, reason: string | undefined,
  steps: readonly {
    name: string; status: string; started_at: Date | null; finished_at: Date | null; error: string | null;
  }[],
): string {
  const why = reason !== undefined ? ` (${reason})` : '';
  const lines = [`Run ${run.id} of runbook ${run.runbook} for incident ${run.incident_id}: ${status}${why}.`];
  for (const s of steps) {
    const ms = s.started_at !== null && s.finished_at !== null
      ? ` in ${s.finished_at.getTime() - s.started_at.getTime()} ms` : '';
    lines.push(`- ${s.name}: ${s.status}${ms}${s.error !== null ? `: ${s.error}` : ''}`);
  }
  return lines.join('\n');
}
