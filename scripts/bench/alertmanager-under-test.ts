/**
 * Prometheus Alertmanager as the scenarios' peer: in memory, a null receiver, grouped the way
 * Quell's default rule groups (alertname, cluster, service). Its API v2 takes the same alerts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/net';
import { httpGet, say, startProcess, STARTUP_TIMEOUT_MS, waitReady, type Proc } from './bench-kit';

export interface RunningAlertmanager {
  readonly version: string;
  readonly proc: Proc;
  readonly target: { port: number; path: string; headers: Record<string, string> };
}

/** The binary to run, or undefined when BENCH_ALERTMANAGER is "" or "none" (skip the peer). */
export function alertmanagerBinary(): string | undefined {
  const bin = process.env['BENCH_ALERTMANAGER'] ?? '/usr/bin/prometheus-alertmanager';
  return bin === '' || bin === 'none' ? undefined : bin;
}

export async function startAlertmanager(binary: string, tmp: string): Promise<RunningAlertmanager> {
  const config = join(tmp, 'alertmanager.yml');
  writeFileSync(config, [
    'route:', "  receiver: 'null'", "  group_by: ['alertname', 'cluster', 'service']", 'receivers:', "  - name: 'null'",
    '',
  ].join('\n'));
  const port = await freePort();
  const proc = startProcess('alertmanager', binary, [
    `--config.file=${config}`, `--storage.path=${join(tmp, 'alertmanager')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=', '--log.level=warn',
  ], { PATH: process.env['PATH'] ?? '' }, tmp);
  await waitReady(`http://127.0.0.1:${port}/-/ready`, proc, STARTUP_TIMEOUT_MS);
  let version = 'unknown';
  try {
    const status = await httpGet(`http://127.0.0.1:${port}/api/v2/status`);
    version = (JSON.parse(status.body) as { versionInfo?: { version?: string } }).versionInfo?.version ?? version;
  } catch { /* the version is a label only */ }
  say(`alertmanager ${version} on :${port} ready`);
  return { version, proc, target: { port, path: '/api/v2/alerts', headers: {} } };
}
