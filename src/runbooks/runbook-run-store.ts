import { sql, type Transaction } from 'kysely';
import type { Labels } from '../domain/alert';
import { QUELL_ACTOR, type IncidentEvent } from '../domain/incident-event';
import { recordOutbox, type RecordedOutbox } from '../outbox/outbox-store';
import type { Database } from '../store/database';
import { appendTimeline } from '../store/incident-store';
import { unnest } from '../store/unnest';
import { RUNBOOK_QUEUE, runbookJob } from './runbook-queue';
import type { IncidentFacts, TriggeredRun } from './runbook-triggers';

type Trx = Transaction<Database>;

/**
 * The facts trigger evaluation needs of `ids`, in a few statements for all of them. Alert
 * labels and CI labels are read only when asked (a candidate runbook has matchers on them).
 */
export async function readIncidentFacts(
  trx: Trx, ids: readonly number[], needs: { readonly alerts: boolean; readonly cis: boolean },
): Promise<Map<number, IncidentFacts>> {
  const facts = new Map<number, IncidentFacts>();
  if (ids.length === 0) return facts;
  const unique = [...new Set(ids)];
  const incidents = await trx.selectFrom('incidents')
    .select(['id', 'priority', 'group_key', 'cis', sql<string | null>`root_cause->>'ci'`.as('root_ci')])
    .where('id', 'in', unique).execute();
  const alertLabels = new Map<number, Labels[]>();
  if (needs.alerts) {
    const rows = await trx.selectFrom('incident_alerts as ia')
      .innerJoin('alerts as a', 'a.fingerprint', 'ia.fingerprint')
      .select(['ia.incident_id', 'a.labels']).distinctOn(['ia.incident_id', 'ia.fingerprint'])
      .where('ia.incident_id', 'in', unique).orderBy('ia.incident_id').orderBy('ia.fingerprint').execute();
    for (const r of rows) push(alertLabels, r.incident_id, r.labels);
  }
  const ciLabels = new Map<string, Labels>();
  const allCis = [...new Set(incidents.flatMap((i) => i.cis))];
  if (needs.cis && allCis.length > 0) {
    const rows = await trx.selectFrom('cmdb_cis').select(['id', 'labels'])
      .where('version', '=', (eb) => eb.selectFrom('cmdb_meta').select('version').where('id', '=', 1))
      .where('id', 'in', allCis).execute();
    for (const r of rows) ciLabels.set(r.id, r.labels);
  }
  for (const i of incidents) {
    facts.set(i.id, {
      id: i.id, priority: i.priority, groupKey: i.group_key, cis: i.cis,
      ...(i.root_ci !== null ? { rootCauseCi: i.root_ci } : {}),
      alertLabels: alertLabels.get(i.id) ?? [],
      ciLabels: i.cis.flatMap((ci) => { const l = ciLabels.get(ci); return l === undefined ? [] : [l]; }),
    });
  }
  return facts;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * Records runs (status queued) in the deciding transaction, each once by its trigger key, with
 * an outbox row for the runbook queue and a `runbook` event on its incident's timeline. Returns
 * the outbox rows of the runs it created (for the relay after commit); a run whose key exists
 * is not created again.
 */
export async function createRuns(
  trx: Trx, runs: readonly TriggeredRun[], rulesVersion?: string,
): Promise<RecordedOutbox[]> {
  if (runs.length === 0) return [];
  // Key order: two transactions creating the same runs take the unique index's locks in one order.
  const sorted = [...new Map(runs.map((r) => [r.triggerKey, r])).values()]
    .sort((a, b) => (a.triggerKey < b.triggerKey ? -1 : 1));
  const created = await trx.insertInto('runbook_runs')
    .columns(['runbook', 'incident_id', 'trigger', 'trigger_key', 'target', 'status', 'dry_run', 'rules_version'])
    .expression(unnest(sorted.map((r) => ({
      runbook: r.runbook.name, incidentId: r.incidentId, trigger: r.trigger, triggerKey: r.triggerKey, target: r.target,
      status: 'queued', dryRun: r.runbook.dryRun, rulesVersion: rulesVersion ?? null,
    })), [
      ['runbook', 'text'], ['incidentId', 'integer'], ['trigger', 'text'], ['triggerKey', 'text'], ['target', 'text'],
      ['status', 'text'], ['dryRun', 'boolean'], ['rulesVersion', 'text'],
    ]))
    .onConflict((oc) => oc.column('trigger_key').doNothing())
    .returning(['id', 'runbook', 'incident_id', 'trigger']).execute();
  if (created.length === 0) return [];
  created.sort((a, b) => a.id - b.id);
  const events: IncidentEvent[] = created.map((r) => ({
    kind: 'runbook', incidentId: r.incident_id, by: QUELL_ACTOR, runId: r.id, runbook: r.runbook, status: 'queued',
    reason: `triggered by ${r.trigger}`,
  }));
  await appendTimeline(trx, events);
  return recordOutbox(trx, created.map((r) => ({ queue: RUNBOOK_QUEUE, job: runbookJob(r.id) })));
}
