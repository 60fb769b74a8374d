import type { Transaction } from 'kysely';
import {
  decideGroup, type Arrival, type GroupState, type IncidentWindow, type LatestIncident,
} from '../../domain/group-window';
import type { GroupingPolicy } from '../../domain/grouping-policy';
import type { IncidentEvent } from '../../domain/incident-event';
import type { Database } from '../../store/database';
import {
  expirePendingAlerts, insertIncidents, lockGroups, putPendingAlerts, readGroupingIncidents, readLatestIncidents,
  readPendingAlerts, removePendingAlerts, reopenIncidents, updateIncidents,
  type IncidentReopening, type IncidentUpdate, type NewIncident, type PendingAlert,
} from '../../store/group-store';
import type { NewLink } from '../../store/incident-store';
import { ConcurrentChangeError } from '../../store/pg-errors';
import type { CorrelatedAlert } from '../stage';

/** A batch's firing alert as the group decision sees it, with what a pending row would hold. */
interface Arriving extends Arrival, PendingAlert {
  readonly staged: CorrelatedAlert;
}

/** An alert of a window: arrived in this batch, or pending from earlier ones. */
type Member = Arriving | PendingAlert;
type Window = IncidentWindow<Arriving, PendingAlert>;

/** A group's alerts of the batch, with its rule's policy (one rule makes a group key). */
interface Group {
  readonly key: string;
  readonly rule: string;
  readonly policy: GroupingPolicy;
  readonly arrivals: Arriving[];
}

/** What placing a batch's firing alerts in their groups did. */
export interface Placement {
  readonly events: IncidentEvent[];
  readonly links: NewLink[];
  /** The incident each alert joined; alerts left pending have none. */
  readonly incidentOf: Map<CorrelatedAlert, number>;
  /** Incidents opened and reopened, by rule. */
  readonly created: Map<string, number>;
  readonly reopened: Map<string, number>;
}

/**
 * Places firing alerts in their groups' incidents: holding each group's locks, it reads the
 * group's state (its incident that takes alerts, its pending alerts, its latest incident),
 * decides with the rule's policy in pure code ({@link decideGroup}), and applies the decision:
 * joins, closed windows, reopened and new incidents, pending and expired alerts. The links
 * are returned, for the caller to write with its own.
 */
export async function placeInGroups(
  trx: Transaction<Database>, alerts: readonly CorrelatedAlert[], now: Date,
): Promise<Placement> {
  const placement: Placement = {
    events: [], links: [], incidentOf: new Map(), created: new Map(), reopened: new Map(),
  };
  const groups = groupsOf(alerts);
  if (groups.length === 0) return placement;
  const keys = groups.map((g) => g.key);

  // Alerts that join the incident their group has, within its window, take no group lock: the
  // update that joins them checks the incident still takes alerts (else the batch runs again).
  // Groups with no such incident, or an alert past its window, may start a window: they take
  // the group locks first, then their rows, and are read again under them.
  const open = await readGroupingIncidents(trx, keys, false);
  const unsettled = groups.filter((g) => {
    const o = open.get(g.key);
    return o === undefined || g.arrivals.some((a) => a.startsAt > o.groupingUntil);
  }).map((g) => g.key);
  let pending = new Map<string, PendingAlert[]>();
  let latest = new Map<string, LatestIncident>();
  if (unsettled.length > 0) {
    await lockGroups(trx, unsettled);
    const current = await readGroupingIncidents(trx, unsettled, true);
    for (const key of unsettled) {
      const o = current.get(key);
      if (o === undefined) open.delete(key);
      else open.set(key, o);
    }
    const idle = groups.filter((g) => !open.has(g.key));
    pending = await readPendingAlerts(trx, idle.map((g) => g.key));
    const mayReopen = idle.filter((g) =>
      g.policy.reopenWithinMs !== undefined || g.arrivals.some((a) => a.rebound !== undefined));
    latest = await readLatestIncidents(trx, mayReopen.map((g) => g.key));
  }
  const locked = new Set(unsettled);

  const at = now.getTime();
  const decided = groups.map((g) => {
    const o = open.get(g.key);
    const l = latest.get(g.key);
    const state: GroupState<PendingAlert> = {
      pending: pending.get(g.key) ?? [], ...(o ? { open: o } : {}), ...(l ? { latest: l } : {}),
    };
    const plan = decideGroup(g.policy, state, g.arrivals, at);
    // Only alerts within the incident's window came without the group lock: they join it.
    if (!locked.has(g.key) && (plan.incidents.length !== 1 || plan.incidents[0]?.closed !== false)) {
      throw new Error(`group ${g.key} would start a window without its lock`);
    }
    return { group: g, plan };
  });

  const updates: IncidentUpdate[] = [];
  const reopenings: IncidentReopening[] = [];
  const inserts: NewIncident[] = [];
  const toPend: (PendingAlert & { expired: boolean })[] = [];
  const toExpire: PendingAlert[] = [];
  const toRemove: PendingAlert[] = [];
  for (const { group, plan } of decided) {
    for (const w of plan.incidents) {
      const window = { groupingUntil: new Date(w.groupingUntil).toISOString(), groupingOpen: !w.closed };
      const windowSeconds = Math.ceil(w.windowMs / 1000);
      if (w.target.kind !== 'new') {
        const { count, firstAlertAt, lastAlertAt, priority } = spanOf(w) ?? NO_ALERTS;
        const update = { id: w.target.id, count, firstAlertAt, lastAlertAt, priority, ...window };
        if (w.target.kind === 'existing') updates.push(update);
        else reopenings.push({ ...update, window: w.window, windowSeconds });
      } else {
        const span = spanOfNew(w);
        const { count, firstAlertAt, lastAlertAt, priority } = span;
        inserts.push({
          ...window, title: span.first.title, priority, rule: group.rule, groupKey: group.key,
          window: w.window, windowSeconds, count, firstAlertAt, lastAlertAt,
        });
        toRemove.push(...w.pending);
      }
    }
    for (const a of plan.pending) toPend.push({ ...a, expired: false });
    for (const m of plan.expired) {
      if ('staged' in m) toPend.push({ ...m, expired: true });
      else toExpire.push(m);
    }
  }

  const updated = await updateIncidents(trx, updates, true);
  if (updated.size < updates.length) {
    throw new ConcurrentChangeError('an incident stopped taking alerts while a batch joined alerts to it');
  }
  await reopenIncidents(trx, reopenings);
  const ids = await insertIncidents(trx, inserts);
  await putPendingAlerts(trx, toPend, now);
  await expirePendingAlerts(trx, toExpire.map(episodeOf));
  await removePendingAlerts(trx, toRemove.map(episodeOf));

  let inserted = 0;
  for (const { group, plan } of decided) {
    for (const w of plan.incidents) {
      const id = w.target.kind === 'new' ? ids[inserted++] as number : w.target.id;
      const members: Member[] = w.pending.length === 0 ? [...w.arrivals] : [...w.pending, ...w.arrivals];
      const fingerprints = members.map((m) => m.fingerprint);
      if (w.target.kind === 'existing') {
        if (w.arrivals.length > 0) placement.events.push({ kind: 'alerts_linked', incidentId: id, fingerprints });
      } else if (w.target.kind === 'reopen') {
        const target = w.target.id;
        const rebound = w.arrivals.some((a) => a.rebound === target);
        const reason = rebound ? 'an alert fired again within its flapping window'
          : 'the group fired again within reopen_within';
        placement.events.push({ kind: 'reopened', incidentId: id, fingerprints, reason });
        tally(placement.reopened, group.rule);
      } else {
        const span = spanOfNew(w);
        placement.events.push({
          kind: 'opened', incidentId: id, rule: group.rule, groupKey: group.key, title: span.first.title,
          priority: span.priority, fingerprints,
        });
        tally(placement.created, group.rule);
      }
      if (w.closed) placement.events.push({ kind: 'grouping_closed', incidentId: id, reason: 'group_window passed' });
      for (const m of members) {
        const { fingerprint, episodeStartsAt: startsAt, receivedAt } = m;
        placement.links.push({ fingerprint, startsAt, incidentId: id, receivedAt });
        if ('staged' in m) placement.incidentOf.set(m.staged, id);
      }
    }
  }
  return placement;
}

/** The batch's alerts by group, in group key order (the order of the group locks). */
function groupsOf(alerts: readonly CorrelatedAlert[]): Group[] {
  const groups = new Map<string, Group>();
  for (const staged of alerts) {
    const c = staged.correlation;
    let g = groups.get(c.groupKey);
    if (g === undefined) {
      g = { key: c.groupKey, rule: c.rule, policy: c.policy, arrivals: [] };
      groups.set(c.groupKey, g);
    }
    const arriving: Arriving = {
      fingerprint: staged.alert.fingerprint, startsAt: Date.parse(staged.episodeStartsAt), staged,
      groupKey: c.groupKey, rule: c.rule, title: c.title, priority: c.priority,
      episodeStartsAt: staged.episodeStartsAt, receivedAt: staged.receivedAt,
    };
    const rebound = staged.flap?.rebound;
    g.arrivals.push(rebound === undefined ? arriving : { ...arriving, rebound });
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

interface Span {
  readonly count: number;
  readonly firstAlertAt: string;
  readonly lastAlertAt: string;
  readonly priority: number;
  /** The member that started first (its title names a new incident). */
  readonly first: Member;
}

/** What a window's members give its incident: their count, first and last start, best priority. */
function spanOf(w: Window): Span | undefined {
  let first: Member | undefined;
  let last: Member | undefined;
  let priority = Infinity;
  let count = 0;
  for (const list of [w.pending, w.arrivals]) {
    for (const m of list) {
      count++;
      if (first === undefined || m.startsAt < first.startsAt) first = m;
      if (last === undefined || m.startsAt > last.startsAt) last = m;
      priority = Math.min(priority, m.priority);
    }
  }
  if (first === undefined || last === undefined) return undefined;
  return { count, firstAlertAt: first.episodeStartsAt, lastAlertAt: last.episodeStartsAt, priority, first };
}

/** A new incident's span: its window always has an alert. */
function spanOfNew(w: Window): Span {
  const span = spanOf(w);
  if (span === undefined) throw new Error('a new incident without alerts');
  return span;
}

const NO_ALERTS = { count: 0, firstAlertAt: null, lastAlertAt: null, priority: null } as const;

const episodeOf = (p: PendingAlert) => ({ fingerprint: p.fingerprint, startsAt: p.episodeStartsAt });

function tally(counts: Map<string, number>, rule: string): void {
  counts.set(rule, (counts.get(rule) ?? 0) + 1);
}
