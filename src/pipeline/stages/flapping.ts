import type { AlertStatus } from '../../domain/alert';
import { changeTime, flapStep, isBounce, type FlappingState } from '../../domain/flapping';
import type { FlappingPolicy } from '../../domain/grouping-policy';
import { QUELL_ACTOR, type IncidentEvent } from '../../domain/incident-event';
import { isActive } from '../../domain/incident-lifecycle';
import { correlationRulesKind } from '../../rules/kinds/correlation-rules-kind';
import type { RuleBundle } from '../../rules/rule-bundle';
import {
  lockSettlingAlerts, lockTrackedAlerts, markSettled, readStateChanges, saveChanges, type StateChange,
  type TrackedAlert,
  type Tracking,
} from '../../store/flapping-store';
import { resolveIncidentsWithoutFiringAlerts } from '../../store/incident-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { AlertChange, FlapNote, Stage, StagedAlert } from '../stage';

/** Flapping alerts one tick settles at most; the others at the next one. */
const SETTLE_BATCH = 200;

/**
 * Tracks the state changes of alerts whose rule detects flapping (`flapping:`), at their event
 * times (changeTime: a firing's start, a resolve's end, else the receipt), so that alerts
 * replayed or delivered late flap exactly as they did live: each change is recorded in their
 * history, and a pure step (flapStep) decides whether the alert is flapping; the change goes
 * on with that note (`flap`) for the incident stage, which keeps a flapping alert in one
 * incident. Alerts that have not changed for their window settle (`settled` on the timeline)
 * at their next change (judged by event times) or at a tick (createPipelineTick: every
 * worker, every few seconds; it has no event time, so it judges by Quell's clock against the
 * time Quell applied the latest change), and their incident resolves if nothing else keeps it
 * open.
 */
export function flappingStage(rules: () => RuleBundle, metrics: PipelineMetrics): Stage {
  return {
    name: 'flapping',
    async run(alerts, ctx) {
      const now = ctx.now();
      const at = now.getTime();
      const changes = alerts.filter((a): a is AlertChange => a.event !== undefined);
      const firingPolicy = new Map<string, FlappingPolicy>();
      for (const a of changes) {
        const policy = a.correlation?.policy.flapping;
        if (a.event === 'opened' && policy !== undefined) firingPolicy.set(a.alert.fingerprint, policy);
      }
      const candidates = new Set(firingPolicy.keys());
      // Resolves carry no rule: a resolved alert is tracked if its firing was.
      if (rules().get(correlationRulesKind).tracksFlapping) {
        for (const a of changes) if (a.event === 'resolved') candidates.add(a.alert.fingerprint);
      }
      // An alert stored first in this transaction has no tracking row yet (dedup: firstSeen).
      const firstSeen = new Set(changes.filter((a) => a.firstSeen === true).map((a) => a.alert.fingerprint));
      const rows = await lockTrackedAlerts(ctx.trx, [...candidates].filter((fp) => !firstSeen.has(fp)));
      const settled = new Map<string, TrackedAlert>();
      // On ticks (runs without alerts), flapping alerts quiet for their window settle; the alerts
      // of a batch settle as they change, below (flapStep).
      if (alerts.length === 0) {
        for (const row of await lockSettlingAlerts(ctx.trx, now, SETTLE_BATCH)) settled.set(row.fingerprint, row);
      }

      const byAlert = new Map<string, AlertChange[]>();
      for (const a of changes) {
        const fp = a.alert.fingerprint;
        if (firingPolicy.has(fp) || rows.has(fp)) byAlert.set(fp, [...(byAlert.get(fp) ?? []), a]);
      }
      const policyOf = (fp: string): FlappingPolicy => firingPolicy.get(fp) ?? (rows.get(fp) as TrackedAlert).policy;
      // Each change's event time, in order per alert.
      const timeOf = new Map<AlertChange, number>();
      for (const [fp, list] of byAlert) {
        let last = rows.get(fp)?.lastEventAt;
        for (const change of list) {
          const received = Date.parse(change.receivedAt);
          last = changeTime(change.alert, Number.isFinite(received) ? received : at, last);
          timeOf.set(change, last);
        }
      }
      const longest = Math.max(0, ...[...byAlert.keys()].map((fp) => policyOf(fp).windowMs));
      const earliest = Math.min(at, ...timeOf.values());
      const since = earliest - longest;
      // History is recorded only with a tracking row (saveChanges), so untracked alerts have none.
      const trackedKeys = [...byAlert.keys()].filter((fp) => rows.has(fp));
      const recorded = await readStateChanges(ctx.trx, trackedKeys, new Date(since));
      // An alert's history: its recorded changes, and its latest, kept on its row (saveChanges).
      const history = new Map([...byAlert.keys()].map((fp) => {
        const row = rows.get(fp);
        const kept = row?.unrecordedStatus !== undefined && row.lastEventAt > since ? [row.lastEventAt] : [];
        return [fp, [...(recorded.get(fp) ?? []), ...kept]];
      }));

      const notes = new Map<AlertChange, FlapNote>();
      const records: StateChange[] = [];
      const saves: Tracking[] = [];
      for (const [fp, list] of byAlert) {
        const row = rows.get(fp);
        const swept = settled.has(fp);
        let state: FlappingState = row === undefined ? { flapping: false }
          : { flapping: row.flapping && !swept, lastChangeAt: row.lastEventAt };
        let since = state.flapping ? row?.flappingSince ?? null : null;
        let policy = policyOf(fp);
        const earlier = [...(history.get(fp) ?? [])];
        const previous = row?.incident;
        // The change the batch's first supersedes, if it was kept on the row only: recorded now.
        if (row?.unrecordedStatus !== undefined) {
          records.push({ fingerprint: fp, status: row.unrecordedStatus, at: new Date(row.lastChangeAt).toISOString(),
            eventAt: new Date(row.lastEventAt).toISOString() });
        }
        let lastStatus: AlertStatus = 'firing';
        for (const [i, change] of list.entries()) {
          if (change.event === 'opened') policy = firingPolicy.get(fp) ?? policy;
          const t = timeOf.get(change) as number;
          const step = flapStep(state, earlier, policy, t);
          if (step.settled && row !== undefined) settled.set(fp, row);
          const bounced = change.event === 'opened' && previous?.autoResolvedAt !== undefined
            && isBounce(state.lastChangeAt, policy, t);
          notes.set(change, {
            flapping: step.flapping, started: step.started, policy,
            ...(previous !== undefined && isActive(previous.status) ? { incidentId: previous.id } : {}),
            ...(bounced ? { rebound: (previous as { id: number }).id } : {}),
          });
          if (step.started) since = new Date(t).toISOString();
          if (!step.flapping) since = null;
          state = { flapping: step.flapping, lastChangeAt: t };
          earlier.push(t);
          lastStatus = change.event === 'opened' ? 'firing' : 'resolved';
          // The batch's latest change is kept on the row (saves below), not recorded.
          if (i < list.length - 1) {
            const eventAt = new Date(t).toISOString();
            records.push({ fingerprint: fp, status: lastStatus, at: now.toISOString(), eventAt });
          }
        }
        const { changes: threshold, windowMs } = policy;
        saves.push({
          fingerprint: fp, changes: threshold, windowMs, flapping: state.flapping, flappingSince: since,
          lastChangeAt: now.toISOString(), lastEventAt: new Date(state.lastChangeAt as number).toISOString(),
          settlesAt: state.flapping ? new Date(at + windowMs).toISOString() : null,
          episodeStartsAt: (list[list.length - 1] as AlertChange).episodeStartsAt, lastStatus,
        });
      }
      await markSettled(ctx.trx, [...settled.keys()].filter((fp) => !byAlert.has(fp)));
      // Later in the transaction, the tracking rows are read only for the alerts flapping (an
      // incident they hold open does not resolve: resolveIncidentsWithoutFiringAlerts). When no
      // alert starts or stops flapping, that reading is the same before and after these writes,
      // so they travel with the transaction's last statement (new alerts' first changes, mostly).
      const sameFlapping = saves.every((s) => !s.flapping && rows.get(s.fingerprint)?.flapping !== true);
      await saveChanges(ctx.trx, records, saves, sameFlapping ? ctx.later : undefined);

      // Settled alerts no longer hold their incidents open: those with nothing firing resolve.
      const events: IncidentEvent[] = [];
      const held = new Set<number>();
      for (const [fingerprint, row] of settled) {
        if (row.incident === undefined || !isActive(row.incident.status)) continue;
        events.push({ kind: 'settled', incidentId: row.incident.id, fingerprint });
        held.add(row.incident.id);
      }
      const resolved = await resolveIncidentsWithoutFiringAlerts(ctx.trx, [...held].sort((a, b) => a - b), now);
      for (const id of resolved) {
        events.push({ kind: 'resolved', incidentId: id, by: QUELL_ACTOR, reason: 'all alerts resolved' });
      }
      ctx.events.emit(...events);
      if (resolved.length > 0) ctx.afterCommit(() => metrics.incidentsResolved.inc({ by: 'auto' }, resolved.length));

      return alerts.map((a): StagedAlert => {
        if (a.event === undefined) return a;
        const flap = notes.get(a);
        return flap === undefined ? a : { ...a, flap };
      });
    },
  };
}
