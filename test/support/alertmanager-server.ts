import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';
import { startPeer, type PeerProcess } from './peer-process';

/** The Debian package's binary (`prometheus-alertmanager`, v0.25 on bookworm). */
export const ALERTMANAGER_BIN = process.env['TEST_ALERTMANAGER_BIN'] ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerServer extends PeerProcess {
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** A webhook receiver route to Quell's `/ingest/alertmanager`, resolved notifications included. */
export interface QuellRoute {
  /** Quell's base URL. */
  readonly quellUrl: string;
  /** Quell's ingest token (sent as `Authorization: Bearer`). */
  readonly ingestToken: string;
  readonly groupBy: readonly string[];
  /** Alertmanager durations. @defaultValue 1s, 1s, 1h */
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
}

/** An Alertmanager configuration with one route: every alert to Quell. */
export function quellRouteConfig(r: QuellRoute): string {
  return [
    'route:',
    '  receiver: quell',
    `  group_by: [${r.groupBy.map((l) => `'${l}'`).join(', ')}]`,
    `  group_wait: ${r.groupWait ?? '1s'}`,
    `  group_interval: ${r.groupInterval ?? '1s'}`,
    `  repeat_interval: ${r.repeatInterval ?? '1h'}`,
    'receivers:',
    '  - name: quell',
    '    webhook_configs:',
    `      - url: ${r.quellUrl}/ingest/alertmanager`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials: ${r.ingestToken}`,
    '',
  ].join('\n');
}

/**
 * A real Alertmanager on a free loopback port with `config` (YAML) and a data directory of its
 * own, no clustering; resolves once `/-/ready` answers.
 */
export async function startAlertmanager(config: string, opts: { logLevel?: string } = {}): Promise<AlertmanagerServer> {
  const dir = mkdtempSync(join(tmpdir(), 'quell-test-am-'));
  writeFileSync(join(dir, 'alertmanager.yml'), config);
  const port = await freePort();
  let peer: PeerProcess;
  try {
    peer = await startPeer({
      name: 'alertmanager',
      binary: ALERTMANAGER_BIN,
      args: [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        `--log.level=${opts.logLevel ?? 'debug'}`,
      ],
      port,
      readyPath: '/-/ready',
      cwd: dir,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...peer,
    async stop() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
