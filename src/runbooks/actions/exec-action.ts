import { spawn } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { durationField } from '../../rules/rule-fields';
import { defineAction, StepError, type ParsedTemplate } from '../runbook-action';
import { compileTemplate, compileTemplates, durationMs, signalWithin } from './action-params';

const execWith = z.strictObject({
  /** An absolute path, or a name looked up on PATH. Literal: never a template. */
  program: z.string().min(1),
  /** Each is one argument (a template; a value may not begin one with `-`). @defaultValue [] */
  args: z.array(z.string()).default([]),
  /** Variables for the program; names must be in QUELL_EXEC_ENV_ALLOW; values are templates. @defaultValue {} */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).default({}),
  /** Shorter than the step's timeout, if given. */
  timeout: durationField.optional(),
});

interface ExecParams {
  readonly program: string;
  readonly args: readonly ParsedTemplate[];
  readonly env: readonly (readonly [string, ParsedTemplate])[];
  readonly timeoutMs?: number;
}

/** Time between SIGTERM and SIGKILL when a step is aborted. */
export const KILL_GRACE_MS = 2000;

/**
 * `action: exec`: runs a program with an argument list, never through a shell, with no stdin
 * and an environment of PATH and the step's allowed `env` only (Quell's own environment holds
 * secrets). It runs in its own process group, killed (SIGTERM, then SIGKILL) when the step
 * times out or is cancelled. Output: `exit_code`, `stdout`, `stderr` (each truncated to
 * QUELL_RUNBOOK_MAX_OUTPUT_BYTES, secrets masked). A non-zero exit fails the step (not retryable).
 */
export const execAction = defineAction<z.output<typeof execWith>, ExecParams>({
  name: 'exec',
  schema: execWith,

  compile(spec, path, doc) {
    if (spec.program.includes('{{')) {
      doc.error([...path, 'program'], 'the program is written literally, never a template');
    }
    else if (!isAbsolute(spec.program) && spec.program.includes('/')) {
      doc.error([...path, 'program'], 'an absolute path, or a name looked up on PATH');
    }
    return {
      program: spec.program,
      args: spec.args.map((a, i) => compileTemplate(a, [...path, 'args', i], doc)),
      env: compileTemplates(spec.env, [...path, 'env'], doc),
      ...(spec.timeout !== undefined ? { timeoutMs: durationMs(spec.timeout) } : {}),
    };
  },

  mutates: () => true,

  async run(p, ctx) {
    const { render, settings } = ctx;
    const args = p.args.map((a) => render.arg(a));
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
    for (const [name, t] of p.env) {
      if (!settings.execEnvAllow.includes(name)) {
        throw new StepError(`environment variable ${name} is not in QUELL_EXEC_ENV_ALLOW`, false);
      }
      env[name] = render.text(t);
    }
    const signal = signalWithin(ctx.signal, p.timeoutMs);
    const result = await runProgram(p.program, args, env, signal, settings.maxOutputBytes);
    const output = {
      exit_code: result.code, stdout: render.mask(result.stdout), stderr: render.mask(result.stderr),
    };
    if (result.error !== undefined) throw new StepError(`${p.program}: ${result.error}`, false, output);
    if (result.aborted) throw new StepError(`${p.program}: killed (timeout or cancelled)`, true, output);
    if (result.code !== 0) {
      throw new StepError(`${p.program} exited with ${result.code ?? result.signal}`, false, output);
    }
    return output;
  },
});

interface ProgramResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  aborted: boolean;
  error?: string;
}

function runProgram(
  program: string, args: string[], env: Record<string, string>, signal: AbortSignal, maxBytes: number,
): Promise<ProgramResult> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve({ code: null, signal: null, stdout: '', stderr: '', aborted: true }); return; }
    const child = spawn(program, args, { shell: false, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = collector(maxBytes);
    const err = collector(maxBytes);
    child.stdout.on('data', out.add);
    child.stderr.on('data', err.add);
    let aborted = false;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try { if (child.pid !== undefined) process.kill(-child.pid, sig); } catch { /* already gone */ }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => { spawnError = (e as NodeJS.ErrnoException).code ?? e.message; });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (killTimer !== undefined) clearTimeout(killTimer);
      resolve({
        code, signal: sig, stdout: out.text(), stderr: err.text(), aborted,
        ...(spawnError !== undefined ? { error: spawnError } : {}),
      });
    });
  });
}

/** Keeps the first `max` bytes of a stream (and drains the rest). */
function collector(max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = false;
  return {
    add: (chunk: Buffer): void => {
      if (size >= max) { dropped = true; return; }
      const take = chunk.subarray(0, max - size);
      if (take.length < chunk.length) dropped = true;
      chunks.push(take);
      size += take.length;
    },
    text: (): string => Buffer.concat(chunks).toString('utf8') + (dropped ? '…[truncated]' : ''),
  };
}
