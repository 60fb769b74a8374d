import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sweepServiceLevels } from '../../src/sla/sla-sweep';
import { connectDatabase } from '../../src/store/connect';
import { migrateToLatest } from '../../src/store/migrate';
import { TIMELINE_ONLY } from '../../src/store/incident-events-commit';

/** The embedded mode (PGlite) sweeps too: its advisory lock and flags work as PostgreSQL's. */
test('a sweep on PGlite records a breach once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quell-sla-'));
  const { db } = await connectDatabase({ dataDir: dir, poolSize: 1 });
  try {
    await migrateToLatest(db);
    const opened = new Date('2026-03-02T10:00:00Z');
    const { id } = await db.insertInto('incidents').values({
      title: 'x', status: 'open', priority: 2, rule: 'r', group_key: 'g', grouping_open: false,
        group_window_seconds: 60,
      alert_count: 1, opened_at: opened, first_alert_at: opened, last_alert_at: opened,
    } as never).returning('id').executeTakeFirstOrThrow();
    const deps = {
      db, incidentEvents: TIMELINE_ONLY, escalationPolicies: () => [],
      serviceLevels: () => ({ targets: { 2: { ttr: 60_000 } }, pauseIn: [], warnAt: 0.8, notify: [] }),
    };
    const now = new Date(opened.getTime() + 120_000);
    expect(await sweepServiceLevels(deps, now)).toEqual({ leader: true, events: 1, notifications: 0 });
    expect(await sweepServiceLevels(deps, now)).toEqual({ leader: true, events: 0, notifications: 0 });
    const kinds = await db.selectFrom('incident_events').select('kind').where('incident_id', '=', id).execute();
    expect(kinds.map((k) => k.kind)).toEqual(['sla_breached']);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
