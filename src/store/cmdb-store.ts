import { sql, type Kysely, type Selectable } from 'kysely';
import type { Ci, CmdbDocument, Relation, RelationType } from '../domain/cmdb';
import type { CmdbCisTable, CmdbMetaTable, CmdbRelationsTable, Database } from './database';
import { unnest, type PgType } from './unnest';

/** Which topology is in force. */
export interface CmdbMeta {
  /** Counts up from 1 with each replace; 0: none was ever loaded. */
  readonly version: number;
  readonly hash: string;
  readonly source: string;
  readonly loadedAt: Date | null;
  readonly cis: number;
  readonly relations: number;
}

export interface CmdbReplaced extends CmdbMeta {
  /** False when the document equals the one in force (same hash): nothing was written. */
  readonly changed: boolean;
}

/**
 * The version being read was replaced meanwhile (its rows are gone). Retryable: read the
 * version now in force.
 */
export class CmdbVersionReplacedError extends Error {
  override name = 'CmdbVersionReplacedError';
  readonly retryable = true;
}

/** Rows per INSERT and per page read: large enough to be few round trips, small enough to stream. */
const BATCH = 10_000;

/** A CI's row as written: its labels as an object (unnest sends a jsonb column as one JSON document). */
type CiRow = Omit<CmdbCisTable, 'labels'> & { readonly labels: Readonly<Record<string, string>> };
type RelationRow = CmdbRelationsTable;
const CI_COLUMNS: readonly (readonly [keyof CiRow, PgType])[] = [
  ['version', 'integer'], ['ord', 'integer'], ['id', 'text'], ['type', 'text'], ['labels', 'jsonb'],
];
const RELATION_COLUMNS: readonly (readonly [keyof RelationRow, PgType])[] = [
  ['version', 'integer'], ['ord', 'integer'], ['from_ci', 'text'], ['type', 'text'], ['to_ci', 'text'],
];
const CI_COLUMN_NAMES = CI_COLUMNS.map(([name]) => name);
const RELATION_COLUMN_NAMES = RELATION_COLUMNS.map(([name]) => name);

export async function readCmdbMeta(db: Kysely<Database>): Promise<CmdbMeta> {
  return toMeta(await db.selectFrom('cmdb_meta').selectAll().where('id', '=', 1).executeTakeFirstOrThrow());
}

/**
 * Makes `doc` the topology in force, in one transaction: the next version's rows, the meta
 * row pointed at them, the older rows deleted. Replaces are serialized on the meta row, and a
 * document equal to the one in force (`hash`) changes nothing. Rows go in as `unnest` arrays
 * of {@link BATCH} rows, so 100,000 CIs are a few dozen statements.
 */
export async function replaceCmdb(
  db: Kysely<Database>, doc: CmdbDocument, hash: string, source: string,
): Promise<CmdbReplaced> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('cmdb_meta').selectAll().where('id', '=', 1).forUpdate()
      .executeTakeFirstOrThrow();
    if (current.hash === hash) return { ...toMeta(current), changed: false };
    const version = current.version + 1;
    for (let at = 0; at < doc.cis.length; at += BATCH) {
      const rows = doc.cis.slice(at, at + BATCH).map((ci, k) => ({
        version, ord: at + k, id: ci.id, type: ci.type, labels: ci.labels,
      }));
      await trx.insertInto('cmdb_cis').columns(CI_COLUMN_NAMES).expression(unnest(rows, CI_COLUMNS)).execute();
    }
    for (let at = 0; at < doc.relations.length; at += BATCH) {
      const rows = doc.relations.slice(at, at + BATCH).map((r, k) => ({
        version, ord: at + k, from_ci: r.from, type: r.type, to_ci: r.to,
      }));
      await trx.insertInto('cmdb_relations').columns(RELATION_COLUMN_NAMES).expression(unnest(rows, RELATION_COLUMNS))
        .execute();
    }
    await trx.deleteFrom('cmdb_cis').where('version', '<>', version).execute();
    await trx.deleteFrom('cmdb_relations').where('version', '<>', version).execute();
    const row = await trx.updateTable('cmdb_meta').where('id', '=', 1)
      .set({
        version, hash, source, loaded_at: sql<Date>`now()`,
        ci_count: doc.cis.length, relation_count: doc.relations.length,
      })
      .returningAll().executeTakeFirstOrThrow();
    return { ...toMeta(row), changed: true };
  });
}

/** A page of a stored topology, in document order. */
export type CmdbPage = { readonly cis: readonly Ci[] } | { readonly relations: readonly Relation[] };

/**
 * The CIs, then the relations, of version `meta`, page by page: short queries, no transaction
 * held while the caller streams a page to a slow client. Pages are ranges of `ord`, so a
 * replace committed meanwhile shows as a short page: {@link CmdbVersionReplacedError}, never
 * a mix of two versions.
 */
export async function* readCmdbPages(db: Kysely<Database>, meta: CmdbMeta, pageSize = BATCH): AsyncGenerator<CmdbPage> {
  for (let at = 0; at < meta.cis; at += pageSize) {
    const rows = await db.selectFrom('cmdb_cis').select(['id', 'type', 'labels'])
      .where('version', '=', meta.version).where('ord', '>=', at).where('ord', '<', at + pageSize)
      .orderBy('ord').execute();
    expectRows(rows.length, Math.min(pageSize, meta.cis - at), meta.version);
    yield { cis: rows };
  }
  for (let at = 0; at < meta.relations; at += pageSize) {
    const rows = await db.selectFrom('cmdb_relations').select(['from_ci', 'type', 'to_ci'])
      .where('version', '=', meta.version).where('ord', '>=', at).where('ord', '<', at + pageSize)
      .orderBy('ord').execute();
    expectRows(rows.length, Math.min(pageSize, meta.relations - at), meta.version);
    yield { relations: rows.map((r) => ({ from: r.from_ci, type: r.type as RelationType, to: r.to_ci })) };
  }
}

function expectRows(got: number, expected: number, version: number): void {
  if (got !== expected) {
    throw new CmdbVersionReplacedError(`CMDB version ${version} was replaced while it was being read`);
  }
}

function toMeta(row: Selectable<CmdbMetaTable>): CmdbMeta {
  return {
    version: row.version, hash: row.hash, source: row.source, loadedAt: row.loaded_at,
    cis: row.ci_count, relations: row.relation_count,
  };
}
