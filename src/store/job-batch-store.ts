import { sql, type Transaction } from 'kysely';
import type { AlertState } from '../domain/alert-state';
import { alertStateOf, insertion, type AlertRow } from './alert-store';
import type { AlertStatus } from '../domain/alert';
import type { Database } from './database';
import { silencesVersionOf } from './silence-store';
import { arrayParam, unnest } from './unnest';

/** A job as its batch's first statement needs it: its id, and the fingerprints of its alerts. */
export interface BatchJob {
  readonly id: string;
  readonly fingerprints: readonly string[];
}

/** What the first statement of a worker transaction did and read (see {@link startJobBatch}). */
export interface StartedBatch {
  /** The jobs recorded by this transaction: the others were applied before (or are being, by another). */
  readonly fresh: ReadonlySet<string>;
  /** `silences_version` (StageContext.silencesVersion). */
  readonly silencesVersion: string;
  /**
   * The stored states of the fresh jobs' alerts, locked (StageContext.alertStates): `fingerprints`
   * are all of them, `states` those stored before, `inserted` those it stored.
   */
  readonly alertStates: {
    readonly fingerprints: ReadonlySet<string>;
    readonly states: Map<string, AlertState>;
    readonly inserted: ReadonlySet<string>;
  };
}

/** A row of the statement: a fresh job's id, the silences' version, a locked alert's state, or an alert inserted. */
type StartRow =
  | { readonly kind: 'job' | 'version' | 'inserted'; readonly key: string | null }
  | {
    readonly kind: 'alert'; readonly key: string; readonly status: AlertStatus; readonly starts_at: Date;
    readonly ends_at: Date | null; readonly occurrences: number;
  };

/**
 * The first statement of a worker transaction, which spares the stages their first round trips:
 * records the jobs' ids (`processed_jobs`; a job recorded before is not fresh, and applied again
 * changes nothing), then locks the stored states of the fresh jobs' alerts, in fingerprint order
 * (as dedup's lockAlertStates: all of a batch's locks are taken in one order), reads the
 * silences' version, and last inserts `firstRows` (dedup's rows for fingerprints not stored yet)
 * where no row is stored, in fingerprint order, as dedup's own insert would after these locks.
 * A fingerprint of a job that is not fresh is not inserted here (its row would be made of that
 * job's alerts too), nor is one a concurrent transaction stored after this statement began: dedup
 * decides those as before. The locks come after the ids are recorded (they are taken for the
 * fingerprints of the jobs that insert returned), as when these were separate statements.
 */
export async function startJobBatch(
  trx: Transaction<Database>, jobs: readonly BatchJob[], firstRows: readonly AlertRow[] = [],
): Promise<StartedBatch> {
  const pairs = jobs.flatMap((j) => j.fingerprints.map((fingerprint) => ({ job: j.id, fingerprint })));
  // The union's arms run in order: the insert's locks are taken after the stored rows'.
  const { rows } = await sql<StartRow>`with fresh as (
      insert into processed_jobs (id) select * from unnest(${arrayParam(jobs.map((j) => j.id), 'text')})
      on conflict (id) do nothing returning id),
    pairs as (select * from (${unnest(pairs, [['job', 'text'], ['fingerprint', 'text']])}) as j(job, fingerprint)),
    locked as (
      select fingerprint, status, starts_at, ends_at, occurrences from alerts
      where fingerprint = any(array(select p.fingerprint from pairs p join fresh on fresh.id = p.job))
      order by fingerprint for update),
    inserted as (${insertion(trx, firstRows, sql<boolean>`not exists (select from locked l
        where l.fingerprint = r.fingerprint)
      and not exists (select from pairs p
        where p.fingerprint = r.fingerprint and not exists (select from fresh where fresh.id = p.job))`)})
    select 'job' as kind, id as key, null::text as status, null::timestamptz as starts_at,
      null::timestamptz as ends_at, null::integer as occurrences from fresh
    union all select 'version', (select version::text from silences_version), null, null, null, null
    union all select 'alert', fingerprint, status, starts_at, ends_at, occurrences from locked
    union all select 'inserted', fingerprint, null, null, null, null from inserted`.execute(trx);
  const fresh = new Set<string>();
  let silencesVersion = silencesVersionOf(null);
  const states = new Map<string, AlertState>();
  const inserted = new Set<string>();
  for (const r of rows) {
    if (r.kind === 'alert') states.set(r.key, alertStateOf(r));
    else if (r.kind === 'version') silencesVersion = silencesVersionOf(r.key);
    else if (r.kind === 'inserted') inserted.add(r.key as string);
    else if (r.key !== null) fresh.add(r.key);
  }
  const fingerprints = new Set(pairs.filter((p) => fresh.has(p.job)).map((p) => p.fingerprint));
  return { fresh, silencesVersion, alertStates: { fingerprints, states, inserted } };
}
