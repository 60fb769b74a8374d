import { sql, type Kysely, type SqlBool } from 'kysely';
import type { AlertStatus, Labels } from '../domain/alert';
import type { AlertDisposition } from '../domain/alert-disposition';
import { matchesAll, type Matcher } from '../domain/matchers';
import type { Database } from './database';
import type { KeysetSource } from './keyset';
import { anyOf } from './unnest';

/** Stored alerts in fingerprint order (the primary key: stable, and a range scan however deep). */
export type AlertListKey = readonly [fingerprint: string];

/** One alert as `GET /api/v1/alerts` shows it: its latest state, what became of it and why. */
export interface AlertListItem {
  readonly fingerprint: string;
  readonly source: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly generator_url: string | null;
  readonly status: AlertStatus;
  readonly starts_at: Date;
  readonly ends_at: Date | null;
  readonly occurrences: number;
  readonly first_seen_at: Date;
  readonly last_seen_at: Date;
  readonly disposition: AlertDisposition | null;
  readonly disposition_detail: Record<string, unknown> | null;
  /** The incident of its latest episode, if it has one. */
  readonly incident_id: number | null;
}

export interface AlertFilters {
  readonly statuses?: readonly AlertStatus[] | undefined;
  readonly fingerprints?: readonly string[] | undefined;
  readonly dispositions?: readonly AlertDisposition[] | undefined;
  /** Alertmanager matchers, all of which must hold. */
  readonly matchers?: readonly Matcher[] | undefined;
}

/**
 * An alert's disposition as read: `incident` when its latest episode is linked to one (the
 * incident stage writes only the link, not the alert's row), unless marked `stale`, `reconciled` or
 * `expired` since; else
 * what the stages stored. `a` is the alerts row, `ia` its latest episode's incident_alerts row.
 */
const SHOWN_OVER_INCIDENT = sql`coalesce(a.disposition in ('stale', 'reconciled', 'expired'), false)`;
const DISPOSITION = sql<AlertDisposition | null>`case when ia.incident_id is not null and not ${SHOWN_OVER_INCIDENT}
  then 'incident' else a.disposition end`;
const DISPOSITION_DETAIL = sql<Record<string, unknown> | null>`case
  when ia.incident_id is not null and not ${SHOWN_OVER_INCIDENT}
  then jsonb_build_object('incident_id', ia.incident_id) else a.disposition_detail end`;

/** Rows read per call when filters may leave most of them out. */
const FILTERED_CHUNK = 500;

/**
 * Stored alerts in fingerprint order, filtered, as a keyset source that reads a bounded number
 * of rows per call and gives the ones filters leave out as `row: undefined` (see boundedPage's
 * `maxScanned`): a selective filter costs a bounded read per page, never a scan of the table.
 * Status, disposition, fingerprints and `=` / `!=` matchers are evaluated in SQL; regular
 * expressions in RE2 here, never by PostgreSQL's regex engine (the API is open to read).
 */
export function alertsInOrder(
  db: Kysely<Database>, f: AlertFilters,
): KeysetSource<AlertListKey, AlertListItem | undefined> {
  const regexes = (f.matchers ?? []).filter((m) => m.op === '=~' || m.op === '!~');
  const equalities = (f.matchers ?? []).filter((m) => m.op === '=' || m.op === '!=');
  const conditions = [
    ...(f.statuses && f.statuses.length > 0 ? [sql<SqlBool>`a.status = ${anyOf(f.statuses, 'text')}`] : []),
    ...(f.dispositions && f.dispositions.length > 0
      ? [sql<SqlBool>`${DISPOSITION} = ${anyOf(f.dispositions, 'text')}`] : []),
    ...equalities.map((m) => {
      const op = sql.raw(m.op === '=' ? '=' : '<>');
      return sql<SqlBool>`coalesce(a.labels->>${m.name}, '') ${op} ${m.value}`;
    }),
  ];
  const keep = conditions.length > 0 ? sql.join(conditions, sql` and `) : sql<SqlBool>`true`;
  const filtered = conditions.length > 0 || regexes.length > 0;
  return async (after, want) => {
    const scan = filtered ? Math.max(want, FILTERED_CHUNK) : want;
    const range = [
      ...(after ? [sql`a.fingerprint > ${after[0]}`] : []),
      ...(f.fingerprints && f.fingerprints.length > 0
        ? [sql`a.fingerprint = ${anyOf(f.fingerprints, 'text')}`] : []),
    ];
    const where = range.length > 0 ? sql`where ${sql.join(range, sql` and `)}` : sql``;
    const { rows } = await sql<{ key: string; keep: boolean } & AlertListItem>`
      select c.fingerprint as key, c.keep, a.fingerprint, a.source, a.labels, a.annotations, a.generator_url, a.status,
        a.starts_at, a.ends_at, a.occurrences, a.first_seen_at, a.last_seen_at, ${DISPOSITION} as disposition,
        ${DISPOSITION_DETAIL} as disposition_detail, ia.incident_id
      from (select a.fingerprint, ${keep} as keep from alerts a
        ${f.dispositions && f.dispositions.length > 0
          ? sql`left join incident_alerts ia on ia.fingerprint = a.fingerprint and ia.starts_at = a.starts_at` : sql``}
        ${where} order by a.fingerprint limit ${scan}) c
      left join alerts a on c.keep and a.fingerprint = c.fingerprint
      left join incident_alerts ia on ia.fingerprint = a.fingerprint and ia.starts_at = a.starts_at
      order by c.fingerprint`.execute(db);
    return rows.map(({ key, keep: kept, ...row }) => ({
      key: [key] as const,
      row: kept && matchesAll(regexes, row.labels) ? row : undefined,
    }));
  };
}

/**
 * The stored alerts of `fingerprints` as `GET /api/v1/alerts` shows them (its disposition
 * included, see DISPOSITION), by fingerprint; those not stored are absent.
 */
export async function alertsByFingerprint(
  db: Kysely<Database>, fingerprints: readonly string[],
): Promise<Map<string, AlertListItem>> {
  const out = new Map<string, AlertListItem>();
  if (fingerprints.length === 0) return out;
  const rows = await alertsInOrder(db, { fingerprints })(undefined, new Set(fingerprints).size);
  for (const { row } of rows) if (row !== undefined) out.set(row.fingerprint, row);
  return out;
}
