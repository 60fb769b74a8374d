import type { IngestQueue } from '../queue/ingest-queue';

export interface BackpressureOptions {
  /** Jobs waiting in the ingest queue above which requests are refused (0: never). */
  readonly maxDepth: number;
  /** How often the depth is read (ms). @defaultValue 1000 */
  readonly everyMs?: number;
}

/**
 * Refuses ingest requests while the ingest queue holds more than `maxDepth` waiting jobs (the
 * workers are behind): the sender is told to come back in {@link retryAfterSeconds} (`503`,
 * `Retry-After`) instead of the queue growing without bound in Redis's memory. Below the depth
 * nothing changes: 202 as soon as the job is queued.
 *
 * The depth is read in the background, once per `everyMs`, not per request (a request costs
 * no extra round trip): it lags by at most that. A depth that cannot be read refuses nothing
 * (the queue's own errors answer then).
 */
export class IngestBackpressure {
  private waiting = 0;
  private timer?: NodeJS.Timeout;
  private reading = false;
  readonly retryAfterSeconds: number;

  constructor(private readonly queue: IngestQueue, private readonly opts: BackpressureOptions) {
    this.retryAfterSeconds = Math.max(1, Math.ceil((opts.everyMs ?? 1000) / 1000));
  }

  /** Starts reading the depth (no-op when `maxDepth` is 0). The timer does not hold the process. */
  start(): void {
    if (this.opts.maxDepth <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => void this.read(), this.opts.everyMs ?? 1000);
    this.timer.unref();
    void this.read();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** True while the last depth read is over `maxDepth`. */
  get full(): boolean {
    return this.opts.maxDepth > 0 && this.waiting > this.opts.maxDepth;
  }

  /** The last depth read (waiting jobs). */
  get depth(): number {
    return this.waiting;
  }

  /** Reads the depth now (the timer's step; tests call it). */
  async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      this.waiting = (await this.queue.depth()).waiting;
    } catch {
      this.waiting = 0;
    } finally {
      this.reading = false;
    }
  }
}
