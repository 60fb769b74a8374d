import { sql, type Kysely } from 'kysely';
import { itemAt } from '../domain/invariant';
import type { RecordedOutbox } from '../outbox/outbox-store';
import type { Database } from '../store/database';
import type { IncidentEventsDeps } from '../store/incident-events-commit';
import type { Runbook } from './runbook';
import { createRuns, readIncidentFacts } from './runbook-run-store';
import { inScope, needsLabels, stillFiringKey, targetOf, triggerText, type TriggeredRun } from './runbook-triggers';

/** How far back the first check of a trigger looks (incidents that crossed it while no worker ran). */
export const STILL_FIRING_LOOKBACK_MS = 60 * 60 * 1000;
/** Incidents one check takes per trigger (the rest at the next check). */
const BATCH = 500;

/**
 * The `still_firing` triggers: every worker runs this periodically (see scheduleTicks). For each
 * such trigger, the incidents still active `after` their opening that crossed that age since
 * the previous check (the first check looks back {@link STILL_FIRING_LOOKBACK_MS}) and have no
 * run of it yet get one, in one transaction; the trigger key makes it once however many workers
 * check. Matchers are evaluated as the incident is when it crosses the age.
 */
export function createStillFiringCheck(
  db: Kysely<Database>, deps: IncidentEventsDeps, clock: () => Date = () => new Date(),
): () => Promise<number> {
  /** Per trigger key prefix: the opening time up to which incidents were checked. */
  const checkedUpTo = new Map<string, number>();
  return async () => {
    const triggers = deps.runbooks().triggeredBy('still_firing')
      .flatMap((runbook) => runbook.triggers.filter((t) => t.event === 'still_firing')
        .map((t) => ({ runbook, afterMs: t.afterMs ?? 0 })));
    if (triggers.length === 0) return 0;
    const now = clock().getTime();
    let outbox: RecordedOutbox[] = [];
    const done = new Map<string, number>();
    await db.transaction().execute(async (trx) => {
      const runs: TriggeredRun[] = [];
      for (const { runbook, afterMs } of triggers) {
        const id = `${runbook.name}|${afterMs}`;
        const upTo = now - afterMs;
        const from = checkedUpTo.get(id) ?? upTo - STILL_FIRING_LOOKBACK_MS;
        const prefix = stillFiringKey(runbook, afterMs, 0).slice(0, -1);
        const due = await trx.selectFrom('incidents').select('id')
          .where('status', '!=', 'resolved')
          .where('opened_at', '>', new Date(from)).where('opened_at', '<=', new Date(upTo))
          .where((eb) => eb.not(eb.exists(eb.selectFrom('runbook_runs').select(sql`1`.as('one'))
            .where('trigger_key', '=', sql<string>`${prefix} || incidents.id::text`))))
          .orderBy('opened_at').limit(BATCH + 1).select('opened_at').execute();
        const taken = due.slice(0, BATCH);
        // A full batch: the rest from the last one taken on (those with a run are skipped), next time.
        done.set(id, due.length > BATCH ? itemAt(taken, taken.length - 1, 'batch').opened_at.getTime() - 1 : upTo);
        if (taken.length === 0) continue;
        runs.push(...await stillFiringRuns(trx, runbook, afterMs, taken.map((r) => r.id)));
      }
      outbox = await createRuns(trx, runs, deps.rulesVersion?.());
    });
    for (const [id, upTo] of done) checkedUpTo.set(id, upTo);
    deps.relay(outbox);
    return outbox.length;
  };
}

async function stillFiringRuns(
  trx: Parameters<typeof readIncidentFacts>[0], runbook: Runbook, afterMs: number, ids: readonly number[],
): Promise<TriggeredRun[]> {
  const facts = await readIncidentFacts(trx, ids, needsLabels([runbook]));
  const trigger = triggerText({ event: 'still_firing', afterMs });
  return [...facts.values()].filter((f) => inScope(runbook, f)).map((f) => ({
    runbook, incidentId: f.id, trigger, triggerKey: stillFiringKey(runbook, afterMs, f.id),
    target: targetOf(runbook, f),
  }));
}
