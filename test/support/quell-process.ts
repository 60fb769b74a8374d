import { spawn, type ChildProcess } from 'node:child_process';
import { basename, resolve } from 'node:path';

/** The repository, whether this file runs from `test/support` (jest) or `dist/test/support`. */
export const REPO = resolve(__dirname, basename(resolve(__dirname, '../..')) === 'dist' ? '../../..' : '../..');
/** The compiled CLI (`npm test` builds before jest runs). */
export const CLI = resolve(REPO, 'dist/src/cli.js');

export interface QuellProcess {
  readonly child: ChildProcess;
  /** Everything it wrote so far (JSON log lines). */
  output(): string;
  /** Resolves when a log line contains `text`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`) and wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `quell <command>` as a real process with `env` on top of a minimal environment. */
export function startQuell(command: 'start' | 'api' | 'worker' | 'migrate', env: Record<string, string>,
  cwd = REPO): QuellProcess {
  const child = spawn(process.execPath, [CLI, command], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', QUELL_RULES_DIR: resolve(REPO, 'rules'), QUELL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { text: string; done: () => void }[] = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString();
    for (const w of [...waiters]) if (out.includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    waitForLog(text, timeoutMs = 20_000) {
      if (out.includes(text)) return Promise.resolve();
      return new Promise((res, rej) => {
        const t = setTimeout(() => {
          rej(new Error(`quell ${command} did not log ${JSON.stringify(text)} in ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        waiters.push({ text, done: () => { clearTimeout(t); res(); } });
        void exited.then((code) => {
          clearTimeout(t);
          rej(new Error(`quell ${command} exited (${code}) before logging ${JSON.stringify(text)}; output:\n${out}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `n` `quell worker` processes with the same `env`, each once it has logged that it started. */
export async function startWorkers(n: number, env: Record<string, string>): Promise<QuellProcess[]> {
  const workers = Array.from({ length: n }, () => startQuell('worker', env));
  await Promise.all(workers.map((w) => w.waitForLog('worker started')));
  return workers;
}
