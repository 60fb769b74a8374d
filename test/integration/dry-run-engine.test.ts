import type { Connector } from '../../src/connectors/connector';
import { loadConnectors } from '../../src/connectors/connector-registry';
import { compileRuleText } from '../../src/rules/rule-loader';
import { DryRunEngine } from '../../src/tooling/dry-run-engine';
import { jobsOf, type RecordedPayload } from '../../src/tooling/recorded-payload';
import { webhookPayload, type TestAlert } from '../support/alertmanager-payload';

// The engine runs on PGlite in this process's memory: no server, nothing on disk.
const rules = (groupBy: string, window = '30m') => compileRuleText('r.yaml', `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: down
    matchers: ['alertname="NodeDown"']
    group_by: [${groupBy}]
    group_window: ${window}
    impact: high
`);

const START = Date.parse('2026-01-05T09:00:00Z');
const at = (minutes: number): string => new Date(START + minutes * 60_000).toISOString();
let connector: Connector;
let engine: DryRunEngine;
let line = 0;
const recorded = (minutes: number, ...alerts: TestAlert[]): RecordedPayload =>
  ({ offsetMs: minutes * 60_000, payload: webhookPayload(alerts), line: ++line });
const down = (minutes: number, host: string, cluster = 'eu1', status: TestAlert['status'] = 'firing'): TestAlert => ({
  labels: { alertname: 'NodeDown', cluster, instance: host, severity: 'critical' }, status, startsAt: at(minutes),
  ...(status === 'resolved' ? { endsAt: at(minutes + 1) } : {}),
});

beforeAll(async () => {
  connector = loadConnectors().find((c) => c.id === 'alertmanager')!;
  engine = await DryRunEngine.open(rules('cluster'));
});
afterAll(async () => { await engine.close(); });

describe('the dry-run engine', () => {
  test('applies recorded payloads through the connector and the real pipeline, in simulated time', async () => {
    const input = jobsOf(connector, [
      recorded(0, down(0, 'a'), down(0, 'b')),
      recorded(1, down(1, 'c', 'us1'), { labels: { alertname: 'Other' }, startsAt: at(1) }),
      recorded(2, down(0, 'a')),                             // a re-send
      recorded(120, down(120, 'd')),                         // after the window: a new incident
      recorded(121, down(0, 'a', 'eu1', 'resolved'), down(0, 'b', 'eu1', 'resolved')),
    ], START, 3600);
    expect(input.refused).toEqual([]);
    expect(input.alerts).toBe(8);
    await engine.run(input.jobs);
    const incidents = await engine.incidents();
    expect(incidents.map((i) => [i.title, i.status, i.priority, i.members.map((m) => m.labels['instance'])])).toEqual([
      ['NodeDown (cluster=eu1)', 'resolved', 1, ['a', 'b']],
      ['NodeDown (cluster=us1)', 'open', 1, ['c']],
      ['NodeDown (cluster=eu1)', 'open', 1, ['d']],
    ]);
    expect(incidents[0]?.members[0]).toMatchObject({ status: 'resolved', startsAt: at(0) });
    expect(await engine.counts()).toEqual({ deduplicated: 1, stale: 0, uncorrelated: 1, suppressed: 0 });
  });

  test('reset: the same input with other rules, from an empty database', async () => {
    await engine.reset(rules('instance'));
    const input = jobsOf(connector, [recorded(0, down(0, 'a'), down(0, 'b'))], START, 3600);
    await engine.run(input.jobs);
    const incidents = await engine.incidents();
    expect(incidents.map((i) => [i.id, i.groupKey])).toEqual([[1, 'down:{instance="a"}'], [2, 'down:{instance="b"}']]);
    expect(await engine.counts()).toEqual({ deduplicated: 0, stale: 0, uncorrelated: 0, suppressed: 0 });
  });

  test('maintenance windows hold alerts in simulated time; still firing after the window, an incident', async () => {
    // 2026-01-05 is a Monday: the window is 09:00-09:30 UTC.
    await engine.reset(compileRuleText('r.yaml', `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: down
    matchers: ['alertname="NodeDown"']
    group_by: [cluster]
---
apiVersion: quell/v1
kind: MaintenanceWindows
windows:
  - name: patching
    schedule: '0 9 * * mon'
    duration: 30m
    matchers: ['cluster="eu1"']
`));
    const input = jobsOf(connector, [
      recorded(5, down(5, 'a'), down(5, 'b'), down(5, 'c', 'us1')),
      recorded(20, down(5, 'b', 'eu1', 'resolved')),     // b resolves inside the window
      recorded(45, down(45, 'e', 'us1')),                // after the window: a is taken up first
    ], START, 3600);
    await engine.run(input.jobs);
    const incidents = await engine.incidents();
    expect(incidents.map((i) => [i.title, i.members.map((m) => m.labels['instance'])])).toEqual([
      ['NodeDown (cluster=us1)', ['c', 'e']],
      ['NodeDown (cluster=eu1)', ['a']],
    ]);
    expect(await engine.counts()).toMatchObject({ suppressed: 2 });
  });

  test('jobs within the batch window share a transaction, as a busy worker\'s group commit', async () => {
    const batched = await DryRunEngine.open(rules('cluster'), { batchWindowMs: 1000 });
    try {
      const sizes: number[] = [];
      const input = jobsOf(connector, [
        { offsetMs: 0, payload: webhookPayload([down(0, 'a')]), line: 1 },
        { offsetMs: 900, payload: webhookPayload([down(0, 'b')]), line: 2 },
        { offsetMs: 1500, payload: webhookPayload([down(0, 'c')]), line: 3 },
      ], START, 3600);
      await batched.run(input.jobs, (n) => sizes.push(n));
      expect(sizes).toEqual([2, 1]);
    } finally {
      await batched.close();
    }
  });

  test('payloads the live edge refuses are refused here, with the same reason', () => {
    const input = jobsOf(connector, [
      { offsetMs: 0, payload: { version: '3', alerts: [] }, line: 7 },
      { offsetMs: 0, payload: webhookPayload([{ labels: { a: '1' }, startsAt: '0000-01-01T00:00:00Z' }]), line: 8 },
      { offsetMs: 0, payload: webhookPayload([{ labels: { a: '1' }, startsAt: at(120) }]), line: 9 },
    ], START, 3600);
    expect(input.jobs).toEqual([]);
    expect(input.refused).toEqual([
      { line: 7, reason: expect.stringContaining('version: expected webhook payload version "4"') },
      { line: 8, reason: expect.stringMatching(/^alerts\[0\]\.startsAt: .* outside the years 1970 to 9999/) },
      { line: 9, reason: expect.stringMatching(/^alerts\[0\]\.startsAt: .* ahead of Quell's clock/) },
    ]);
  });
});
