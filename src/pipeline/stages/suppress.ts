import type { Transaction } from 'kysely';
import type { DispositionDecision, Suppression } from '../../domain/alert-disposition';
import type { Silence } from '../../domain/silence';
import type { Topology } from '../../domain/topology';
import { InhibitRuleSet, type InhibitRule } from '../../rules/inhibit-rule-set';
import { inhibitRulesKind } from '../../rules/kinds/inhibit-rules-kind';
import { maintenanceWindowsKind } from '../../rules/kinds/maintenance-windows-kind';
import { ciLabelOf, type ActiveWindow, type CiOf } from '../../rules/maintenance-schedule';
import type { RuleBundle } from '../../rules/rule-bundle';
import { setDispositions } from '../../store/alert-store';
import type { Database } from '../../store/database';
import {
  fileInhibitSources, findInhibitors, firingAlertsWith, markInhibitRulesScanned, scannedInhibitRules,
  type InhibitorQuery, type InhibitSource,
} from '../../store/inhibit-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import { SilenceCache } from '../silence-cache';
import type { AlertChange, Stage, StageContext, StagedAlert } from '../stage';

interface Held extends DispositionDecision {
  readonly disposition: Suppression;
}

/**
 * Holds back opened alerts that are suppressed: they open nothing, but stay stored with why
 * (their disposition), are counted (`quell_alerts_suppressed_total{reason}`), and, while still
 * firing, are taken up again when what held them ends (src/worker/suppression-release.ts).
 * Resolves pass through. The first reason that holds an alert is its disposition, in this
 * order: an active silence, a maintenance window that is on (both evaluated in memory at
 * `ctx.now()`), an inhibiting alert (one indexed lookup for the batch).
 */
export function suppressStage(
  rules: () => RuleBundle, topology: () => Topology, metrics: PipelineMetrics,
): Stage {
  const silences = new SilenceCache();
  const scanned = new Set<string>();
  return {
    name: 'suppress',
    async run(alerts, ctx) {
      const opened = alerts.filter((a): a is AlertChange => a.event === 'opened');
      if (opened.length === 0) return alerts;
      const bundle = rules();
      const now = ctx.now();
      const held = new Map<StagedAlert, Held>();

      const silenceIndex = await silences.current(ctx.trx, now, ctx.silencesVersion);
      const windows = bundle.get(maintenanceWindowsKind);
      const topo = topology();
      const ciOf: CiOf = (labels) => topo.bind(labels)?.ci.id ?? ciLabelOf(labels);
      for (const a of opened) {
        const by = silenceIndex.silencing(a.alert.labels, now);
        if (by.length > 0) { held.set(a, silenced(a, by)); continue; }
        const window = windows.windowFor(a.alert.labels, now, ciOf);
        if (window !== undefined) held.set(a, inMaintenance(a, window));
      }

      const inhibit = bundle.get(inhibitRulesKind);
      if (inhibit.rules.length > 0) {
        const sources = new InhibitSources(inhibit, bundle.version, scanned);
        const found = await sources.inhibitorsOf(ctx, opened, opened.filter((a) => !held.has(a)));
        for (const [a, { rule, source }] of found) {
          const detail = { inhibited_by: source, rule: rule.name };
          const fingerprint = a.alert.fingerprint;
          held.set(a, { fingerprint, disposition: 'inhibited', detail, releaseAt: 'infinity' });
        }
      }

      await setDispositions(ctx.trx, [...held.values()]);
      const counts = new Map<Suppression, number>();
      for (const h of held.values()) counts.set(h.disposition, (counts.get(h.disposition) ?? 0) + 1);
      ctx.afterCommit(() => { for (const [reason, n] of counts) metrics.suppressed.inc({ reason }, n); });
      return held.size === 0 ? alerts : alerts.filter((a) => !held.has(a));
    },
  };
}

function silenced(a: AlertChange, by: readonly Silence[]): Held {
  const endsAt = by.map((s) => s.endsAt).reduce((x, y) => (Date.parse(x) >= Date.parse(y) ? x : y));
  return {
    fingerprint: a.alert.fingerprint, disposition: 'silenced',
    detail: { silenced_by: by.map((s) => s.id), ends_at: endsAt }, releaseAt: endsAt,
  };
}

function inMaintenance(a: AlertChange, { window, occurrence }: ActiveWindow): Held {
  const endsAt = new Date(occurrence.end).toISOString();
  return {
    fingerprint: a.alert.fingerprint, disposition: 'maintenance',
    detail: {
      window: window.name, origin: window.origin, starts_at: new Date(occurrence.start).toISOString(), ends_at: endsAt,
      time_zone: window.timeZone,
    },
    releaseAt: endsAt,
  };
}

/**
 * Inhibition's database part. Firing alerts that match a rule's source side are filed in
 * `inhibit_sources` under the rule and their `equal` values, as they open (this batch's
 * included, so an alert inhibits others in its own batch). Alerts already firing when a rule
 * (or a new version of the rule files) comes into force are filed once, by the first batch that
 * meets it (`inhibit_source_scans`). Finding an alert's inhibitor is then an index lookup, one
 * statement for the batch: no scan of firing alerts per alert.
 */
class InhibitSources {
  constructor(
    private readonly rules: InhibitRuleSet,
    private readonly version: string,
    /** Scan keys this process knows are done (committed). */
    private readonly scanned: Set<string>,
  ) {}

  async inhibitorsOf(ctx: StageContext, opened: readonly AlertChange[], candidates: readonly AlertChange[]) {
    const filed: InhibitSource[] = [];
    for (const a of opened) filed.push(...this.sourceEntries(a.alert.fingerprint, a.alert.labels));
    filed.push(...await this.scanOnce(ctx));
    await fileInhibitSources(ctx.trx, filed);

    const asked: { a: AlertChange; rule: InhibitRule }[] = [];
    const queries: InhibitorQuery[] = [];
    for (const a of candidates) {
      for (const rule of this.rules.targetOf(a.alert.labels)) {
        asked.push({ a, rule });
        queries.push({
          ruleKey: rule.key, equalKey: InhibitRuleSet.equalKey(rule, a.alert.labels),
          twoSided: InhibitRuleSet.isSource(rule, a.alert.labels),
        });
      }
    }
    const found = await findInhibitors(ctx.trx, queries);
    // The first rule, in order, that has a firing source.
    const out = new Map<AlertChange, { rule: InhibitRule; source: string }>();
    asked.forEach(({ a, rule }, i) => {
      const source = found.get(i);
      if (source !== undefined && !out.has(a)) out.set(a, { rule, source });
    });
    return out;
  }

  private sourceEntries(fingerprint: string, labels: Readonly<Record<string, string>>): InhibitSource[] {
    return this.rules.sourceOf(labels).map((rule) => ({
      ruleKey: rule.key, equalKey: InhibitRuleSet.equalKey(rule, labels), fingerprint,
      matchesTarget: InhibitRuleSet.isTarget(rule, labels),
    }));
  }

  /** The entries of alerts already firing, for the rules not yet scanned under this version. */
  private async scanOnce(ctx: StageContext): Promise<InhibitSource[]> {
    const scanKey = (rule: InhibitRule) => `${rule.key}@${this.version}`;
    const unknown = this.rules.rules.filter((r) => !this.scanned.has(scanKey(r)));
    if (unknown.length === 0) return [];
    const done = await scannedInhibitRules(ctx.trx, unknown.map(scanKey));
    const todo = unknown.filter((r) => !done.has(scanKey(r)));
    const entries: InhibitSource[] = [];
    for (const rule of todo) entries.push(...await this.scan(ctx.trx, rule));
    await markInhibitRulesScanned(ctx.trx, todo.map(scanKey));
    ctx.afterCommit(() => { for (const r of unknown) this.scanned.add(scanKey(r)); });
    return entries;
  }

  private async scan(trx: Transaction<Database>, rule: InhibitRule): Promise<InhibitSource[]> {
    const equalities = rule.sourceMatchers.filter((m) => m.op === '=' && m.value !== '')
      .map(({ name, value }) => ({ name, value }));
    const out: InhibitSource[] = [];
    for (const { fingerprint, labels } of await firingAlertsWith(trx, equalities)) {
      if (!InhibitRuleSet.isSource(rule, labels)) continue;
      out.push({
        ruleKey: rule.key, equalKey: InhibitRuleSet.equalKey(rule, labels), fingerprint,
        matchesTarget: InhibitRuleSet.isTarget(rule, labels),
      });
    }
    return out;
  }
}
