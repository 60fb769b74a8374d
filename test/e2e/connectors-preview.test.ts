import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, REPO } from '../support/quell-process';

/** `quell connectors preview`: the built CLI, no server, no database, no queue. */
async function preview(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'connectors', 'preview', ...args],
      { cwd: REPO, env: { PATH: process.env['PATH'] ?? '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('prints each payload\'s normalized alerts and what their fingerprints rest on', async () => {
  const r = await preview('zabbix', 'connectors/zabbix/fixtures/problem.json',
    'connectors/zabbix/fixtures/recovery.json');
  expect(r.code).toBe(0);
  const lines = r.stdout.split('\n');
  expect(lines[0]).toMatch(/^connectors\/zabbix\/fixtures\/problem\.json: firing [0-9a-f]{32} \(identity "81245"\)$/);
  expect(r.stdout).toContain('labels      class="os" component="cpu"');
  expect(r.stdout).toMatch(/recovery\.json: resolved [0-9a-f]{32} \(identity "81245"\)/);
  expect(r.stdout).toContain('2 alert(s), 1 fingerprint(s), 0 payload(s) refused');
});

test('lists a fingerprint that several label sets share; --json; a refused payload names its field (exit 1)',
  async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quell-preview-'));
  try {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(a, JSON.stringify([{ labels: { alertname: 'DiskFull', host: 'h1' },
      startsAt: '2026-01-01T00:00:00Z' }]));
    const disk = { source: 'nagios', kind: 'service', notification_type: 'PROBLEM', host: 'h1', service: 'disk',
      state: 'WARNING', last_state_change: '1767225600' };
    writeFileSync(b, JSON.stringify(disk));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ ...disk, state: 'CRITICAL' }));
    writeFileSync(bad, JSON.stringify({ ...disk, state: 'DOWN' }));
    const json = await preview('nagios', '--json', b, b);
    expect(JSON.parse(json.stdout)).toEqual(expect.objectContaining({ connector: 'nagios',
      alerts: [expect.anything(), expect.anything()], fingerprints_with_changing_labels: {} }));
    // WARNING then CRITICAL: one alert (host!service) whose severity label changes.
    const changing = await preview('nagios', b, join(dir, 'c.json'));
    expect(changing.stdout).toMatch(/fingerprint [0-9a-f]{32} holds 2 label sets/);
    const refused = await preview('nagios', bad);
    expect(refused).toEqual({ code: 1, stdout: expect.stringContaining('0 alert(s)'),
      stderr: expect.stringContaining('bad.json: refused (400): state: expected a service state') });
    expect((await preview('prometheus', a)).stdout).toMatch(/firing [0-9a-f]{32} \(all labels\)/);
    expect((await preview('nope', a)).stderr).toContain("unknown connector 'nope'");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
