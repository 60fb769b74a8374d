import { sql, type Transaction } from 'kysely';
import { QUELL_ACTOR } from '../domain/incident-event';
import type { ProblemEvent } from '../domain/problem-event';
import { ACTIVE_PROBLEM_STATUSES } from '../domain/problem-lifecycle';
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
 * batch's size: records each hit as an occurrence of its signature; a signature with an active
 * problem links its incidents to it; any other whose occurrences in its rule's window reach
 * `min_incidents` opens a problem linking them all. New incidents of a known error get its
 * workaround (returned: the caller emits their `known_error` incident events). Exactly once
 * under concurrent batches: the signatures' locks are held from counting to commit.
 */
export async function detectProblems(trx: Trx, hits: readonly ProblemHit[], now: Date): Promise<KnownErrorApplied[]> {
  if (hits.length === 0) return [];
  const bySignature = new Map<string, ProblemHit[]>();
  for (const h of hits) {
    const list = bySignature.get(h.signature);
    if (list === undefined) bySignature.set(h.signature, [h]); else list.push(h);
  }
  const signatures = [...bySignature.keys()].sort();
  await lockSignatures(trx, signatures, now);

  await trx.insertInto('problem_occurrences').columns(['signature', 'incident_id', 'at'])
    .expression(unnest(hits.map((h) => ({ signature: h.signature, incidentId: h.incidentId, at: now.toISOString() })),
      [['signature', 'text'], ['incidentId', 'integer'], ['at', 'timestamptz']]))
    .onConflict((oc) => oc.columns(['signature', 'incident_id']).doNothing())
    .execute();

  const active = new Map((await trx.selectFrom('problems')
    .select(['id', 'signature', 'status', 'workaround', 'workaround_runbook'])
    .where('signature', 'in', signatures).where('status', 'in', [...ACTIVE_PROBLEM_STATUSES])
    .execute()).map((p) => [p.signature as string, p]));

  const events: ProblemEvent[] = [];
  const links: { problemId: number; incidentId: number }[] = [];
  const knownErrors: KnownErrorApplied[] = [];
  for (const [signature, list] of bySignature) {
    const p = active.get(signature);
    if (p === undefined) continue;
    for (const h of list) {
      links.push({ problemId: p.id, incidentId: h.incidentId });
      if (p.status === 'known_error' && p.workaround !== null) {
        knownErrors.push({
          incidentId: h.incidentId, problemId: p.id, workaround: p.workaround,
          ...(p.workaround_runbook !== null ? { runbook: p.workaround_runbook } : {}),
        });
      }
    }
  }

  const quiet = signatures.filter((s) => !active.has(s));
  const opened = await openRecurring(trx, quiet.map((s) => bySignature.get(s)![0]!), now);
  for (const o of opened) {
    links.push(...o.incidentIds.map((incidentId) => ({ problemId: o.problemId, incidentId })));
    events.push({ kind: 'opened', problemId: o.problemId, by: QUELL_ACTOR, signature: o.signature, rule: o.rule, incidentIds: o.incidentIds });
  }

  const linked = await linkIncidents(trx, links, QUELL_ACTOR);
  const openedIds = new Set(opened.map((o) => o.problemId));
  const newly = new Map<number, number[]>();
  for (const l of linked) {
    if (openedIds.has(l.problemId)) continue;
    const list = newly.get(l.problemId);
    if (list === undefined) newly.set(l.problemId, [l.incidentId]); else list.push(l.incidentId);
  }
  for (const [problemId, incidentIds] of newly) events.push({ kind: 'incidents_linked', problemId, by: QUELL_ACTOR, incidentIds });

  const fresh = new Set(linked.map((l) => `${l.problemId}:${l.incidentId}`));
  const applied = await applyWorkarounds(trx, knownErrors.filter((k) => fresh.has(`${k.problemId}:${k.incidentId}`)));
  const appliedBy = new Map<number, number[]>();
  for (const a of applied) {
    const list = appliedBy.get(a.problemId);
    if (list === undefined) appliedBy.set(a.problemId, [a.incidentId]); else list.push(a.incidentId);
  }
  for (const [problemId, incidentIds] of appliedBy) events.push({ kind: 'workaround_applied', problemId, incidentIds });
  await appendProblemEvents(trx, events);
  return applied;
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
    })), [['title', 'text'], ['signature', 'text'], ['rule', 'text'], ['by', 'text'], ['at', 'timestamptz'], ['updated', 'timestamptz']]))
    // The index is the final word; under the signature's lock no other detection can conflict.
    .onConflict((oc) => oc.column('signature').where(ACTIVE_PREDICATE).doNothing())
    .returning(['id', 'signature']).execute();
  const bySig = new Map(toOpen.map((t) => [t.hit.signature, t]));
  return inserted.map((p) => {
    const t = bySig.get(p.signature as string)!;
    return { problemId: p.id, signature: t.hit.signature, rule: t.hit.rule.name, incidentIds: t.incidentIds };
  });
}
