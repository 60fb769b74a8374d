import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { webhookPayload } from '../support/alertmanager-payload';
import { CLI, REPO } from '../support/quell-process';

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'quell-tooling-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

async function quell(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const env = { PATH: process.env['PATH'] ?? '' };
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: REPO, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('quell rules test', () => {
  test('every rule pack in rules/ passes its tests', async () => {
    const result = await quell('rules', 'test');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const pack of ['node-exporter', 'kubernetes', 'topology']) {
      expect(result.stdout).toMatch(new RegExp(`^rules/packs/${pack}/tests/${pack}\\.test\\.yaml\\n  ok `, 'm'));
    }
    expect(result.stdout).toMatch(/^\d+ tests in 3 files: \d+ passed, 0 failed\n$/m);
  });

  test('a failing test prints a diff at file:line and exits 1; a broken test file is file:line:column', async () => {
    mkdirSync(join(dir, 'tests'), { recursive: true });
    writeFileSync(join(dir, 'rules.yaml'), `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - { name: by-host, group_by: [instance] }
`);
    writeFileSync(join(dir, 'tests', 'a.test.yaml'), `apiVersion: quell/v1
kind: RuleTests
rule_files: [../rules.yaml]
tests:
  - name: hosts apart
    input_alerts:
      - { at: 0s, labels: { alertname: Down, instance: a } }
      - { at: 1m, labels: { alertname: Down, instance: b } }
    expected_incidents:
      - { rule: by-host, alerts: ['Down{instance="a"}', 'Down{instance="b"}'] }
  - name: passes
    input_alerts: [{ at: 0s, labels: { alertname: Down, instance: a } }]
    expected_incidents: [{ title: Down (instance=a) }]
`);
    const failed = await quell('rules', 'test', dir);
    expect(failed.code).toBe(1);
    const file = join(dir, 'tests', 'a.test.yaml');
    expect(failed.stdout).toBe([
      file,
      `  FAIL   ${file}:5: hosts apart`,
      `    ${file}:10: expected incident differs from incident #1 "Down (instance=a)" `
        + '(rule by-host, P4, open, 1 alert):',
      '        alerts:',
      '      -   Down{instance="b"}',
      '    unexpected incident #2 "Down (instance=b)" (rule by-host, P4, open, 1 alert):',
      '      +   Down{instance="b"}',
      '  ok     passes',
      '2 tests in 1 file: 1 passed, 1 failed',
      '',
    ].join('\n'));

    const empty = 'apiVersion: quell/v1\nkind: RuleTests\nrule_files: []\ntests: []\n';
    writeFileSync(join(dir, 'tests', 'b.test.yaml'), empty);
    const broken = await quell('rules', 'test', join(dir, 'tests', 'b.test.yaml'));
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${join(dir, 'tests', 'b.test.yaml')}:3:13: rule_files: `);
  });
});

describe('quell replay', () => {
  const start = Date.parse('2026-01-05T09:00:00Z');
  const line = (offsetMs: number, host: string, cluster: string) => JSON.stringify({
    offsetMs,
    payload: webhookPayload([{
      labels: { alertname: 'NodeDown', cluster, instance: `${host}:9100`, severity: 'critical' },
      startsAt: new Date(start + offsetMs).toISOString(),
    }]),
  });

  test('prints the incidents that would form; --against, what would change; exit 1 on unreadable lines', async () => {
    const recording = join(dir, 'storm.jsonl');
    writeFileSync(recording, [line(0, 'a', 'eu1'), line(1000, 'b', 'eu1'), '', line(2000, 'c', 'us1')].join('\n'));
    const once = await quell('replay', recording);
    expect(once.code).toBe(0);
    expect(once.stdout).toContain(`${recording}: 3 payloads, 3 alerts over 2.0 s from 2026-01-05T09:00:00.000Z`);
    expect(once.stdout).toMatch(/\n\.\/rules \(version [0-9a-f]{12}\): 2 incidents \(2 open\)/);
    expect(once.stdout)
      .toMatch(/\n +1 +2026-01-05T09:00:00\.000Z +P1 +open +2 +node-down +NodeDown \(cluster=eu1\)\n/);

    const pack = 'rules/packs/node-exporter/10-node-exporter.yaml';
    const backtest = await quell('replay', recording, '--against', pack, '--json');
    expect(backtest.code).toBe(0);
    type Result = { runs: { rules: string; incidents: { rule: string }[] }[]; diff: unknown };
    const result = JSON.parse(backtest.stdout) as Result;
    expect(result.runs.map((r) => [r.rules, r.incidents.map((i) => i.rule)]))
      .toEqual([['./rules', ['node-down', 'node-down']], [pack, ['host-down', 'host-down']]]);
    expect(result.diff).toEqual({
      changes: [
        { kind: 'changed', before: [1], after: [1], details: ['rule node-down -> host-down',
          'title "NodeDown (cluster=eu1)" -> "Hosts down (cluster=eu1)"'] },
        { kind: 'changed', before: [2], after: [2], details: ['rule node-down -> host-down',
          'title "NodeDown (cluster=us1)" -> "Hosts down (cluster=us1)"'] },
      ],
      unchanged: 0,
    });

    writeFileSync(recording, `${line(0, 'a', 'eu1')}\nnot json\n`);
    const bad = await quell('replay', recording);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${recording}:2: unreadable: not JSON`);
    expect(bad.stdout).toContain('1 incident (1 open)');
  });
});
