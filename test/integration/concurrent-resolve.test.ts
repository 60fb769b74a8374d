import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobsApplier } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { firingAlert } from '../support/storm';

/**
 * Resolves and new firings of the same groups, applied concurrently in separate transactions:
 * an incident must never resolve while an alert it holds fires, nor stay open with none firing.
 */
const RULES = 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n  - name: g\n    group_by: [group]\n';
const GROUPS = 10;

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const job = (alerts: CanonicalAlert[]): IngestJob => ({ id: randomUUID(), connector: 'alertmanager',
  receivedAt: new Date().toISOString(), alerts });
const resolved = (a: CanonicalAlert, endsAt: string): CanonicalAlert => ({ ...a, status: 'resolved', endsAt });

function shuffle<T>(list: T[], seed: number): T[] {
  let s = seed;
  const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1)); [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

test('concurrent resolves and firings keep every incident consistent with its alerts', async () => {
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  const apply = createJobsApplier(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);

  const first = Array.from({ length: GROUPS * 10 }, (_, i) => firingAlert({ alertname: 'Race', group: `g${i % GROUPS}`,
    instance: `first-${i}` }, '2026-11-20T10:00:00Z'));
  await apply([job(first)]);

  // Every first alert resolves; meanwhile new alerts fire in half of the groups.
  const late = Array.from({ length: GROUPS * 3 }, (_, i) => firingAlert({ alertname: 'Race',
    group: `g${(i % (GROUPS / 2)) * 2}`, instance: `late-${i}` }, '2026-11-20T10:05:00Z'));
  const jobs = shuffle([...first.map((a) => job([resolved(a, '2026-11-20T10:04:00Z')])), ...late.map((a) => job([a]))],
    42);
  for (let i = 0; i < jobs.length; i += 8) await Promise.all(jobs.slice(i, i + 8).map((j) => apply([j])));

  const incidents = await t.db.selectFrom('incidents as i')
    .select(['i.id', 'i.status', 'i.group_key',
      sql<number>`(select count(*)::int from incident_alerts ia where ia.incident_id = i.id and ia.status = 'firing')`
        .as('firing')])
    .execute();
  for (const inc of incidents) {
    // Resolved exactly when nothing it holds fires.
    expect({ id: inc.id, status: inc.status, firing: inc.firing > 0 }).toEqual({ id: inc.id,
      status: inc.firing > 0 ? 'open' : 'resolved', firing: inc.firing > 0 });
  }
  // Every late alert fires in an open incident of its group; at most one open incident per group.
  const open = incidents.filter((i) => i.status !== 'resolved');
  expect(new Set(open.map((i) => i.group_key)).size).toBe(open.length);
  expect(open.map((i) => i.group_key).sort()).toEqual([0, 2, 4, 6, 8].map((g) => `g:{group="g${g}"}`));
  expect(open.reduce((n, i) => n + i.firing, 0)).toBe(late.length);
  // The odd groups had nothing firing late: their incidents resolved.
  expect(incidents.filter((i) => i.status === 'resolved').length).toBeGreaterThanOrEqual(GROUPS / 2);
});
