import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { Topology } from '../../src/domain/topology';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobProcessor } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * An incident's `service` (what reports count by) is set when it opens: its alerts' label, else its root-cause
 * CI's.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-alertname
    group_by: [alertname]
`;

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const alert = (labels: Record<string, string>): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
  startsAt: '2026-11-20T10:00:00Z', endsAt: null,
});

test('from the alerts service label, else the root-cause CI service label, else none', async () => {
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  const topology = Topology.build({ cis: [{ id: 'h1', type: 'host', labels: { service: 'storage' } }], relations: [] });
  const apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics, topology: () => topology }),
    metrics);
  const job: IngestJob = {
    id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(),
    alerts: [
      alert({ alertname: 'A', instance: 'x1' }), alert({ alertname: 'A', service: 'checkout', instance: 'x2' }),
      alert({ alertname: 'B', instance: 'h1' }),
      alert({ alertname: 'C', instance: 'h1', service: 'web' }),
      alert({ alertname: 'D', instance: 'nowhere' }),
    ],
  };
  await apply(job);
  const rows = await t.db.selectFrom('incidents').select(['title', 'group_key', 'service']).orderBy('group_key')
    .execute();
  expect(rows.map((r) => [r.group_key, r.service])).toEqual([
    ['by-alertname:{alertname="A"}', 'checkout'],
    ['by-alertname:{alertname="B"}', 'storage'],
    ['by-alertname:{alertname="C"}', 'web'],
    ['by-alertname:{alertname="D"}', null],
  ]);
});
