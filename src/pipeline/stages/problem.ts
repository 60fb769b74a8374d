import type { Labels } from '../../domain/alert';
import type { IncidentEvent } from '../../domain/incident-event';
import { signatureOf } from '../../domain/problem-recurrence';
import { problemRulesKind } from '../../rules/kinds/problem-rules-kind';
import type { RuleBundle } from '../../rules/rule-bundle';
import { detectProblems, type ProblemHit } from '../../store/problem-detection';
import { knownErrorEvent } from '../../store/problem-store';
import type { AlertChange, Stage } from '../stage';

/**
 * Problem detection, driven by the incident events of the batch (`opened`, `reopened`): each such
 * incident's signature under the first `ProblemRules` rule for it counts as an occurrence; enough
 * of one signature within the rule's window open a problem, and an active problem takes the new
 * incidents of its signature (src/store/problem-detection.ts). A new incident of a known error
 * gets its workaround: a `known_error` event, which the record stage writes and which triggers
 * the problem's runbook. With no problem rules, or no incident opened, it reads nothing.
 *
 * Signatures come from what the batch knows, no reads: the group key of the incident's alerts,
 * its root-cause CI (a `root_cause` event of this batch) or its first alert's CI, its first
 * alert's labels.
 */
export function problemStage(rules: () => RuleBundle): Stage {
  return {
    name: 'problem',
    async run(alerts, ctx) {
      const set = rules().get(problemRulesKind);
      if (set.rules.length === 0) return alerts;
      const events = ctx.events.all();
      const started = events.filter((e): e is Extract<IncidentEvent, { kind: 'opened' | 'reopened' }> =>
        e.kind === 'opened' || e.kind === 'reopened');
      if (started.length === 0) return alerts;

      const byFingerprint = new Map<string, AlertChange>();
      for (const a of alerts) if (a.event === 'opened' && a.incidentId !== undefined) byFingerprint.set(a.alert.fingerprint, a);
      const rootCi = new Map<number, string>();
      for (const e of events) if (e.kind === 'root_cause') rootCi.set(e.incidentId, e.ci);

      const hits: ProblemHit[] = [];
      const seen = new Set<number>();
      for (const e of started) {
        if (seen.has(e.incidentId)) continue;
        seen.add(e.incidentId);
        const own = e.fingerprints.map((f) => byFingerprint.get(f))
          .filter((a): a is AlertChange => a?.incidentId === e.incidentId);
        const labels: Labels[] = own.map((a) => a.alert.labels);
        const first = own[0];
        const facts = {
          groupKey: e.kind === 'opened' ? e.groupKey : first?.correlation?.groupKey,
          ci: rootCi.get(e.incidentId) ?? own.find((a) => a.correlation?.ci !== undefined)?.correlation?.ci,
          labels,
        };
        let signature: string | undefined;
        const rule = set.rulesFor(labels).find((r) => (signature = signatureOf(r.signature, facts)) !== undefined);
        if (rule === undefined || signature === undefined) continue;
        const title = rule.title ?? `Recurring: ${e.kind === 'opened' ? e.title : signature}`;
        hits.push({ incidentId: e.incidentId, signature, rule, title: title.length > 300 ? `${title.slice(0, 299)}…` : title });
      }
      const applied = await detectProblems(ctx.trx, hits, ctx.now());
      ctx.events.emit(...applied.map(knownErrorEvent));
      return alerts;
    },
  };
}
