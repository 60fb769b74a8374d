import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { webhookPayload } from '../support/alertmanager-payload';
import { freePort } from '../support/net';
import { CLI, REPO, startQuell, type QuellProcess } from '../support/quell-process';
import { waitFor } from '../support/wait';
import { RULE_KINDS } from '../../src/rules/rule-kinds';

const HEADER = 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n';

let dir: string;
let quell: QuellProcess | undefined;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'quell-rules-cli-')); });
afterEach(async () => {
  await quell?.stop('SIGKILL');
  quell = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function lint(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const env = { PATH: process.env['PATH'] ?? '' };
    const run = promisify(execFile);
    const { stdout, stderr } = await run(process.execPath, [CLI, 'rules', 'lint', ...args], { cwd: REPO, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('quell rules lint', () => {
  test('the shipped rules are clean: a summary, exit 0', async () => {
    const result = await lint();
    const summary = /^\.\/rules: OK: 1 file, version [0-9a-f]{12}\n {2}CorrelationRules: 3\n( {2}\w+: 0\n)*$/;
    expect(result).toEqual({ code: 0, stderr: '', stdout: expect.stringMatching(summary) });
    expect((await lint('rules/default.yaml')).code).toBe(0);
  });

  test('every error of every file, as file:line:column, then exit 1', async () => {
    writeFileSync(join(dir, 'a.yaml'), `${HEADER}  - name: a\n    group_window: soon\n    matchers: ['x=~"(?!y)"']\n`);
    writeFileSync(join(dir, 'b.yaml'), 'apiVersion: quell/v1\nkind: MaintenanceWindow\n');
    writeFileSync(join(dir, 'c.yaml'), `${HEADER}  - name: everything\n  - name: shadowed\n    matchers: ['x="1"']\n`);
    writeFileSync(join(dir, 'notes.txt'), 'not a rule file');
    const result = await lint(dir);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${dir}/a.yaml:5:19: rules.0.group_window: expected a duration such as 30s, 5m, 1h30m`,
      `${dir}/b.yaml:2:7: kind: unknown kind "MaintenanceWindow"; `
        + `known kinds: ${RULE_KINDS.map((k) => k.kind).join(', ')}`,
      `${dir}/c.yaml:5:11: warning: rule "shadowed" never takes an alert: rule "everything" (${dir}/c.yaml:4) `
        + 'has no matchers and takes every alert first',
    ]);
    expect(result.stdout).toBe(`${dir}: FAILED: 2 errors in 2 of 3 files, 1 warning\n`);
    // With the schema error fixed, the RE2 error behind it shows.
    writeFileSync(join(dir, 'a.yaml'), `${HEADER}  - name: a\n    matchers: ['x=~"(?!y)"']\n`);
    expect((await lint(dir)).stderr)
      .toContain(`${dir}/a.yaml:5:16: invalid matcher "x=~\\"(?!y)\\"": lookaround is not supported`);
  });

  test('a directory that cannot be read is exit 1, named', async () => {
    expect(await lint(join(dir, 'missing')))
      .toEqual({ code: 1, stdout: '', stderr: `cannot read ${dir}/missing: ENOENT\n` });
  });
});

test('a running quell takes a rule change without a restart; a bad change and SIGHUP keep the rules', async () => {
  const rules = join(dir, 'rules');
  mkdirSync(rules);
  writeFileSync(join(rules, 'rules.yaml'), `${HEADER}  - name: all\n    group_by: [alertname]\n`);
  const port = await freePort();
  quell = startQuell('start', { QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1', QUELL_RULES_DIR: rules,
    QUELL_OPEN_READS: 'true' }, dir);
  await quell.waitForLog('api listening', 60_000);
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const versionBefore = /quell_rules_version_info\{hash="([0-9a-f]+)"\} 1/.exec(await metrics())?.[1];
  expect(versionBefore).toBeDefined();

  // A valid change: the file watch puts it in force, and the next alert goes by it.
  writeFileSync(join(rules, 'rules.yaml'),
    `${HEADER}  - name: by-service\n    matchers: ['alertname="Reloaded"']\n    group_by: [service]\n  - name: all\n`);
  await quell.waitForLog('"msg":"rules reloaded"');
  const { ingest } = JSON.parse(readFileSync(join(dir, 'data', 'tokens.json'), 'utf8')) as { ingest: string };
  const posted = await fetch(`http://127.0.0.1:${port}/ingest/alertmanager`, {
    method: 'POST', headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify(webhookPayload([{ labels: { alertname: 'Reloaded', service: 'checkout', instance: 'a' } }])),
  });
  expect(posted.status).toBe(202);
  await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/incidents`);
    const { incidents } = await res.json() as { incidents: { group_key: string }[] };
    return incidents.some((i) => i.group_key === 'by-service:{service="checkout"}');
  }, 20_000, 'an incident grouped by the reloaded rule');
  const versionAfter = /quell_rules_version_info\{hash="([0-9a-f]+)"\} 1/.exec(await metrics())?.[1];
  expect(versionAfter).not.toBe(versionBefore);

  // A broken change is rejected with its position; SIGHUP reads it again, the process lives on.
  writeFileSync(join(rules, 'rules.yaml'), `${HEADER}  - name: broken\n    impact: enormous\n`);
  await quell.waitForLog('rules reload failed');
  expect(quell.output()).toContain(`${rules}/rules.yaml:5:13: rules.0.impact`);
  quell.child.kill('SIGHUP');
  const sighupFailed = /"trigger":"SIGHUP"[^\n]*rules reload failed/;
  await waitFor(async () => sighupFailed.test(quell!.output()), 10_000, 'the SIGHUP reload logged');
  const text = await metrics();
  expect(text).toContain('quell_rules_reload_failures_total 2');
  expect(text).toContain(`quell_rules_version_info{hash="${versionAfter}"} 1`);
  expect(text).toContain('quell_rules_last_reload_successful 0');
  expect(quell.child.exitCode).toBeNull();
}, 90_000);
