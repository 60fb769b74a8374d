import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A real peer binary (Prometheus, Alertmanager) as a child process of the test: its output is
 * kept for failure messages, `ready` waits until its readiness URL answers 200 (failing early,
 * with the output, if it exits first), `stop` ends it (SIGTERM, then SIGKILL after a grace).
 */
export interface PeerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Its base URL, http://127.0.0.1:<port>. */
  readonly url: string;
  readonly port: number;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

const KILL_GRACE_MS = 5_000;

/**
 * Starts `binary args` and resolves once `GET <url><readyPath>` answers 200 (within
 * `timeoutMs`). On failure the process is stopped and the error carries its output.
 */
export async function startPeer(opts: {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly readyPath: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}): Promise<PeerProcess> {
  const child = spawn(opts.binary, [...opts.args], {
    cwd: opts.cwd,
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer): void => { out += chunk.toString(); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exit: string | undefined;
  const exited = new Promise<void>((r) => {
    child.on('exit', (code, signal) => { exit = `exit ${code ?? signal}`; r(); });
    child.on('error', (err) => { exit = `spawn error: ${err.message}`; out += `\n${exit}\n`; r(); });
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const peer: PeerProcess = {
    name: opts.name,
    child,
    url,
    port: opts.port,
    output: () => out,
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => { if (exit === undefined) child.kill('SIGKILL'); }, KILL_GRACE_MS);
      await exited;
      clearTimeout(killer);
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = '';
  for (;;) {
    if (exit !== undefined || Date.now() > deadline) {
      await peer.stop();
      const why = exit !== undefined ? `ended (${exit})`
        : `not ready within ${opts.timeoutMs ?? 30_000} ms (last: ${last})`;
      throw new Error(`${opts.name} ${why}\n--- ${opts.name} output ---\n${out.slice(-6000)}`);
    }
    try {
      const res = await fetch(`${url}${opts.readyPath}`);
      if (res.status === 200) break;
      last = `${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return peer;
}
