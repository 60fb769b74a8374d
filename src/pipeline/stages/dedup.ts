import { decideAll, type AlertState, type Transition } from '../../domain/alert-state';
import type { CanonicalAlert } from '../../domain/alert';
import type { DispositionDecision } from '../../domain/alert-disposition';
import {
  lockAlertStates, markStale, setDispositions, updateAlerts, writeAlerts, type AlertRow,
} from '../../store/alert-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { Stage, StagedAlert } from '../stage';

/**
 * Folds each alert into its fingerprint's stored state (locked for the transaction) and
 * passes on only what changed something: a new episode (`opened`) or its end (`resolved`).
 */
export function dedupStage(metrics: PipelineMetrics): Stage {
  return {
    name: 'dedup',
    async run(alerts, ctx) {
      const byFingerprint = byFingerprintOf(alerts);
      const decideFor = (fp: string, prev: AlertState | undefined) =>
        decideFingerprint(byFingerprint.get(fp) as StagedAlert[], prev);

      const fingerprints = [...byFingerprint.keys()];
      const given = ctx.alertStates;
      // Rows the transaction's first statement stored already, as firstRows made them.
      const stored = given?.inserted ?? NONE;
      const prev = given !== undefined && fingerprints.every((fp) => given.fingerprints.has(fp)) ? given.states
        : await lockAlertStates(ctx.trx, fingerprints.filter((fp) => !stored.has(fp)));
      const transitions: { t: Transition; receivedAt: string }[] = [];
      const updates: AlertRow[] = [];
      const fresh = new Map<string, ReturnType<typeof decideFor>>();
      for (const fp of byFingerprint.keys()) {
        const state = prev.get(fp);
        const d = decideFor(fp, state);
        if (state === undefined && !stored.has(fp)) { fresh.set(fp, d); continue; }
        transitions.push(...d.transitions);
        if (d.changed && state !== undefined) updates.push(d.row);
      }
      // A row whose episode opened here forgets the previous one's disposition (updateAlerts).
      const openedIn = (list: readonly { t: Transition }[]) =>
        new Set(list.filter((x) => x.t.kind === 'opened').map((x) => x.t.alert.fingerprint));
      const written = await writeAlerts(ctx.trx, [...fresh.values()].map((d) => d.row), updates,
        openedIn(transitions));
      const { labelChanges } = written;
      const inserted = new Set([...written.inserted, ...fingerprints.filter((fp) => stored.has(fp))]);
      for (const [fp, d] of fresh) if (inserted.has(fp)) transitions.push(...d.transitions);
      // A concurrent batch stored these first: decide again over its state.
      const raced = [...fresh.keys()].filter((fp) => !inserted.has(fp));
      if (raced.length > 0) {
        const now = await lockAlertStates(ctx.trx, raced);
        const racedTransitions: typeof transitions = [];
        const racedUpdates: AlertRow[] = [];
        for (const fp of raced) {
          const d = decideFor(fp, now.get(fp));
          racedTransitions.push(...d.transitions);
          if (d.changed) racedUpdates.push(d.row);
        }
        transitions.push(...racedTransitions);
        const more = await updateAlerts(ctx.trx, racedUpdates, openedIn(racedTransitions));
        for (const [source, n] of more) labelChanges.set(source, (labelChanges.get(source) ?? 0) + n);
      }

      const out: StagedAlert[] = [];
      let duplicates = 0;
      let stale = 0;
      for (const { t, receivedAt } of transitions) {
        if (t.kind === 'duplicate') duplicates++;
        else if (t.kind === 'stale') stale++;
        else {
          const change = { alert: t.alert, receivedAt, event: t.kind, episodeStartsAt: t.episodeStartsAt };
          out.push(inserted.has(t.alert.fingerprint) ? { ...change, firstSeen: true as const } : change);
        }
      }
      const ends = dispositionsOfEnds(transitions, inserted);
      await markStale(ctx.trx, ends.stale);
      await setDispositions(ctx.trx, ends.resolved);
      ctx.afterCommit(() => {
        metrics.deduplicated.inc(duplicates);
        metrics.stale.inc(stale);
        for (const [source, n] of labelChanges) metrics.fingerprintLabelChanges.inc({ source }, n);
      });
      return out;
    },
  };
}

const NONE: ReadonlySet<string> = new Set();

function byFingerprintOf(alerts: readonly StagedAlert[]): Map<string, StagedAlert[]> {
  const byFingerprint = new Map<string, StagedAlert[]>();
  for (const staged of alerts) {
    const list = byFingerprint.get(staged.alert.fingerprint);
    if (list) list.push(staged); else byFingerprint.set(staged.alert.fingerprint, [staged]);
  }
  return byFingerprint;
}

/** One fingerprint's alerts (in order) folded into its stored state: its row, transitions, and whether it changed. */
function decideFingerprint(list: readonly StagedAlert[], prev: AlertState | undefined) {
  const { next, transitions } = decideAll(prev, list.map((s) => s.alert));
  // decideAll answers one transition per alert, in order.
  const staged = transitions.map((t, i) => ({ t, receivedAt: (list[i] as StagedAlert).receivedAt }));
  const first = list[0] as StagedAlert;
  const last = list[list.length - 1] as StagedAlert;
  const row = toRow(last.alert, next as AlertState, first.receivedAt, last.receivedAt);
  return { row, transitions: staged, changed: next !== prev };
}

/**
 * The rows dedup stores for these alerts' fingerprints when none is stored yet (each
 * fingerprint's alerts in the order given): the transaction's first statement inserts them
 * where it finds no row (startJobBatch), sparing dedup its own insert for new alerts.
 */
export function firstRows(alerts: readonly StagedAlert[]): AlertRow[] {
  return [...byFingerprintOf(alerts).values()].map((list) => decideFingerprint(list, undefined).row);
}

function toRow(alert: CanonicalAlert, state: AlertState, firstSeenAt: string, lastSeenAt: string): AlertRow {
  return {
    fingerprint: alert.fingerprint,
    source: alert.source,
    status: state.status,
    labels: alert.labels,
    annotations: alert.annotations,
    generator_url: alert.generatorUrl ?? null,
    starts_at: state.startsAt,
    ends_at: state.endsAt,
    occurrences: state.occurrences,
    first_seen_at: firstSeenAt,
    last_seen_at: lastSeenAt,
    expires_at: state.status === 'firing' ? alert.expiresAt ?? null : null,
  };
}

/**
 * The dispositions of alerts that go no further than dedup: a firing no later than the known
 * end of its episode (`stale`: delivered out of order and ignored, but no longer silently), and
 * an alert first seen resolved (`resolved`). Alerts that open an episode in this batch are the
 * later stages' to decide.
 */
function dispositionsOfEnds(
  transitions: readonly { t: Transition; receivedAt: string }[], firstSeen: ReadonlySet<string>,
): { stale: DispositionDecision[]; resolved: DispositionDecision[] } {
  const byFingerprint = new Map<string, { t: Transition; receivedAt: string }[]>();
  for (const x of transitions) {
    const list = byFingerprint.get(x.t.alert.fingerprint);
    if (list) list.push(x); else byFingerprint.set(x.t.alert.fingerprint, [x]);
  }
  const stale: DispositionDecision[] = [];
  const resolved: DispositionDecision[] = [];
  for (const [fingerprint, list] of byFingerprint) {
    if (list.some((x) => x.t.kind === 'opened')) continue;
    const late = list.filter((x) => x.t.kind === 'stale' && x.t.alert.status === 'firing').at(-1);
    if (late !== undefined) {
      stale.push({
        fingerprint, disposition: 'stale', detail: {
          reason: 'a firing that does not start after the known end of its episode: delivered out of order, ignored',
          starts_at: late.t.alert.startsAt, episode_starts_at: late.t.episodeStartsAt, received_at: late.receivedAt,
        },
      });
    } else if (firstSeen.has(fingerprint)) {
      const detail = { reason: 'first seen resolved: its firing never reached Quell' };
      resolved.push({ fingerprint, disposition: 'resolved', detail });
    }
  }
  return { stale, resolved };
}
