import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CmdbDocument } from '../../src/domain/cmdb';
import { Topology } from '../../src/domain/topology';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobProcessor } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { firingAlert } from '../support/storm';

/** The `ci` signature: the incident's root-cause CI; an incident bound to no CI falls through to the next rule. */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-run
    group_by: [alertname, run]
---
apiVersion: quell/v1
kind: ProblemRules
rules:
  - name: same-ci
    signature: ci
    min_incidents: 2
    window: 1h
  - name: same-alert
    signature: alertname_service
    min_incidents: 2
    window: 1h
`;

const CMDB: CmdbDocument = {
  cis: [{ id: 'db', type: 'database', labels: {} }, { id: 'h4', type: 'host', labels: {} }],
  relations: [{ from: 'db', type: 'runs_on', to: 'h4' }],
};

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const job = (...labels: Record<string, string>[]): IngestJob => ({
  id: randomUUID(), connector: 'alertmanager', receivedAt: new Date().toISOString(),
    alerts: labels.map((l) => firingAlert(l)),
});

test('incidents on one CI make a problem signed by the CI; unbound ones fall through to alertname_service',
  async () => {
  const metrics = createPipelineMetrics(new Registry());
  const topology = Topology.build(CMDB);
  const rules = compileRuleText('rules.yaml', RULES);
  const apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics, topology: () => topology }),
    metrics);
  await apply(job({ alertname: 'DbSlow', service: 'db', run: '1' }));
  await apply(job({ alertname: 'DbDown', service: 'db', run: '2' }));
  await apply(job({ alertname: 'WebErr', service: 'web', run: '1' }));
  await apply(job({ alertname: 'WebErr', service: 'web', run: '2' }));
  const problems = await t.db.selectFrom('problems').select(['signature', 'rule']).orderBy('id').execute();
  expect(problems).toEqual([
    { signature: 'ci:"db"', rule: 'same-ci' },
    { signature: 'alertname_service:{alertname="WebErr",service="web"}', rule: 'same-alert' },
  ]);
});
