import { sql, type Kysely } from 'kysely';
import type { ReportPeriod } from '../../domain/report-period';
import type { Database } from '../../store/database';
import { arrayParam } from '../../store/unnest';
import { round, type Report, type SlaComplianceRow, type SlaTargets } from '../report';

/**
 * SLA compliance: the service-level module's figures when it is plugged in
 * (`ReportContext.slaCompliance`, which knows paused clocks); else computed here from stored
 * timestamps and the targets given (clocks never paused); else no rows.
 */
export const slaComplianceReport: Report = {
  name: 'sla-compliance',
  description: 'Per priority and clock (tta, ttr): incidents whose clock stopped in the period, '
    + 'and how many met the target',
  columns: [
    { name: 'priority', description: 'ITIL priority, 1 (critical) to 5' },
    { name: 'measure', description: 'tta (time to acknowledge) or ttr (time to resolve)' },
    { name: 'target_seconds', description: "the priority's target" },
    { name: 'incidents', description: 'incidents acknowledged (tta) or resolved (ttr) in the period' },
    { name: 'met', description: 'of those, within the target' },
    { name: 'breached', description: 'of those, over the target' },
    { name: 'compliance_percent', description: 'met / incidents, in percent (empty: no incident)' },
  ],
  async run(ctx, period) {
    if (ctx.slaCompliance) return ctx.slaCompliance(period);
    const targets = ctx.slaTargets?.();
    return targets === undefined ? [] : complianceFromTimestamps(ctx.db, period, targets);
  },
};

/** Compliance from `acknowledged_at`/`resolved_at` minus `opened_at`, against `targets`. */
export async function complianceFromTimestamps(
  db: Kysely<Database>, period: ReportPeriod, targets: SlaTargets,
): Promise<SlaComplianceRow[]> {
  const rows: SlaComplianceRow[] = [];
  for (const measure of ['tta', 'ttr'] as const) {
    const col = sql.raw(measure === 'tta' ? 'acknowledged_at' : 'resolved_at');
    const set = Object.entries(targets)
      .map(([p, t]) => [Number(p), measure === 'tta' ? t.ttaSeconds : t.ttrSeconds] as const)
      .filter((e): e is readonly [number, number] => e[1] !== undefined);
    if (set.length === 0) continue;
    // One scan of the period's incidents (the small target list hashed), not one per priority.
    const { rows: found } = await sql<{ priority: number; incidents: number; met: number }>`
      select i.priority, count(*)::int as incidents,
        (count(*) filter (where extract(epoch from i.${col} - i.opened_at) <= t.target))::int as met
      from incidents i
      join unnest(${arrayParam(set.map((e) => e[0]), 'smallint')}, ${arrayParam(set.map((e) => e[1]), 'float8')})
        as t(priority, target)
        on t.priority = i.priority
      where i.${col} >= ${period.from} and i.${col} < ${period.to}
      group by i.priority`.execute(db);
    const byPriority = new Map(found.map((f) => [f.priority, f]));
    for (const [priority, target] of set) {
      const incidents = byPriority.get(priority)?.incidents ?? 0;
      const met = byPriority.get(priority)?.met ?? 0;
      rows.push({
        priority, measure, target_seconds: target, incidents, met, breached: incidents - met,
        compliance_percent: incidents === 0 ? null : round((100 * met) / incidents, 2),
      });
    }
  }
  return rows.sort((a, b) => a.priority - b.priority || (a.measure < b.measure ? -1 : 1));
}
