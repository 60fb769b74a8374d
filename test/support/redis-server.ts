import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort } from './net';
import { waitFor } from './wait';

/**
 * A redis-server of the test's own on a free loopback port, for fault tests: it can be
 * killed, restarted on the same port, paused (SIGSTOP) and resumed. Never the shared one.
 */
export interface TestRedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts it (again) and waits until it answers. */
  start(): Promise<void>;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface TestRedisOptions {
  /**
   * A directory for an append-only file fsynced on every write (`appendfsync always`), so that a
   * SIGKILLed server restarts with every job it acknowledged, as the README asks of production.
   * @defaultValue none: nothing kept
   */
  readonly aofDir?: string;
}

export async function testRedisServer(opts: TestRedisOptions = {}): Promise<TestRedisServer> {
  const port = await freePort();
  const persistence = opts.aofDir !== undefined
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', opts.aofDir]
    : ['--appendonly', 'no'];
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const server: TestRedisServer = {
    port,
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence,
        '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
      await waitFor(() => ping(port), 10_000, `redis-server on port ${port}`, 50);
    },
    async kill() {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
    pause() { child?.kill('SIGSTOP'); },
    resume() { child?.kill('SIGCONT'); },
  };
  await server.start();
  return server;
}

/** Whether a Redis server answers PING on the port (a raw socket: no client left behind). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
