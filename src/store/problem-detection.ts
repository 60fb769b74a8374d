import { sql, type Transaction } from 'kysely';
import { QUELL_ACTOR } from '../domain/incident-event';
import { expectDefined, itemAt } from '../domain/invariant';
import type { ProblemEvent } from '../domain/problem-event';
import { recurrence, type Occurrence } from '../domain/problem-recurrence';
import type { ProblemRule } from '../rules/problem-rule-set';
import type { Database } from './database';
import {
  appendProblemEvents, applyWorkarounds, linkIncidents, lockSignatures, type KnownErrorApplied,
} from './problem-store';
import { unnest } from './unnest';

type Trx = Transaction<Database>;

/** The predicate of `problems_one_active_per_signature`, as written (ON CONFLICT infers the index from it). */
export const ACTIVE_PREDICATE = sql<boolean>`status in ('open', 'known_error')`;

/** An incident that opened or reopened in the batch, with its signature under the rule that took it. */
export interface ProblemHit {
  readonly incidentId: number;
  readonly signature: string;
  readonly rule: ProblemRule;
  /** The title of the problem, should this incident's recurrence open one. */
  readonly title: string;
}

/**
 * Problem detection for one batch, in the batch's transaction, in a few statements whatever the
 * batch's size. A signature with an active problem links its incidents to it (no lock: the
 * problem is committed). Any other is counted under its lock: its incidents become occurrences,
 * and when those in the rule's window reach `min_incidents` a problem opens linking them all (the
 * occurrences are then used up: once it is resolved or closed, counting starts afresh). New
 * incidents of a known error get its workaround (returned: the caller emits their `known_error`
 * incident events). Exactly once under concurrent batches: a signature's lock is held from
 * counting to commit, and whoever waited for it looks for the active problem again.
 */
export async function detectProblems(trx: Trx, hits: readonly ProblemHit[], now: Date): Promise<KnownErrorApplied[]> {
  if (hits.length === 0) return [];
  const bySignature = new Map<string, ProblemHit[]>();
  for (const h of hits) {
    const list = bySignature.get(h.signature);
    if (list === undefined) bySignature.set(h.signature, [h]); else list.push(h);
  }
  const active = await activeProblems(trx, [...bySignature.keys()]);
  let quiet = [...bySignature.keys()].filter((s) => !active.has(s)).sort();
  let opened: OpenedProblem[] = [];
  if (quiet.length > 0) {
    await lockSignatures(trx, quiet, now);
    for (const [signature, p] of await activeProblems(trx, quiet)) active.set(signature, p); // opened while we waited
    quiet = quiet.filter((s) => !active.has(s));
    const counted = quiet.flatMap((s) => expectDefined(bySignature.get(s), 'hits of a signature'));
    if (counted.length > 0) {
      await trx.insertInto('problem_occurrences').columns(['signature', 'incident_id', 'at'])
        .expression(unnest(
          counted.map((h) => ({ signature: h.signature, incidentId: h.incidentId, at: now.toISOString() })),
          [['signature', 'text'], ['incidentId', 'integer'], ['at', 'timestamptz']],
        ))
        .onConflict((oc) => oc.columns(['signature', 'incident_id']).doNothing())
        .execute();
      const firsts = quiet.map((s) => itemAt(expectDefined(bySignature.get(s), 'hits of a signature'), 0, 'hits'));
      opened = await openRecurring(trx, firsts, now);
    }
  }

  const events: ProblemEvent[] = [];
  const links: { problemId: number; incidentId: number }[] = [];
  const knownErrors: KnownErrorApplied[] = [];
  for (const [signature, p] of active) {
    for (const h of expectDefined(bySignature.get(signature), 'hits of a signature')) {
      links.push({ problemId: p.id, incidentId: h.incidentId });
      if (p.status === 'known_error' && p.workaround !== null) {
        knownErrors.push({
          incidentId: h.incidentId, problemId: p.id, workaround: p.workaround,
          ...(p.workaround_runbook !== null ? { runbook: p.workaround_runbook } : {}),
        });
      }
    }
  }
  for (const o of opened) {
    links.push(...o.incidentIds.map((incidentId) => ({ problemId: o.problemId, incidentId })));
    events.push({
      kind: 'opened', problemId: o.problemId, by: QUELL_ACTOR, signature: o.signature, rule: o.rule,
      incidentIds: o.incidentIds,
    });
  }

  const linked = await linkIncidents(trx, links, QUELL_ACTOR);
  const openedIds = new Set(opened.map((o) => o.problemId));
  for (const [problemId, incidentIds] of byProblem(linked.filter((l) => !openedIds.has(l.problemId)))) {
    events.push({ kind: 'incidents_linked', problemId, by: QUELL_ACTOR, incidentIds });
  }
  const fresh = new Set(linked.map((l) => `${l.problemId}:${l.incidentId}`));
  const applied = await applyWorkarounds(trx, knownErrors.filter((k) => fresh.has(`${k.problemId}:${k.incidentId}`)));
  for (const [problemId, incidentIds] of byProblem(applied)) {
    events.push({ kind: 'workaround_applied', problemId, incidentIds });
  }
  await appendProblemEvents(trx, events);
  return applied;
}

type ActiveProblem = { id: number; status: string; workaround: string | null; workaround_runbook: string | null };

/** The active problems of these signatures, by signature. */
async function activeProblems(trx: Trx, signatures: readonly string[]): Promise<Map<string, ActiveProblem>> {
  const rows = await trx.selectFrom('problems')
    .select(['id', 'signature', 'status', 'workaround', 'workaround_runbook'])
    .where('signature', 'in', [...signatures]).where(ACTIVE_PREDICATE).execute();
  return new Map(rows.map(({ signature, ...p }) => [signature as string, p]));
}

/** Incident ids grouped by problem, in the order given. */
function byProblem(
  pairs: readonly { readonly problemId: number; readonly incidentId: number }[],
): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const { problemId, incidentId } of pairs) {
    const list = out.get(problemId);
    if (list === undefined) out.set(problemId, [incidentId]); else list.push(incidentId);
  }
  return out;
}

interface OpenedProblem {
  readonly problemId: number;
  readonly signature: string;
  readonly rule: string;
  readonly incidentIds: readonly number[];
}

/** Opens a problem for each signature (given by one hit) whose recurrence reaches its rule's threshold. */
async function openRecurring(trx: Trx, firsts: readonly ProblemHit[], now: Date): Promise<OpenedProblem[]> {
  if (firsts.length === 0) return [];
  const widest = Math.max(...firsts.map((h) => h.rule.windowMs));
  const rows = await trx.selectFrom('problem_occurrences').select(['signature', 'incident_id', 'at'])
    .where('signature', 'in', firsts.map((h) => h.signature))
    .where('at', '>', new Date(now.getTime() - widest)).execute();
  const occurrences = new Map<string, Occurrence[]>();
  for (const r of rows) {
    const list = occurrences.get(r.signature);
    const o = { incidentId: r.incident_id, at: r.at };
    if (list === undefined) occurrences.set(r.signature, [o]); else list.push(o);
  }
  const toOpen: { hit: ProblemHit; incidentIds: readonly number[] }[] = [];
  for (const hit of firsts) {
    const r = recurrence(occurrences.get(hit.signature) ?? [], now, hit.rule);
    if (r.opens) toOpen.push({ hit, incidentIds: r.incidentIds });
  }
  if (toOpen.length === 0) return [];
  const at = now.toISOString();
  const inserted = await trx.insertInto('problems')
    .columns(['title', 'signature', 'rule', 'opened_by', 'opened_at', 'updated_at'])
    .expression(unnest(toOpen.map(({ hit }) => ({
      title: hit.title, signature: hit.signature, rule: hit.rule.name, by: QUELL_ACTOR, at, updated: at,
    })), [
      ['title', 'text'], ['signature', 'text'], ['rule', 'text'], ['by', 'text'], ['at', 'timestamptz'],
      ['updated', 'timestamptz'],
    ]))
    // The index is the final word; under the signature's lock no other detection can conflict.
    .onConflict((oc) => oc.column('signature').where(ACTIVE_PREDICATE).doNothing())
    .returning(['id', 'signature']).execute();
  // Its incidents are in the problem now: they count toward no later one.
  if (inserted.length > 0) {
    await trx.deleteFrom('problem_occurrences').where('signature', 'in', inserted.map((p) => p.signature as string))
      .execute();
  }
  const bySig = new Map(toOpen.map((t) => [t.hit.signature, t]));
  return inserted.map((p) => {
    const t = expectDefined(bySig.get(p.signature as string), 'the opened problem');
    return { problemId: p.id, signature: t.hit.signature, rule: t.hit.rule.name, incidentIds: t.incidentIds };
  });
}
