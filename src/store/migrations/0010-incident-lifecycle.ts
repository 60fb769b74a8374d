import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * The incident lifecycle grows (src/domain/incident-lifecycle.ts): held states (`on_hold`,
 * `awaiting_change`), during which the service-level clocks pause (`paused_at` set while held,
 * `paused_ms` the time held before), and what a service desk works with: assignee, assignment
 * group, impact and urgency (1 high, 2 medium, 3 low). The statuses are written out here, not
 * read from the module: a migration stays what it was when it ran.
 */
export const incidentLifecycle: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('incidents')
      .addColumn('assignee', 'text')
      .addColumn('assignment_group', 'text')
      .addColumn('impact', 'smallint', (c) => c.check(sql`impact between 1 and 3`))
      .addColumn('urgency', 'smallint', (c) => c.check(sql`urgency between 1 and 3`))
      .addColumn('paused_at', 'timestamptz')
      .addColumn('paused_ms', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`paused_ms >= 0`))
      .execute();
    await sql`alter table incidents drop constraint incidents_status_check,
      add constraint incidents_status_check
        check (status in ('open', 'acknowledged', 'on_hold', 'awaiting_change', 'resolved')),
      add constraint incidents_paused_while_held
        check ((paused_at is not null) = (status in ('on_hold', 'awaiting_change')))`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`update incidents set status = case when acknowledged_at is null then 'open' else 'acknowledged' end
      where status in ('on_hold', 'awaiting_change')`.execute(db);
    await sql`alter table incidents drop constraint incidents_paused_while_held, drop constraint incidents_status_check,
      add constraint incidents_status_check check (status in ('open', 'acknowledged', 'resolved'))`.execute(db);
    await db.schema.alterTable('incidents').dropColumn('assignee').dropColumn('assignment_group').dropColumn('impact')
      .dropColumn('urgency').dropColumn('paused_at').dropColumn('paused_ms').execute();
  },
};
