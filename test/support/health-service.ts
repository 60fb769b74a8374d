import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The closed loop's service under repair: a small HTTP server on a free loopback port.
 *
 *   GET  /metrics   Prometheus text format: `fixture_healthy` (gauge, 1 or 0) and
 *                   `fixture_repairs_total` (counter)
 *   POST /repair    makes it healthy (200, `{"healthy":true,"repairs":n}`), counting the call
 *   POST /break     makes it unhealthy (200)
 *
 * Every /repair call is kept (wall-clock time, headers, body) so a test can say how often, when
 * and with what it was repaired.
 */
export interface HealthService {
  readonly port: number;
  /** `127.0.0.1:<port>`: Prometheus's `instance` label for it. */
  readonly instance: string;
  readonly url: string;
  healthy(): boolean;
  /** The /repair calls so far. */
  readonly repairs: readonly RepairCall[];
  /** Breaks it (as POST /break does); returns the wall-clock time (ms) it broke. */
  break(): number;
  stop(): Promise<void>;
}

export interface RepairCall {
  /** Date.now() when the request arrived. */
  readonly at: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

const MAX_BODY = 64 * 1024;

export async function startHealthService(opts: { healthy?: boolean } = {}): Promise<HealthService> {
  let healthy = opts.healthy ?? true;
  const repairs: RepairCall[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end([
        '# HELP fixture_healthy Whether the fixture service is healthy (1) or not (0).',
        '# TYPE fixture_healthy gauge',
        `fixture_healthy ${healthy ? 1 : 0}`,
        '# HELP fixture_repairs_total POST /repair calls.',
        '# TYPE fixture_repairs_total counter',
        `fixture_repairs_total ${repairs.length}`,
        '',
      ].join('\n'));
      return;
    }
    if (req.method === 'POST' && path === '/repair') {
      repairs.push({ at: Date.now(), headers: { ...req.headers }, body });
      healthy = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ healthy, repairs: repairs.length }));
      return;
    }
    if (req.method === 'POST' && path === '/break') {
      healthy = false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ healthy }));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { if (body.length < MAX_BODY) body += chunk; });
    req.on('end', () => handle(req, res, body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    instance: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    healthy: () => healthy,
    repairs,
    break() { healthy = false; return Date.now(); },
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
