import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './database';
import { initial } from './migrations/0001-initial';
import { readKeysets } from './migrations/0002-read-keysets';
import { cmdb } from './migrations/0003-cmdb';
import { suppression } from './migrations/0004-suppression';
import { windows } from './migrations/0005-windows';
import { incidentTopology } from './migrations/0006-incident-topology';
import { flappingEventTime } from './migrations/0007-flapping-event-time';
import { topologyNear } from './migrations/0008-topology-near';
import { runbooks } from './migrations/0009-runbooks';
import { incidentLifecycle } from './migrations/0010-incident-lifecycle';
import { problems } from './migrations/0011-problems';
import { serviceLevels } from './migrations/0012-service-levels';
import { reports } from './migrations/0013-reports';
import { alertExpiry } from './migrations/0015-alert-expiry';
import { flappingLatestChange } from './migrations/0016-flapping-latest-change';
import { updateRoom } from './migrations/0017-update-room';

/** Every migration, in order. A new one is a new file in migrations/ and one line here. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-initial': initial,
  '0002-read-keysets': readKeysets,
  '0003-cmdb': cmdb,
  '0004-suppression': suppression,
  '0005-windows': windows,
  '0006-incident-topology': incidentTopology,
  '0007-flapping-event-time': flappingEventTime,
  '0008-topology-near': topologyNear,
  '0009-runbooks': runbooks,
  '0010-incident-lifecycle': incidentLifecycle,
  '0011-problems': problems,
  '0012-service-levels': serviceLevels,
  '0013-reports': reports,
  '0015-alert-expiry': alertExpiry,
  '0016-flapping-latest-change': flappingLatestChange,
  '0017-update-room': updateRoom,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };

/** Brings the schema up to date; returns the names applied. Safe to run from several processes at once. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  // Migrations are independent of each other: one added between two applied ones still applies.
  const { error, results } = await new Migrator({ db, provider, allowUnorderedMigrations: true }).migrateToLatest();
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever else was thrown, as text
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
