import { z } from 'zod';
import { parsePathTemplate, TemplateSyntaxError } from '../../domain/text-template';
import type { Priority } from '../../domain/priority';
import { RUNBOOK_ACTIONS, actionByName } from '../../runbooks/actions/action-registry';
import type { Runbook, RunbookStep, RunbookTrigger } from '../../runbooks/runbook';
import { createRunbookSet } from '../../runbooks/runbook-set';
import { stepsReadBy } from '../../runbooks/template-renderer';
import { defineRuleKind, type DocumentContext, type DocumentPath } from '../rule-kind';
import { compileMatchers, durationField, ruleNameField } from '../rule-fields';
import { parseDuration } from '../../domain/duration';

const ACTION_NAMES = RUNBOOK_ACTIONS.map((a) => a.name) as [string, ...string[]];

const priorityField = z.union([
  z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).transform((p) => Number(p.slice(1)) as Priority),
  z.number().int().min(1).max(5).transform((n) => n as Priority),
], { error: () => 'expected P1 to P5 (or 1 to 5)' });

const positiveDuration = durationField.refine((s) => (parseDuration(s) ?? 0) > 0, {
  error: 'expected a duration above 0',
});

const triggerV1 = z.discriminatedUnion('event', [
  z.strictObject({ event: z.enum(['opened', 'reopened', 'alerts_linked', 'acknowledged', 'resolved']) }),
  /** The incident's priority is at or above `at_or_above` (when it opens, or changes to it). */
  z.strictObject({ event: z.literal('priority'), at_or_above: priorityField }),
  /** The incident is still not resolved `after` it opened. */
  z.strictObject({ event: z.literal('still_firing'), after: positiveDuration }),
]);

/** A step's name: what a template path segment can be (`{{ steps.<name>.status }}`). */
const stepName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_-]*$/, 'expected a letter or _, then letters, digits, _ or -').max(100);

const stepV1 = z.strictObject({
  /** Unique in the runbook; later steps read its output as `{{ steps.<name>.<field> }}`. */
  name: stepName,
  /** One of the actions (src/runbooks/actions/action-registry.ts). */
  action: z.enum(ACTION_NAMES, { error: () => `unknown action; known actions: ${ACTION_NAMES.join(', ')}` }),
  /** The action's parameters (each action's own fields). @defaultValue {} */
  with: z.record(z.string(), z.unknown()).default({}),
  /** @defaultValue 30s */
  timeout: positiveDuration.default('30s'),
  /** Safe to run again (after a crash cut it off, or on retry). @defaultValue false */
  idempotent: z.boolean().default(false),
  /** Tries in all (the first included) and the pause between them; only with `idempotent: true`. */
  retry: z.strictObject({
    attempts: z.number().int().min(1).max(10),
    /** Doubled after each try. @defaultValue 1s */
    backoff: durationField.default('1s'),
  }).optional(),
});

export const runbookV1 = z.strictObject({
  /** Unique across all rule files. */
  name: ruleNameField,
  description: z.string().max(1000).optional(),
  /** At least one; any of them starts a run. */
  triggers: z.array(triggerV1).min(1),
  /** Alertmanager matchers on the incident's alerts: one alert must match all. @defaultValue [] (every incident) */
  matchers: z.array(z.string()).default([]),
  /** Matchers on the labels of the incident's bound CIs: one CI must match all. @defaultValue [] */
  ci_matchers: z.array(z.string()).default([]),
  /** `required`: every run waits for an approval through the API (an ITIL normal change). @defaultValue none */
  approval: z.enum(['none', 'required']).default('none'),
  /** Render and record the steps, never run them. @defaultValue false */
  dry_run: z.boolean().default(false),
  /** Runs of this runbook at once, across processes. @defaultValue 1 */
  concurrency: z.number().int().min(1).max(100).default(1),
  /** At most `max` runs per `per` per target (`by`); the rest wait for an approval. @defaultValue none */
  rate_limit: z.strictObject({
    max: z.number().int().min(1).max(10_000),
    per: positiveDuration,
    /** @defaultValue ci */
    by: z.enum(['ci', 'incident', 'group', 'runbook']).default('ci'),
  }).optional(),
  /**
   * After `failures` failed or ineffective runs in a row, new runs wait for an approval.
   * @defaultValue {failures: 3}
   */
  breaker: z.strictObject({ failures: z.number().int().min(1).max(100).default(3) }).default({ failures: 3 }),
  /** After the steps, the incident's alerts must resolve within this, or the run "did not fix". @defaultValue none */
  post_check: z.strictObject({ resolved_within: positiveDuration }).optional(),
  steps: z.array(stepV1).min(1),
});

/**
 * `kind: Runbooks`: automated remediation triggered by incident events. Each runbook compiles
 * to a {@link Runbook}: its steps' `with:` checked against their action's schema and their
 * templates parsed, so a bad template, an unknown template root, a step reading a step that
 * does not come before it, or a retry on a step not declared idempotent fails the load at its
 * file:line:column. Runtime form: one {@link RunbookSet} (by name, by trigger event).
 *
 * @example
 * apiVersion: quell/v1
 * kind: Runbooks
 * runbooks:
 *   - name: repair-web
 *     triggers: [{ event: opened }]
 *     matchers: ['alertname="WebUnhealthy"']
 *     steps:
 *       - name: repair
 *         action: http
 *         with: { method: POST, url: 'http://{{ labels.instance }}/repair' }
 */
export const runbooksKind = defineRuleKind({
  kind: 'Runbooks',
  versions: {
    'quell/v1': z.strictObject({ runbooks: z.array(runbookV1) }),
  },

  compile(spec, doc) {
    const out: Runbook[] = [];
    spec.runbooks.forEach((r, i) => {
      const at: DocumentPath = ['runbooks', i];
      const matchers = compileMatchers(r.matchers, doc, [...at, 'matchers']);
      const ciMatchers = compileMatchers(r.ci_matchers, doc, [...at, 'ci_matchers']);
      const steps: RunbookStep[] = [];
      const names = new Set<string>();
      let sound = matchers !== undefined && ciMatchers !== undefined;
      r.steps.forEach((s, j) => {
        const step = compileStep(s, [...at, 'steps', j], names, doc);
        names.add(s.name);
        if (step === undefined) sound = false;
        else steps.push(step);
      });
      if (!sound) return;
      out.push(Object.freeze({
        name: r.name,
        ...(r.description !== undefined ? { description: r.description } : {}),
        triggers: r.triggers.map(triggerOf),
        matchers: matchers ?? [],
        ciMatchers: ciMatchers ?? [],
        approval: r.approval,
        dryRun: r.dry_run,
        concurrency: r.concurrency,
        ...(r.rate_limit !== undefined ? {
          rateLimit: { max: r.rate_limit.max, perMs: parseDuration(r.rate_limit.per) as number, by: r.rate_limit.by },
        } : {}),
        breakerFailures: r.breaker.failures,
        ...(r.post_check !== undefined
          ? { postCheck: { resolvedWithinMs: parseDuration(r.post_check.resolved_within) as number } } : {}),
        steps,
        position: doc.position([...at, 'name']),
      }));
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, Runbook>();
    const kept: Runbook[] = [];
    for (const r of items) {
      const other = seen.get(r.name);
      if (other !== undefined) {
        ctx.error(r.position,
          `runbook name ${JSON.stringify(r.name)} is already used at ${other.position.file}:${other.position.line}`);
      } else {
        seen.set(r.name, r);
        kept.push(r);
      }
    }
    return createRunbookSet(kept);
  },

  count: (set) => set.all.length,
});

function triggerOf(t: z.output<typeof triggerV1>): RunbookTrigger {
  if (t.event === 'priority') return { event: 'priority', atOrAbove: t.at_or_above };
  if (t.event === 'still_firing') return { event: 'still_firing', afterMs: parseDuration(t.after) };
  return { event: t.event };
}

/** One step, or undefined when it has errors (reported at their positions). */
function compileStep(
  s: z.output<typeof stepV1>, at: DocumentPath, earlier: ReadonlySet<string>, doc: DocumentContext,
): RunbookStep | undefined {
  let sound = true as boolean; // cleared in fail, which narrowing does not see
  const fail = (path: DocumentPath, reason: string): void => { doc.error(path, reason); sound = false; };
  if (earlier.has(s.name)) fail([...at, 'name'], `step name ${JSON.stringify(s.name)} is already used in this runbook`);
  if (s.retry !== undefined && !s.idempotent) {
    fail([...at, 'retry'], 'retry needs idempotent: true (a step that is not safe to run twice is never retried)');
  }
  // Every template may read only steps that come before this one.
  for (const [path, text] of stringsIn(s.with, [...at, 'with'])) {
    let template;
    try { template = parsePathTemplate(text); } catch (err) {
      if (err instanceof TemplateSyntaxError) continue; // the action's compile reports it
      throw err;
    }
    for (const step of stepsReadBy(template)) {
      if (!earlier.has(step)) fail(path, `{{ steps.${step}... }}: no earlier step is named ${JSON.stringify(step)}`);
    }
  }
  const action = actionByName(s.action);
  if (action === undefined) {
    fail([...at, 'action'], `unknown action ${JSON.stringify(s.action)}`);
    return undefined;
  }
  const parsed = action.schema.safeParse(s.with);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      const field = path.length > 0 ? `.${path.join('.')}` : '';
      fail([...at, 'with', ...path], `with${field}: ${issue.message} (action ${s.action})`);
    }
    return undefined;
  }
  const errors = { count: 0 };
  const params: unknown = action.compile(parsed.data, [...at, 'with'], countingErrors(doc, errors));
  if (errors.count > 0 || !sound) return undefined;
  return Object.freeze({
    name: s.name,
    action: s.action,
    params,
    timeoutMs: parseDuration(s.timeout) as number,
    retry: s.retry !== undefined
      ? { attempts: s.retry.attempts, backoffMs: parseDuration(s.retry.backoff) as number }
      : { attempts: 1, backoffMs: 0 },
    idempotent: s.idempotent,
    position: doc.position([...at, 'name']),
  });
}

/** `doc`, counting the errors reported through it into `counter`. */
function countingErrors(doc: DocumentContext, counter: { count: number }): DocumentContext {
  return {
    file: doc.file,
    position: (path) => doc.position(path),
    warn: (path, reason) => { doc.warn(path, reason); },
    error: (path, reason) => { counter.count++; doc.error(path, reason); },
  };
}

/** Every string in a `with:` block, with its path. */
function stringsIn(value: unknown, path: DocumentPath): [DocumentPath, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, [...path, k]));
  }
  return [];
}
