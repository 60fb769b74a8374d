import type { Transaction } from 'kysely';
import {
  decideGroup, type Arrival, type GroupPlan, type GroupState, type IncidentWindow,
} from '../../domain/group-window';
import { labelValue } from '../../domain/alert';
import type { GroupingPolicy } from '../../domain/grouping-policy';
import type { IncidentEvent } from '../../domain/incident-event';
import type { Database } from '../../store/database';
import {
  insertIncidents, lockGroups, openOrLockIncidents, readGroupingIncidents, readLatestIncidents, reopenIncidents,
  updateIncidents, type IncidentReopening, type IncidentUpdate, type Met, type NewIncident,
} from '../../store/group-store';
import {
  expirePendingAlerts, putPendingAlerts, readPendingAlerts, removePendingAlerts, type PendingAlert,
} from '../../store/pending-alert-store';
import { linkAlerts, type KeyedLink } from '../../store/incident-store';
import { expectDefined, itemAt } from '../../domain/invariant';
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
  /** The incident each alert joined; alerts left pending have none. */
  readonly incidentOf: Map<CorrelatedAlert, number>;
  /** Incidents opened and reopened, by rule. */
  readonly created: Map<string, number>;
  readonly reopened: Map<string, number>;
}

/** A group's decision for this batch. */
interface Decided {
  readonly group: Group;
  readonly plan: GroupPlan<Arriving, PendingAlert>;
}

/**
 * Places firing alerts in their groups' incidents: it reads each group's state (its incident
 * that takes alerts, its pending alerts, its latest incident), decides with the rule's policy
 * in pure code ({@link decideGroup}), and applies the decision: joins, closed windows,
 * reopened and new incidents, pending and expired alerts, and the links of the alerts placed
 * (each written by the statement that writes its incident, where it can).
 *
 * Concurrent batches are met by the database, not by timing. A group whose decision rests on
 * its incident alone (the default: `min_alerts: 1`, no reopening) gets it in one statement for
 * the whole batch, in group key order: the group's incident that takes alerts, locked, or the
 * one this batch opens, which the partial unique index on `group_key where grouping_open` makes
 * a concurrent opening wait for. Then its alerts are placed, knowing the incident. A group whose
 * decision rests on more (pending alerts, its latest resolved incident) has no row to meet on:
 * its batches take the group's lock first, then read and decide one at a time.
 */
export async function placeInGroups(
  trx: Transaction<Database>, alerts: readonly CorrelatedAlert[], now: Date,
): Promise<Placement> {
  const placement: Placement = {
    events: [], incidentOf: new Map(), created: new Map(), reopened: new Map(),
  };
  const groups = groupsOf(alerts);
  if (groups.length === 0) return placement;
  const at = now.getTime();
  const stateful = new Set(groups.filter((g) => g.policy.minAlerts > 1 || g.policy.reopenWithinMs !== undefined
    || g.arrivals.some((a) => a.rebound !== undefined)));
  await lockGroups(trx, [...stateful].map((g) => g.key));
  const decided: Decided[] = await decideStateful(trx, [...stateful], at);

  // The others: each opens the incident its alerts would open if the group had none (its plan's
  // first window, written here taking alerts, to meet concurrent openings; closed after if its
  // plan says so), or meets the one it has and is decided again over it. Their pending alerts
  // are not read: with `min_alerts: 1` a group keeps none (those left by a higher `min_alerts`
  // before a reload stay pending until they resolve, fire anew, or are pruned).
  const simple = groups.filter((g) => !stateful.has(g))
    .map((group) => ({ group, plan: decideGroup(group.policy, { pending: [] }, group.arrivals, at) }));
  const openings = simple.map(({ group, plan }) => ({
    ...newIncidentOf(group, firstWindow(plan)), groupingOpen: true,
  }));
  const met = await openOrLockIncidents(trx, openings,
    simple.flatMap(({ group, plan }) => episodesOf(firstWindow(plan)).map((e) => ({ ...e, key: group.key }))));
  const opened = new Map<Window, number>();
  simple.forEach(({ group, plan }, i) => {
    const m = met[i] as Met;
    if (m.created) {
      opened.set(firstWindow(plan), m.id);
      decided.push({ group, plan });
    } else {
      decided.push({ group, plan: decideGroup(group.policy, { pending: [], open: m.incident }, group.arrivals, at) });
    }
  });

  const ids = await apply(trx, decided, opened, now);
  place(placement, decided, ids);
  return placement;
}

/** Reads the state of groups whose locks this transaction holds, and decides each. */
async function decideStateful(trx: Transaction<Database>, groups: readonly Group[], at: number): Promise<Decided[]> {
  if (groups.length === 0) return [];
  const open = await readGroupingIncidents(trx, groups.map((g) => g.key));
  const idle = groups.filter((g) => !open.has(g.key));
  const pending = await readPendingAlerts(trx, idle.map((g) => g.key));
  const latest = await readLatestIncidents(trx, idle.map((g) => g.key));
  return groups.map((g) => {
    const o = open.get(g.key);
    const l = latest.get(g.key);
    const state: GroupState<PendingAlert> = {
      pending: pending.get(g.key) ?? [], ...(o ? { open: o } : {}), ...(l ? { latest: l } : {}),
    };
    return { group: g, plan: decideGroup(g.policy, state, g.arrivals, at) };
  });
}

/** The first window of a plan that starts from no incident: there is one, as a group that gets here has an alert. */
function firstWindow(plan: GroupPlan<Arriving, PendingAlert>): Window {
  const [w] = plan.incidents;
  if (w === undefined) throw new Error('a group with alerts and no window');
  return w;
}

/** The row that opens a window's incident. */
function newIncidentOf(g: Group, w: Window): NewIncident {
  const span = spanOfNew(w);
  const { count, firstAlertAt, lastAlertAt, priority } = span;
  return {
    title: span.first.title, priority, rule: g.rule, groupKey: g.key, groupingOpen: !w.closed,
    window: w.window, windowSeconds: Math.ceil(w.windowMs / 1000), count, firstAlertAt, lastAlertAt,
    groupingUntil: new Date(w.groupingUntil).toISOString(), service: serviceOf(w),
  };
}

/** The `service` label of the window's first arriving alert that has one (pending alerts keep no labels). */
function serviceOf(w: Window): string | null {
  for (const a of w.arrivals) {
    const service = labelValue(a.staged.alert.labels, 'service');
    if (service !== '') return service;
  }
  return null;
}

/**
 * Writes the decisions: updates of incidents (joins, closed windows; first, so that a group's
 * incident closes before its next one opens), reopenings, new incidents, each with the links of
 * its alerts, and pending alerts. `opened` are the windows already written, with their links;
 * returns the ids of all new incidents.
 */
async function apply(
  trx: Transaction<Database>, decided: readonly Decided[], opened: ReadonlyMap<Window, number>, now: Date,
): Promise<Map<Window, number>> {
  const updates: IncidentUpdate[] = [];
  const reopenings: IncidentReopening[] = [];
  const links: { updates: KeyedLink[]; reopenings: KeyedLink[] } = { updates: [], reopenings: [] };
  const inserts: { w: Window; row: NewIncident }[] = [];
  const toPend: (PendingAlert & { expired: boolean })[] = [];
  const toExpire: PendingAlert[] = [];
  const toRemove: PendingAlert[] = [];
  for (const { group, plan } of decided) {
    for (const w of plan.incidents) {
      const window = { groupingUntil: new Date(w.groupingUntil).toISOString(), groupingOpen: !w.closed };
      const id = opened.get(w);
      if (id !== undefined) {
        if (w.closed) updates.push({ id, ...NO_ALERTS, ...window });
      } else if (w.target.kind === 'new') {
        inserts.push({ w, row: newIncidentOf(group, w) });
      } else {
        const { count, firstAlertAt, lastAlertAt, priority } = spanOf(w) ?? NO_ALERTS;
        const update = { id: w.target.id, count, firstAlertAt, lastAlertAt, priority, ...window };
        if (w.target.kind === 'existing') updates.push(update);
        else reopenings.push({ ...update, window: w.window, windowSeconds: Math.ceil(w.windowMs / 1000) });
        const key = String(w.target.id);
        const to = w.target.kind === 'existing' ? links.updates : links.reopenings;
        to.push(...episodesOf(w).map((e) => ({ ...e, key })));
      }
      if (w.target.kind === 'new') toRemove.push(...w.pending);
    }
    for (const a of plan.pending) toPend.push({ ...a, expired: false });
    for (const m of plan.expired) {
      if ('staged' in m) toPend.push({ ...m, expired: true });
      else toExpire.push(m);
    }
  }

  // The incidents were locked (read, or met) and the groups' locks are held: a mismatch is a bug.
  const updated = await updateIncidents(trx, updates, true, links.updates);
  const reopened = await reopenIncidents(trx, reopenings, links.reopenings);
  if (updated.size < updates.length || reopened.size < reopenings.length) {
    throw new Error('incidents changed under their locks');
  }
  const ids = new Map(opened);
  const inserted = await insertIncidents(trx, inserts.map((i) => i.row));
  inserts.forEach((i, n) => ids.set(i.w, itemAt(inserted, n, 'inserted incidents')));
  await linkAlerts(trx, inserts.flatMap(({ w }) => {
    const incidentId = expectDefined(ids.get(w), 'an inserted incident');
    return episodesOf(w).map((e) => ({ ...e, incidentId }));
  }));
  await putPendingAlerts(trx, toPend, now);
  await expirePendingAlerts(trx, toExpire.map(episodeOf));
  await removePendingAlerts(trx, toRemove.map(episodeOf));
  return ids;
}

/** Adds the events, links and counts of applied decisions to the placement. */
function place(placement: Placement, decided: readonly Decided[], ids: ReadonlyMap<Window, number>): void {
  for (const { group, plan } of decided) {
    for (const w of plan.incidents) {
      const id = w.target.kind === 'new' ? ids.get(w) as number : w.target.id;
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
      for (const m of members) if ('staged' in m) placement.incidentOf.set(m.staged, id);
    }
  }
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

/** A window's alerts as episodes to link to its incident (pending first, as its timeline names them). */
const episodesOf = (w: Window): Omit<KeyedLink, 'key'>[] => [...w.pending, ...w.arrivals]
  .map(({ fingerprint, episodeStartsAt: startsAt, receivedAt }) => ({ fingerprint, startsAt, receivedAt }));

const episodeOf = (p: PendingAlert) => ({ fingerprint: p.fingerprint, startsAt: p.episodeStartsAt });

function tally(counts: Map<string, number>, rule: string): void {
  counts.set(rule, (counts.get(rule) ?? 0) + 1);
}
