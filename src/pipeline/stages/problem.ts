import type { Labels } from '../../domain/alert';
import type { IncidentEvent } from '../../domain/incident-event';
import { signatureOf } from '../../domain/problem-recurrence';
import { problemRulesKind } from '../../rules/kinds/problem-rules-kind';
import type { ProblemRuleSet } from '../../rules/problem-rule-set';
import type { RuleBundle } from '../../rules/rule-bundle';
import { detectProblems, type ProblemHit } from '../../store/problem-detection';
import { knownErrorEvent } from '../../store/problem-store';
import type { AlertChange, Stage } from '../stage';

type Started = Extract<IncidentEvent, { kind: 'opened' | 'reopened' }>;

/**
 * Problem detection, driven by the incident events of the batch (`opened`, `reopened`): each such
 * incident's signature under the first `ProblemRules` rule for it counts toward its recurrence;
 * enough of one signature within the rule's window open a problem, and an active problem takes
 * the new incidents of its signature (src/store/problem-detection.ts). A new incident of a known
 * error gets its workaround: a `known_error` event, which the record stage writes and which
 * triggers the problem's runbook. With no problem rules, or no incident opened, it reads nothing.
 */
export function problemStage(rules: () => RuleBundle): Stage {
  return {
    name: 'problem',
    async run(alerts, ctx) {
      const set = rules().get(problemRulesKind);
      if (set.rules.length === 0) return alerts;
      const events = ctx.events.all();
      const started = events.filter((e): e is Started => e.kind === 'opened' || e.kind === 'reopened');
      if (started.length === 0) return alerts;

      const byFingerprint = new Map<string, AlertChange>();
      for (const a of alerts) {
        if (a.event === 'opened' && a.incidentId !== undefined) byFingerprint.set(a.alert.fingerprint, a);
      }
      const rootCi = new Map<number, string>();
      for (const e of events) if (e.kind === 'root_cause') rootCi.set(e.incidentId, e.ci);
      const hits = new Map<number, ProblemHit>();
      for (const e of started) {
        if (hits.has(e.incidentId)) continue;
        const own = e.fingerprints.map((f) => byFingerprint.get(f))
          .filter((a): a is AlertChange => a?.incidentId === e.incidentId);
        const hit = hitOf(e, own, rootCi.get(e.incidentId), set);
        if (hit !== undefined) hits.set(e.incidentId, hit);
      }
      const applied = await detectProblems(ctx.trx, [...hits.values()], ctx.now());
      ctx.events.emit(...applied.map(knownErrorEvent));
      return alerts;
    },
  };
}

/**
 * An incident's signature under the first rule that is for it and gives it one, from what the
 * batch knows (no reads): its group key, its root-cause CI if this batch found one (else its
 * first alert's CI), its alerts' labels.
 */
function hitOf(
  e: Started, own: readonly AlertChange[], rootCi: string | undefined, set: ProblemRuleSet,
): ProblemHit | undefined {
  const labels: Labels[] = own.map((a) => a.alert.labels);
  const facts = {
    groupKey: e.kind === 'opened' ? e.groupKey : own[0]?.correlation?.groupKey,
    ci: rootCi ?? own.find((a) => a.correlation?.ci !== undefined)?.correlation?.ci,
    labels,
  };
  for (const rule of set.rulesFor(labels)) {
    const signature = signatureOf(rule.signature, facts);
    if (signature === undefined) continue;
    const title = rule.title ?? `Recurring: ${e.kind === 'opened' ? e.title : signature}`;
    return { incidentId: e.incidentId, signature, rule, title: title.length > 300 ? `${title.slice(0, 299)}…` : title };
  }
  return undefined;
}
