import { z } from 'zod';
import { durationField } from '../../rules/rule-fields';
import { defineAction, StepError, type ActionContext, type ParsedTemplate } from '../runbook-action';
import { compileTemplate, durationMs, httpFor, signalWithin, sleep } from './action-params';

const CONDITION = /^\s*(==|!=|>=|<=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$/;

const waitForWith = z.union([
  z.strictObject({
    /** Until every alert of the incident is resolved. */
    alerts: z.literal('resolved'),
    timeout: durationField,
    /** @defaultValue 5s */
    interval: durationField.default('5s'),
  }),
  z.strictObject({
    /** A PromQL instant query (values in it are escaped as PromQL string content). */
    query: z.string().min(1),
    /** Every sample of the answer must meet it (and there must be one): `> 0`, `== 1`, `<= 0.5` ... */
    condition: z.string().regex(CONDITION, 'expected a comparison and a number, such as "> 0" or "== 1"'),
    timeout: durationField,
    /** @defaultValue 5s */
    interval: durationField.default('5s'),
  }),
]);

type WaitForParams = { readonly timeoutMs: number; readonly intervalMs: number } & (
  | { readonly alerts: 'resolved' }
  | { readonly query: ParsedTemplate; readonly op: string; readonly value: number });

/**
 * `action: wait_for`: polls until the incident's alerts are resolved (IncidentPort.state), or
 * until a Prometheus query (QUELL_PROMETHEUS_URL, /api/v1/query) meets a condition. Output:
 * `met`, `value` (firing alerts, or the query's first sample). Not met within `timeout`: a
 * StepError, not retryable (waiting again is a new run's job).
 */
export const waitForAction = defineAction<z.output<typeof waitForWith>, WaitForParams>({
  name: 'wait_for',
  schema: waitForWith,

  compile(spec, path, doc) {
    const timing = { timeoutMs: durationMs(spec.timeout), intervalMs: durationMs(spec.interval) };
    if ('alerts' in spec) return { ...timing, alerts: 'resolved' };
    const [, op, value] = CONDITION.exec(spec.condition) as unknown as [string, string, string];
    return { ...timing, query: compileTemplate(spec.query, [...path, 'query'], doc), op, value: Number(value) };
  },

  mutates: () => false,

  async run(p, ctx) {
    const signal = signalWithin(ctx.signal, p.timeoutMs);
    let last: number | null = null;
    try {
      for (;;) {
        if ('alerts' in p) {
          const state = await ctx.incident.state(ctx.incidentId);
          last = state.firingAlerts;
          if (state.firingAlerts === 0) return { met: true, value: 0 };
        } else {
          const values = await queryPrometheus(p.query, ctx, signal);
          last = values[0] ?? null;
          if (values.length > 0 && values.every((v) => compare(v, p.op, p.value))) return { met: true, value: last };
        }
        await sleep(p.intervalMs, signal);
      }
    } catch (err) {
      // The step's own signal (timeout, cancel) is the executor's to report; our timeout is "not met".
      if (ctx.signal.aborted || !signal.aborted) throw err;
    }
    throw new StepError(`not met within ${p.timeoutMs / 1000}s`, false, { met: false, value: last });
  },
});

async function queryPrometheus(query: ParsedTemplate, ctx: ActionContext, signal: AbortSignal): Promise<number[]> {
  const base = ctx.settings.prometheusUrl;
  if (base === undefined || base === '') throw new StepError('wait_for with a query needs QUELL_PROMETHEUS_URL', false);
  const promql = query.map((part) => (typeof part === 'string' ? part : promString(ctx.render.text([part])))).join('');
  const url = new URL('api/v1/query', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('query', promql);
  // The configured Prometheus is the operator's: allowed even on a private address.
  const res = await httpFor(ctx, [url.host]).request({ method: 'GET', url: url.toString(), signal });
  let answer: { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
  try {
    answer = JSON.parse(res.body) as typeof answer;
  } catch {
    throw new StepError(`Prometheus answered ${res.status} with no JSON`, res.status >= 500);
  }
  if (answer.status !== 'success') {
    throw new StepError(`Prometheus: ${ctx.render.mask(String(answer.error ?? res.status))}`, res.status >= 500);
  }
  const { resultType, result } = answer.data ?? {};
  if (resultType === 'scalar') return [Number((result as [number, string])[1])];
  if (resultType === 'vector') return (result as { value: [number, string] }[]).map((s) => Number(s.value[1]));
  throw new StepError(`Prometheus answered a ${String(resultType)}; wait_for needs an instant vector or scalar`, false);
}

/** A value inside a PromQL string literal: it cannot close the string. */
function promString(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/'/g, "\\'").replace(/`/g, '\\`').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function compare(v: number, op: string, x: number): boolean {
  switch (op) {
    case '==': return v === x;
    case '!=': return v !== x;
    case '>=': return v >= x;
    case '<=': return v <= x;
    case '>': return v > x;
    default: return v < x;
  }
}
