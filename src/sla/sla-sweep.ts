import { sql, type Kysely, type Transaction } from 'kysely';
import { formatDuration } from '../domain/duration';
import { dueSteps, policyFor, stepKey, type EscalationPolicy, type EscalationStep } from '../domain/escalation';
import { QUELL_ACTOR, type IncidentEvent } from '../domain/incident-event';
import {
  businessElapsedMs, clockStop, SLA_CLOCKS, slaClocks, type ServiceLevelPolicy, type SlaClock,
} from '../domain/service-level';
import type { Logger } from '../log';
import { NOTIFY_QUEUE, notifyJob, type NotifyJob } from '../notify/notify-job';
import { recordOutbox, type RecordedOutbox } from '../outbox/outbox-store';
import { readIncidentFacts } from '../runbooks/runbook-run-store';
import type { Database } from '../store/database';
import { commitIncidentEvents, type IncidentEventsDeps } from '../store/incident-events-commit';
import type { SlaMetrics } from './sla-metrics';
import {
  flagKey, insertFlags, readFlags, readSweptIncidents, withPauses, type SlaFlag, type SweptIncident,
} from './sla-store';

/** The advisory lock whose holder sweeps: one sweep at a time across every process. */
export const SLA_SWEEP_LOCK = 7_265_731_001;

/** How far back the sweep looks for resolved incidents (their stopped clocks, for the metrics). */
export const RESOLVED_LOOKBACK_MS = 3_600_000;

/** Incidents read together (their pauses, flags, alert labels): bounded statements on a large backlog. */
const SWEEP_BATCH = 1000;

export interface SlaSweepDeps {
  readonly db: Kysely<Database>;
  /** The service levels in force (a function: a rules reload takes effect at the next sweep). */
  readonly serviceLevels: () => ServiceLevelPolicy;
  readonly escalationPolicies: () => readonly EscalationPolicy[];
  /** Timeline, runbook triggers and the outbox relay (after commit). */
  readonly incidentEvents: IncidentEventsDeps;
  readonly metrics?: SlaMetrics;
  readonly log?: Logger;
}

export interface SweepOutcome {
  /** False: another process held the lock (it sweeps); this one did nothing. */
  readonly leader: boolean;
  /** Timeline events written (warnings, breaches, escalations). */
  readonly events: number;
  readonly notifications: number;
}

/** What one flag stands for, decided before it is set. */
interface Decision {
  readonly flag: SlaFlag;
  readonly incident: SweptIncident;
  readonly clock?: SlaClock;
  readonly step?: EscalationStep;
  /** Whom setting the flag notifies (none for a breach of a stopped clock: recorded, not sent). */
  readonly notify: readonly string[];
}

/**
 * One sweep as of `now`, in one transaction: records service-level warnings and breaches and
 * escalation steps on the timeline, with their notifications in the outbox, and counts the
 * clocks that stopped in the metrics. Safe however many processes sweep at once: the transaction
 * first takes an advisory lock (`pg_try_advisory_xact_lock`; a process that does not get it
 * returns at once), and each decision is a flag whose primary key (incident, clock, level) is
 * set with ON CONFLICT DO NOTHING in the same transaction as its timeline entry, so a decision
 * is written and sent once even if two sweeps ever overlapped (a lock lost with its connection).
 */
export async function sweepServiceLevels(deps: SlaSweepDeps, now: Date): Promise<SweepOutcome> {
  const started = process.hrtime.bigint();
  const levels = deps.serviceLevels();
  const policies = deps.escalationPolicies();
  let outbox: RecordedOutbox[] = [];
  let taken: Decision[] = [];
  const outcome = await deps.db.transaction().execute(async (trx): Promise<SweepOutcome> => {
    const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${SLA_SWEEP_LOCK}::bigint) as ok`
      .execute(trx);
    if (lock.rows[0]?.ok !== true) return { leader: false, events: 0, notifications: 0 };
    const all = await readSweptIncidents(trx, new Date(now.getTime() - RESOLVED_LOOKBACK_MS));
    const fresh: Decision[] = [];
    for (let i = 0; i < all.length; i += SWEEP_BATCH) {
      const incidents = await withPauses(trx, all.slice(i, i + SWEEP_BATCH));
      const flags = await readFlags(trx, incidents.map((x) => x.id));
      const decisions = [
        ...incidents.flatMap((incident) => clockDecisions(levels, incident, now)),
        ...await escalationDecisions(trx, policies, levels, incidents, now),
      ];
      fresh.push(...decisions.filter((d) => !flags.has(flagKey(d.flag))));
    }
    const set = await insertFlags(trx, fresh.map((d) => d.flag));
    taken = fresh.filter((d) => set.has(flagKey(d.flag)));

    const events: IncidentEvent[] = [];
    const jobs: NotifyJob[] = [];
    for (const d of taken) {
      const said = eventOf(d);
      if (said === undefined) continue;
      events.push(said.event);
      for (const target of d.notify) jobs.push(notifyJob(d.incident.id, said.about, target, said.title, said.text));
    }
    outbox = [
      ...await commitIncidentEvents(trx, events, deps.incidentEvents),
      ...await recordOutbox(trx, jobs.map((job) => ({ queue: NOTIFY_QUEUE, job }))),
    ];
    return { leader: true, events: events.length, notifications: jobs.length };
  });
  if (!outcome.leader) return outcome;
  deps.incidentEvents.relay(outbox);
  countTaken(taken, deps.metrics);
  deps.metrics?.sweepSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  if (outcome.events > 0) deps.log?.info(outcome, 'service levels: recorded warnings, breaches and escalations');
  return outcome;
}

/** The escalation steps due for those of `incidents` not acknowledged nor resolved as of `now`. */
async function escalationDecisions(
  trx: Transaction<Database>, policies: readonly EscalationPolicy[], levels: ServiceLevelPolicy,
  incidents: readonly SweptIncident[], now: Date,
): Promise<Decision[]> {
  if (policies.length === 0) return [];
  const before = (d: Date | null) => d !== null && d <= now;
  const waiting = incidents.filter((i) => !before(i.acknowledgedAt) && !before(i.resolvedAt) && i.openedAt <= now);
  if (waiting.length === 0) return [];
  // Alert labels only when a policy has matchers (else the priority decides).
  const facts = policies.some((p) => p.matchers.length > 0)
    ? await readIncidentFacts(trx, waiting.map((i) => i.id), { alerts: true, cis: false }) : undefined;
  const out: Decision[] = [];
  for (const incident of waiting) {
    const policy = policyFor(policies, incident.priority, facts?.get(incident.id)?.alertLabels ?? []);
    if (policy === undefined) continue;
    const due = dueSteps(policy, businessElapsedMs(incident.openedAt, now, incident.pauses, levels.pauseIn));
    // At most one step per sweep notifies: the latest due (after downtime, not every missed one).
    due.forEach((step, i) => out.push({
      incident, step, notify: i === due.length - 1 ? step.notify : [],
      flag: { incidentId: incident.id, clock: `escalation:${policy.name}`, level: stepKey(step) },
    }));
  }
  return out;
}

/** The flags an incident's clocks call for now: near, breached, stopped (observed once in the metrics). */
function clockDecisions(levels: ServiceLevelPolicy, incident: SweptIncident, now: Date): Decision[] {
  const out: Decision[] = [];
  const flag = (clock: string, level: string) => ({ incidentId: incident.id, clock, level });
  for (const clock of slaClocks(levels, incident, now)) {
    const notify = clock.stopped ? [] : levels.notify;
    if (clock.breached) out.push({ incident, clock, notify, flag: flag(clock.clock, 'breached') });
    else if (clock.near && !clock.stopped) out.push({ incident, clock, notify, flag: flag(clock.clock, 'warning') });
  }
  for (const clock of SLA_CLOCKS) {
    const stop = clockStop(clock, incident);
    if (stop !== null && stop <= now) out.push({ incident, notify: [], flag: flag(clock, 'stopped') });
  }
  return out;
}

/** The timeline event and notification of a decision just taken (none for a stopped clock). */
function eventOf(d: Decision): { event: IncidentEvent; about: string; title: string; text: string } | undefined {
  const { incident } = d;
  const p = `P${incident.priority}`;
  if (d.step !== undefined) {
    const { step } = d;
    const round = step.round > 0 ? ` (round ${step.round + 1})` : '';
    const reason = `escalation policy ${step.policy}: level ${step.level}${round}, `
      + `not acknowledged for ${formatDuration(step.dueMs)}`;
    return {
      event: {
        kind: 'escalated', incidentId: incident.id, by: QUELL_ACTOR, reason,
        step: { policy: step.policy, level: step.level, round: step.round, notify: d.notify },
      },
      about: `escalation:${step.policy}:${stepKey(step)}`,
      title: `Escalation: ${p} incident #${incident.id} not acknowledged`,
      text: `${incident.title}\n${reason}`,
    };
  }
  const clock = d.clock;
  if (clock === undefined) return undefined;
  const breached = d.flag.level === 'breached';
  const name = clock.clock === 'tta' ? 'time to acknowledge' : 'time to resolve';
  return {
    event: {
      kind: breached ? 'sla_breached' : 'sla_warning', incidentId: incident.id, clock: clock.clock,
      priority: incident.priority, targetMs: clock.targetMs, elapsedMs: clock.elapsedMs,
    },
    about: `${breached ? 'sla_breached' : 'sla_warning'}:${clock.clock}`,
    title: breached
      ? `${p} incident #${incident.id} breached its ${name}` : `${p} incident #${incident.id} is near its ${name}`,
    text: `${incident.title}\n${formatDuration(clock.elapsedMs)} of ${formatDuration(clock.targetMs)} `
      + `(status ${incident.status})`,
  };
}

/** Counts what the committed sweep decided (once across all processes: its flags were set here). */
function countTaken(taken: readonly Decision[], metrics: SlaMetrics | undefined): void {
  if (metrics === undefined) return;
  for (const d of taken) {
    const priority = `P${d.incident.priority}`;
    if (d.step !== undefined) { metrics.escalations.inc({ policy: d.step.policy }); continue; }
    const clock = d.flag.clock;
    if (d.flag.level === 'breached') metrics.breaches.inc({ clock, priority });
    else if (d.flag.level === 'warning') metrics.warnings.inc({ clock, priority });
    else if (d.flag.level === 'stopped') {
      const stop = clockStop(clock as 'tta' | 'ttr', d.incident) as Date;
      const seconds = Math.max(0, stop.getTime() - d.incident.openedAt.getTime()) / 1000;
      (clock === 'tta' ? metrics.tta : metrics.ttr).observe({ priority }, seconds);
    }
  }
}
