import type { RequestHandler } from 'express';
import { sendError } from '../http/errors';

export interface ReadGateOptions {
  /** Reads served at once. */
  readonly concurrency: number;
  /** Reads that may wait for a turn; more are answered 503 `busy` at once. */
  readonly maxWaiting: number;
}

/**
 * Bounds the reads in progress, so that reads never hold all of the process's database
 * connections (which ingest in the embedded mode and the worker of `quell start` share) nor
 * its memory. A read holds its turn until its answer is sent or its client has gone: a slow
 * client delays other readers, never ingest.
 */
export function readGate(opts: ReadGateOptions): RequestHandler {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active--;
    else next(); // the turn passes on: `active` stays
  };
  return (_req, res, next) => {
    const enter = (): void => {
      res.once('close', release);
      next();
    };
    if (active < opts.concurrency) {
      active++;
      enter();
      return;
    }
    if (waiting.length >= opts.maxWaiting) {
      sendError(res, 'busy', `the API is serving as many reads as it allows (${opts.concurrency}); retry later`);
      return;
    }
    waiting.push(enter);
    res.once('close', () => {
      const at = waiting.indexOf(enter);
      if (at !== -1) waiting.splice(at, 1); // gone before its turn
    });
  };
}
