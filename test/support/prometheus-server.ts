import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';
import { startPeer, type PeerProcess } from './peer-process';

/** The Debian package's binary (`prometheus`, v2.42 on bookworm). */
export const PROMETHEUS_BIN = process.env['TEST_PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

export interface PrometheusOptions {
  /** `host:port` targets scraped as job `job`. */
  readonly targets: readonly string[];
  /** @defaultValue fixture */
  readonly job?: string;
  /** The rule file's content (YAML `groups:`); written beside the configuration. */
  readonly rules?: string;
  /** Alertmanager base URLs (http://127.0.0.1:port) alerts are sent to. */
  readonly alertmanagers?: readonly string[];
  /** @defaultValue 1s */
  readonly scrapeInterval?: string;
  /** @defaultValue 1s */
  readonly evaluationInterval?: string;
  /** A bearer token sent to the alertmanagers (`authorization.credentials`). */
  readonly alertmanagerToken?: string;
  /** Further command-line flags, e.g. `--rules.alert.resend-delay=1s`. */
  readonly args?: readonly string[];
}

export interface PrometheusServer extends PeerProcess {
  /** `GET /api/v1/query?query=`: the instant vector's samples as [labels, value]. */
  query(promql: string): Promise<{ labels: Record<string, string>; value: number }[]>;
  /** `GET /api/v1/alerts`: the alerts its rules hold (pending or firing). */
  alerts(): Promise<{ labels: Record<string, string>; state: string; activeAt: string }[]>;
  /** Stops it and removes its directory (configuration and TSDB). */
  stop(): Promise<void>;
}

/** The configuration `startPrometheus` writes (exported for a look in failure messages). */
export function prometheusConfig(o: PrometheusOptions, rulesFile: string | undefined): string {
  const lines = [
    'global:',
    `  scrape_interval: ${o.scrapeInterval ?? '1s'}`,
    `  scrape_timeout: ${o.scrapeInterval ?? '1s'}`,
    `  evaluation_interval: ${o.evaluationInterval ?? '1s'}`,
    'scrape_configs:',
    `  - job_name: ${o.job ?? 'fixture'}`,
    '    static_configs:',
    `      - targets: [${o.targets.map((t) => `'${t}'`).join(', ')}]`,
  ];
  if (rulesFile !== undefined) lines.push('rule_files:', `  - ${rulesFile}`);
  if (o.alertmanagers !== undefined && o.alertmanagers.length > 0) {
    lines.push('alerting:', '  alertmanagers:', '    - api_version: v2', '      static_configs:',
      `          - targets: [${o.alertmanagers.map((u) => `'${new URL(u).host}'`).join(', ')}]`);
    if (o.alertmanagerToken !== undefined) lines.push('      authorization:', '        type: Bearer',
      `        credentials: '${o.alertmanagerToken}'`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A real Prometheus on a free loopback port, with a configuration written here (scrape
 * `targets`, evaluate `rules`, send to `alertmanagers`) and a TSDB in a temporary directory;
 * resolves once `/-/ready` answers.
 */
export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'quell-test-prom-'));
  const rulesFile = o.rules !== undefined ? join(dir, 'rules.yml') : undefined;
  if (rulesFile !== undefined) writeFileSync(rulesFile, o.rules!);
  writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(o, rulesFile));
  const port = await freePort();
  let peer: PeerProcess;
  try {
    peer = await startPeer({
      name: 'prometheus',
      binary: PROMETHEUS_BIN,
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
        ...(o.args ?? []),
      ],
      port,
      readyPath: '/-/ready',
      cwd: dir,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${peer.url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (res.status !== 200 || body.status !== 'success') {
      throw new Error(`prometheus GET ${path}: ${res.status} ${body.error ?? ''}`);
    }
    return body.data;
  };
  return {
    ...peer,
    async query(promql) {
      const data = await api<{
        resultType: string; result: { metric: Record<string, string>; value: [number, string] }[];
      }>(
        `/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async alerts() {
      type Alerts = { alerts: { labels: Record<string, string>; state: string; activeAt: string }[] };
      return (await api<Alerts>('/api/v1/alerts')).alerts;
    },
    async stop() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
