/**
 * `npm run bench:rules`: the pure cost of correlation, no I/O. Compiles RULES rules (1,000) of
 * the shapes SREs write (an `alertname` equality or word alternation, regexes on other labels,
 * negations, group_by), then correlates ALERTS alerts (100,000) with a CMDB of CIS CIs bound
 * (100,000), on one core, and prints alerts/s and the time per alert. Settings: RULES, ALERTS,
 * CIS, SEED.
 */
import { performance } from 'node:perf_hooks';
import type { CmdbDocument } from '../src/domain/cmdb';
import { itemAt } from '../src/domain/invariant';
import { Topology } from '../src/domain/topology';
import { correlationRulesKind } from '../src/rules/kinds/correlation-rules-kind';
import { compileRuleText } from '../src/rules/rule-loader';
import { seededRandom } from '../test/quality/seeded-random';

const num = (name: string, def: number): number => Number(process.env[name] ?? def);
const RULES = num('RULES', 1000);
const ALERTS = num('ALERTS', 100_000);
const CIS = num('CIS', 100_000);
const rnd = seededRandom(num('SEED', 1));

const names = Array.from({ length: 400 }, (_, i) => `Alert${i}`);
const rules: string[] = ['apiVersion: quell/v1', 'kind: CorrelationRules', 'rules:',
  '  - name: topology', '    topology: { max_hops: 2 }'];
for (let r = 0; r < RULES; r++) {
  const matchers = rnd.chance(0.7)
    ? [`alertname="${rnd.pick(names)}"`]
    : [`alertname=~"${rnd.sample(names, 3).join('|')}"`];
  if (rnd.chance(0.5)) matchers.push(`severity=~"critical|warning"`);
  if (rnd.chance(0.3)) matchers.push(`namespace=~"team-[0-9]+"`);
  if (rnd.chance(0.2)) matchers.push(`env!="dev"`);
  rules.push(`  - name: r${r}`, `    matchers: ${JSON.stringify(matchers)}`, '    group_by: [cluster, service]');
}
const compileStart = performance.now();
const set = compileRuleText('bench.yaml', rules.join('\n')).get(correlationRulesKind);
const compileMs = performance.now() - compileStart;

const cmdb: CmdbDocument = {
  cis: Array.from({ length: CIS }, (_, i) => ({ id: `host-${i}`, type: 'host', labels: {} })),
  relations: Array.from({ length: CIS - 1 },
    (_, i) => ({ from: `host-${i + 1}`, type: 'depends_on' as const, to: `host-${Math.floor(i / 16)}` })),
};
const topology = Topology.build(cmdb);
const alerts = Array.from({ length: ALERTS }, (_, i) => ({
  alertname: rnd.pick(names), severity: rnd.pick(['critical', 'warning', 'info']), namespace: `team-${i % 40}`,
  env: rnd.pick(['prod', 'dev']), cluster: `c${i % 5}`, service: `svc-${i % 50}`,
  // Half the alerts name a CI of the CMDB (the topology rule takes them), half do not.
  instance: i % 2 === 0 ? `host-${rnd.int(0, CIS - 1)}:9100` : `elsewhere-${i}:9100`,
}));

for (let i = 0; i < 5000; i++) set.correlate(itemAt(alerts, i % ALERTS, 'alert'), topology); // warm up
const started = performance.now();
let taken = 0;
for (const labels of alerts) if (set.correlate(labels, topology) !== undefined) taken++;
const seconds = (performance.now() - started) / 1000;
console.log(`rules: ${RULES} compiled in ${compileMs.toFixed(0)} ms; topology: ${CIS} CIs`);
console.log(`correlated ${ALERTS} alerts (${taken} taken by a rule) in ${seconds.toFixed(2)} s on one core: `
  + `${Math.round(ALERTS / seconds)} alerts/s, ${((seconds * 1e6) / ALERTS).toFixed(1)} µs per alert`);
