import type { Transaction } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import type { RecordedOutbox } from '../outbox/outbox-store';
import type { RunbookSet } from '../runbooks/runbook';
import { createRuns, readIncidentFacts } from '../runbooks/runbook-run-store';
import { candidatesOf, needsLabels, NO_RUNBOOKS, runsFor, type TriggeredRun } from '../runbooks/runbook-triggers';
import type { Database } from './database';
import { appendTimeline } from './incident-store';

/** What committing incident events needs besides the transaction. */
export interface IncidentEventsDeps {
  /** The runbooks in force (a function: a rules reload takes effect at the next transaction). */
  readonly runbooks: () => RunbookSet;
  /** The rules' version, recorded with each run. */
  readonly rulesVersion?: () => string;
  /** Hands outbox rows to their queues; called after commit, never throws (see OutboxRelay.relayLater). */
  readonly relay: (rows: readonly RecordedOutbox[]) => void;
}

/** No runbooks, nothing to relay: the timeline only. */
export const TIMELINE_ONLY: IncidentEventsDeps = { runbooks: () => NO_RUNBOOKS, relay: () => undefined };

/**
 * The one path for incident events into the transaction that made them (the pipeline's record
 * stage, the API's acknowledge and resolve): writes them to their timelines and starts the
 * runbooks they trigger: runs (once per trigger key), their outbox rows and `runbook` timeline
 * events, all in `trx`. Returns the outbox rows, which the caller hands to `deps.relay` once
 * `trx` has committed. With no runbook on any of the events' triggers it reads nothing.
 */
export async function commitIncidentEvents(
  trx: Transaction<Database>, events: readonly IncidentEvent[], deps: IncidentEventsDeps,
): Promise<RecordedOutbox[]> {
  if (events.length === 0) return [];
  const set = deps.runbooks();
  if (set.all.length === 0) {
    await appendTimeline(trx, events);
    return [];
  }
  const candidates = events.map((e) => candidatesOf(e, set));
  if (candidates.every((c) => c.length === 0)) {
    await appendTimeline(trx, events);
    return [];
  }
  const seqs = await appendTimeline(trx, events, { ids: true });
  const ids = events.filter((_, i) => candidates[i]!.length > 0).map((e) => e.incidentId);
  const facts = await readIncidentFacts(trx, ids, needsLabels([...new Set(candidates.flat())]));
  const runs: TriggeredRun[] = [];
  events.forEach((event, i) => {
    const f = facts.get(event.incidentId);
    if (candidates[i]!.length > 0 && f !== undefined) runs.push(...runsFor(event, seqs[i]!, candidates[i]!, f));
  });
  return createRuns(trx, runs, deps.rulesVersion?.());
}
