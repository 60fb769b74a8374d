/** Where progress goes: stderr, or a test's stand-in. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  /** `n` more units done. */
  advance(n: number): void;
  /** Clears the bar (a terminal) and stops. */
  done(): void;
}

export interface ProgressOptions {
  /** Nothing shows for work that finishes sooner. @defaultValue 500 */
  readonly delayMs?: number;
  /** Least time between two lines when the stream is not a terminal. @defaultValue 5000 */
  readonly lineEveryMs?: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/** `label [#########...........]  45%  45000/100000 alerts`, fitted to `width` columns. Pure. */
export function renderBar(label: string, done: number, total: number, unit: string, width: number): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const counts = `${String(Math.floor(ratio * 100)).padStart(3)}%  ${done}/${total} ${unit}`;
  const room = width - label.length - counts.length - 5;
  if (room < 10) return `${label} ${counts}`;
  const filled = Math.round(ratio * room);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(room - filled)}]  ${counts}`;
}

/**
 * Progress of long work on `stream`: on a terminal, a bar redrawn in place (at most ten times
 * a second) and erased when done; otherwise (a log, a pipe) a plain line now and then, so CI
 * logs show the work is alive without a wall of carriage returns. Work shorter than `delayMs`
 * shows nothing either way.
 */
export function progressOn(
  stream: ProgressStream, label: string, total: number, unit: string, opts: ProgressOptions = {},
): Progress {
  const now = opts.now ?? Date.now;
  const started = now();
  const delay = opts.delayMs ?? 500;
  const every = stream.isTTY ? 100 : opts.lineEveryMs ?? 5000;
  let done = 0;
  let shownAt: number | undefined;
  let drawn = false;
  return {
    advance(n) {
      done += n;
      const t = now();
      if (t - started < delay || (shownAt !== undefined && t - shownAt < every)) return;
      shownAt = t;
      if (stream.isTTY) {
        stream.write(`\r${renderBar(label, done, total, unit, Math.min(stream.columns ?? 80, 120))}\x1b[K`);
        drawn = true;
      } else {
        const pct = total > 0 ? Math.floor((Math.min(done, total) / total) * 100) : 100;
        stream.write(`${label}: ${done}/${total} ${unit} (${pct}%)\n`);
      }
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
