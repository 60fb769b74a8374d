import { sql, type Kysely } from 'kysely';
import type { ReportPeriod } from '../../domain/report-period';
import type { Database } from '../../store/database';
import { round, type Report, type SlaComplianceRow, type SlaTargets } from '../report';

/**
 * SLA compliance: the service-level module's figures when it is plugged in
 * (`ReportContext.slaCompliance`, which knows paused clocks); else computed here from stored
 * timestamps and the targets given (clocks never paused); else no rows.
 */
export const slaComplianceReport: Report = {
  name: 'sla-compliance',
  description: 'Per priority and clock (tta, ttr): incidents whose clock stopped in the period, and how many met the target',
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
    const { rows: found } = await sql<{ priority: number; target: number; incidents: number; met: number }>`
      select t.priority, t.target, count(i.id)::int as incidents,
        (count(i.id) filter (where extract(epoch from i.${col} - i.opened_at) <= t.target))::int as met
      from unnest(${set.map((e) => e[0])}::smallint[], ${set.map((e) => e[1])}::float8[]) as t(priority, target)
      left join incidents i on i.priority = t.priority and i.${col} >= ${period.from} and i.${col} < ${period.to}
      group by t.priority, t.target order by t.priority`.execute(db);
    for (const f of found) {
      rows.push({
        priority: f.priority, measure, target_seconds: f.target, incidents: f.incidents, met: f.met,
        breached: f.incidents - f.met, compliance_percent: f.incidents === 0 ? null : round((100 * f.met) / f.incidents, 2),
      });
    }
  }
  return rows.sort((a, b) => a.priority - b.priority || (a.measure < b.measure ? -1 : 1));
}
