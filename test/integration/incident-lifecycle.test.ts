import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { INCIDENT_STATUSES } from '../../src/domain/incident-lifecycle';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { compileRuleText } from '../../src/rules/rule-loader';
import { changeIncident } from '../../src/store/incident-store';
import { findIncident, listIncidents, timelineOfIncident } from '../../src/store/incident-queries';
import { createJobProcessor } from '../../src/worker/job-processor';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 10m
`;

let t: TestDatabase;
let apply: (job: IngestJob) => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
});
afterAll(async () => { await t.drop(); });

const alert = (
  labels: Record<string, string>, status: 'firing' | 'resolved', startsAt: string, endsAt: string | null = null,
): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status, labels, annotations: {}, startsAt, endsAt,
});
const job = (...alerts: CanonicalAlert[]): IngestJob => ({ id: randomUUID(), connector: 'test',
  receivedAt: new Date().toISOString(), alerts });
const incidentOf = async (service: string) => {
  const [incident] = (await listIncidents(t.db)).filter((i) => i.group_key === `by-service:{service="${service}"}`);
  return (await findIncident(t.db, incident!.id))!;
};
const timeline = async (id: number) => (await timelineOfIncident(t.db, id)(undefined, 100)).map((e) => e.row);

test('the CHECK constraint takes every status of the lifecycle module, and only those', async () => {
  await apply(job(alert({ alertname: 'A', service: 'check' }, 'firing', '2026-11-20T10:00:00Z')));
  const { id } = await incidentOf('check');
  for (const status of INCIDENT_STATUSES) {
    const held = status === 'on_hold' || status === 'awaiting_change';
    await t.db.transaction().execute(async (trx) => {
      await trx.updateTable('incidents').set({ status, paused_at: held ? new Date() : null, grouping_open: false })
        .where('id', '=', id).execute();
      throw new Error('rollback');
    }).catch((e: unknown) => { expect((e as Error).message).toBe('rollback'); });
  }
  await expect(sql`update incidents set status = 'closed' where id = ${id}`.execute(t.db))
    .rejects.toThrow(/incidents_status_check/);
  // paused_at is set exactly while held: the database keeps the clocks honest.
  await expect(sql`update incidents set status = 'on_hold' where id = ${id}`.execute(t.db))
    .rejects.toThrow(/incidents_paused_while_held/);
});

test('hold pauses, a held incident still takes its alerts, resume goes back to acknowledged and adds up the pause',
  async () => {
  await apply(job(alert({ alertname: 'A', service: 'held', instance: '1' }, 'firing', '2026-11-20T10:00:00Z')));
  const { id } = await incidentOf('held');
  expect(await changeIncident(t.db, id, 'resume', 'alice')).toEqual({ ok: false, reason: 'conflict', status: 'open' });
  expect(await changeIncident(t.db, id, 'acknowledge', 'alice')).toMatchObject({ ok: true });
  const hold = await changeIncident(t.db, id, { action: 'hold', state: 'awaiting_change', reason: 'CHG0042' }, 'alice');
  expect(hold).toMatchObject({ ok: true, incident: { status: 'awaiting_change' } });
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'awaiting_change' }, 'alice'))
    .toMatchObject({ ok: false, status: 'awaiting_change' });
  expect(await changeIncident(t.db, id, 'acknowledge', 'alice')).toMatchObject({ ok: false, reason: 'conflict' });
  const held = await incidentOf('held');
  expect(held.paused_at).toBeInstanceOf(Date);

  await apply(job(alert({ alertname: 'A', service: 'held', instance: '2' }, 'firing', '2026-11-20T10:01:00Z')));
  expect(await incidentOf('held')).toMatchObject({ id, status: 'awaiting_change', alert_count: 2 });

  await new Promise((r) => setTimeout(r, 20));
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'on_hold' }, 'bob')).toMatchObject({ ok: true });
  expect((await incidentOf('held')).paused_at).toEqual(held.paused_at); // one pause goes on
  expect(await changeIncident(t.db, id, 'resume', 'bob')).toMatchObject({ ok: true,
    incident: { status: 'acknowledged' } });
  const resumed = await incidentOf('held');
  expect(resumed.paused_at).toBeNull();
  expect(resumed.paused_ms).toBeGreaterThanOrEqual(20);
  const rows = (await timeline(id)).filter((e) => e.actor !== 'quell').map((e) => [e.kind, e.actor, e.detail]);
  expect(rows).toEqual([
    ['acknowledged', 'alice', {}],
    ['held', 'alice', { state: 'awaiting_change', reason: 'CHG0042' }],
    ['held', 'bob', { state: 'on_hold' }],
    ['resumed', 'bob', { status: 'acknowledged', held_ms: resumed.paused_ms }],
  ]);
});

test('an incident held before it was acknowledged resumes to open', async () => {
  await apply(job(alert({ alertname: 'A', service: 'held-open' }, 'firing', '2026-11-20T10:00:00Z')));
  const { id } = await incidentOf('held-open');
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'on_hold' }, 'alice')).toMatchObject({ ok: true });
  expect(await changeIncident(t.db, id, 'resume', 'alice')).toMatchObject({ ok: true,
    incident: { status: 'open', acknowledged_at: null } });
});

test('a held incident resolves when all its alerts resolve, its pause added up', async () => {
  const a = alert({ alertname: 'A', service: 'held-auto' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  const { id } = await incidentOf('held-auto');
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'on_hold', reason: 'vendor' }, 'alice'))
    .toMatchObject({ ok: true });
  await new Promise((r) => setTimeout(r, 20));
  await apply(job({ ...a, status: 'resolved', endsAt: '2026-11-20T10:05:00Z' }));
  const resolved = await incidentOf('held-auto');
  expect(resolved).toMatchObject({ status: 'resolved', paused_at: null });
  expect(resolved.paused_ms).toBeGreaterThanOrEqual(20);
  expect((await timeline(id)).map((e) => e.kind)).toEqual(['opened', 'held', 'alerts_resolved', 'resolved']);
});

test('resolving a held incident by hand ends its pause', async () => {
  await apply(job(alert({ alertname: 'A', service: 'held-manual' }, 'firing', '2026-11-20T10:00:00Z')));
  const { id } = await incidentOf('held-manual');
  await changeIncident(t.db, id, { action: 'hold', state: 'awaiting_change' }, 'alice');
  expect(await changeIncident(t.db, id, 'resolve', 'alice', 'change done'))
    .toMatchObject({ ok: true, incident: { status: 'resolved', paused_at: null } });
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'on_hold' }, 'alice'))
    .toMatchObject({ ok: false, status: 'resolved' });
});
