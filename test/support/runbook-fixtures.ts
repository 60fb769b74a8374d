import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { z } from 'zod';
import type { Database } from '../../src/store/database';
import { createLogger } from '../../src/log';
import { parseMatcher } from '../../src/domain/matchers';
import { RunAborts } from '../../src/runbooks/run-aborts';
import { createRunExecutor, type ExecutorSettings } from '../../src/runbooks/run-executor';
import type { RunScope } from '../../src/runbooks/run-scope';
import type { Runbook, RunbookSet, RunbookStep } from '../../src/runbooks/runbook';
import {
  defineAction, StepError, type AnyRunbookAction, type ParsedTemplate, type TemplateRenderer,
} from '../../src/runbooks/runbook-action';
import { createRunbookMetrics } from '../../src/runbooks/runbook-metrics';

/** A secret the tests give the renderer; it must appear in no record. */
export const SECRET = 's3cr3t-token-XYZ';

/** A template from text with `{{ a.b }}` paths (the tests' stand-in for rb-lang's parser). */
export function tpl(text: string): ParsedTemplate {
  const out: (string | { path: string[] })[] = [];
  const re = /\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push({ path: (m[1] as string).split('.') });
    last = m.index + m[0].length;
  }
  if (last < text.length || out.length === 0) out.push(text.slice(last));
  return out;
}

/** A trivial renderer: scope paths and `secret.TOKEN`; masks the secret. */
export function testRenderer(scope: RunScope): TemplateRenderer {
  const lookup = (path: readonly string[]): string => {
    if (path[0] === 'secret') return path[1] === 'TOKEN' ? SECRET : '';
    let v: unknown = scope;
    for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- as the real renderer does
    return v === undefined || v === null ? '' : String(v);
  };
  const text = (t: ParsedTemplate) => t.map((p) => (typeof p === 'string' ? p : lookup(p.path))).join('');
  return {
    text, url: text, header: text,
    arg: (t) => {
      const v = text(t);
      if (v.startsWith('-')) throw new StepError('argument may not begin with -', false);
      return v;
    },
    mask: (s) => s.split(SECRET).join('***'),
  };
}

/** What the test actions did, by step name (calls counted). */
export const calls = new Map<string, number>();
const called = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);

interface TextParams { readonly name: string; readonly text: ParsedTemplate }
const textSchema = z.object({ name: z.string(), text: z.string() });

export function testActions(db: Kysely<Database>): (name: string) => AnyRunbookAction | undefined {
  type Output = Record<string, string | number | boolean | null>;
  const plain = <P>(name: string, mutates: boolean,
    run: (p: P, ctx: Parameters<AnyRunbookAction['run']>[1]) => Promise<Output>) =>
    defineAction<z.infer<typeof textSchema>, P>({
      name, schema: textSchema, compile: () => { throw new Error('not compiled in tests'); },
      mutates: () => mutates, run,
    });
  const actions: Record<string, AnyRunbookAction> = {
    /** Renders `text`: its output `value`. */
    record: plain<TextParams>('record', false,
      async (p, ctx) => { called(p.name); return { value: ctx.render.text(p.text) }; }),
    /** Changes something (an ITIL change). */
    mutate: plain<TextParams>('mutate', true,
      async (p, ctx) => { called(p.name); return { value: ctx.render.text(p.text) }; }),
    /** Reads its own step row while it runs. */
    peek: plain<{ name: string; runId: number }>('peek', false, async (p) => {
      called(p.name);
      const row = await db.selectFrom('runbook_steps').select(['status', 'attempts', 'params', 'started_at'])
        .where('run_id', '=', p.runId).where('name', '=', p.name).executeTakeFirstOrThrow();
      return { status: row.status, attempts: row.attempts, params: JSON.stringify(row.params),
        started: row.started_at !== null };
    }),
    /** Waits `ms`, or until aborted (`ignoreSignal`: never looks at the signal). */
    sleep: plain<{ name: string; ms: number; ignoreSignal?: boolean }>('sleep', true, async (p, ctx) => {
      called(p.name);
      await sleep(p.ms, undefined, p.ignoreSignal === true ? {} : { signal: ctx.signal });
      return { slept: p.ms };
    }),
    /** Fails `failures` times (retryable or not), then succeeds. */
    flaky: plain<{ name: string; failures: number; retryable: boolean }>('flaky', false, async (p) => {
      called(p.name);
      if ((calls.get(p.name) ?? 0) <= p.failures) throw new StepError(`flaky failure ${calls.get(p.name)}`,
        p.retryable);
      return { ok: true };
    }),
    /** Fails with a message holding `text` rendered (the secret, in the tests that check masking). */
    fail: plain<TextParams>('fail', true, async (p, ctx) => {
      called(p.name);
      throw new StepError(`refused: ${ctx.render.text(p.text)}`, false, { body: ctx.render.text(p.text) });
    }),
    /** Resolves the incident's firing alerts (what a working repair leads to). */
    fix: plain<{ name: string; afterMs: number }>('fix', true, async (p, ctx) => {
      called(p.name);
      setTimeout(() => {
        void db.updateTable('incident_alerts').set({ status: 'resolved' })
          .where('incident_id', '=', ctx.incidentId).execute();
      }, p.afterMs);
      return { fixed: true };
    }),
    /** Comments on the incident through the port. */
    comment: plain<TextParams>('comment', false, async (p, ctx) => {
      called(p.name);
      await ctx.incident.comment(ctx.incidentId, ctx.render.text(p.text));
      return {};
    }),
  };
  return (name) => actions[name];
}

export function step(name: string, action: string, params: Record<string, unknown> = {},
  over: Partial<RunbookStep> = {}): RunbookStep {
  return {
    name, action, params: { name, ...params }, timeoutMs: 5000, retry: { attempts: 1, backoffMs: 10 },
    idempotent: false,
    position: { file: 't.yaml', line: 1, column: 1 }, ...over,
  };
}

export function runbook(name: string, steps: RunbookStep[], over: Partial<Runbook> = {}): Runbook {
  return {
    name, triggers: [{ event: 'opened' }], matchers: [parseMatcher('service=~".+"')], ciMatchers: [], approval: 'none',
    dryRun: false, concurrency: 1, breakerFailures: 3, steps, position: { file: 't.yaml', line: 1, column: 1 }, ...over,
  };
}

export function runbookSet(list: () => readonly Runbook[]): () => RunbookSet {
  return () => {
    const all = list();
    return {
      all, byName: (n) => all.find((r) => r.name === n),
      triggeredBy: (e) => all.filter((r) => r.triggers.some((t) => t.event === e)),
    };
  };
}

/** An open incident with `firing` firing alerts labelled service=pay. */
export async function seedIncident(db: Kysely<Database>, firing = 1): Promise<number> {
  const at = new Date();
  const { id } = await db.insertInto('incidents').values({
    title: 'pay is down', status: 'open', priority: 2, rule: 'by-service', group_key: `service=pay/${randomUUID()}`,
    grouping_open: true, group_window_seconds: 300, alert_count: firing, first_alert_at: at, last_alert_at: at,
  }).returning('id').executeTakeFirstOrThrow();
  for (let i = 0; i < firing; i++) {
    const fingerprint = randomUUID().replace(/-/g, '').slice(0, 16);
    await db.insertInto('alerts').values({
      fingerprint, source: 'test', status: 'firing', labels: JSON.stringify({ alertname: 'Down', service: 'pay',
        instance: `h${i}` }),
      annotations: '{}', generator_url: null, starts_at: at, ends_at: null, occurrences: 1, first_seen_at: at,
      last_seen_at: at,
    }).execute();
    await db.insertInto('incident_alerts').values({ fingerprint, starts_at: at, incident_id: id, status: 'firing',
      received_at: at }).execute();
  }
  return id;
}

export async function createRun(db: Kysely<Database>, rb: string, incidentId: number,
  target = 'ci-1'): Promise<number> {
  const { id } = await db.insertInto('runbook_runs').values({
    runbook: rb, incident_id: incidentId, trigger: 'opened', trigger_key: randomUUID(), target, status: 'queued',
  }).returning('id').executeTakeFirstOrThrow();
  return id;
}

export function testExecutor(db: Kysely<Database>, runbooks: () => readonly Runbook[],
  over: Partial<ExecutorSettings> = {}) {
  const registry = new Registry();
  const metrics = createRunbookMetrics(registry);
  const aborts = new RunAborts();
  const executor = createRunExecutor({
    db, runbooks: runbookSet(runbooks), actions: testActions(db), renderer: testRenderer, metrics, aborts,
    log: createLogger('silent'),
    settings: {
      enabled: true, dryRun: false, pollMs: 50, staleMs: 300,
      actions: { httpAllow: [], execEnvAllow: [], maxOutputBytes: 4096 }, ...over,
    },
  });
  return { executor, registry, metrics, aborts };
}

export const runOf = (db: Kysely<Database>, id: number) =>
  db.selectFrom('runbook_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
export const stepsOf = (db: Kysely<Database>, id: number) =>
  db.selectFrom('runbook_steps').selectAll().where('run_id', '=', id).orderBy('idx').execute();
export const timelineOf = (db: Kysely<Database>, incidentId: number) =>
  db.selectFrom('incident_events').select(['kind', 'actor', 'detail']).where('incident_id', '=', incidentId)
    .orderBy('id').execute();
export const outboxJobs = async (db: Kysely<Database>) =>
  (await db.selectFrom('outbox').select('job_id').where('queue', '=', 'runbook').orderBy('id').execute())
    .map((r) => r.job_id);
export const ageRun = (db: Kysely<Database>, id: number) =>
  db.updateTable('runbook_runs').set({ updated_at: sql`now() - interval '1 hour'` }).where('id', '=', id).execute();
