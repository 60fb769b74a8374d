import { createHash, randomUUID } from 'node:crypto';

export interface RequestIdentityOptions {
  /** How long a request whose queueing outcome is unknown keeps its job id for a resend (ms). @defaultValue 1 hour */
  readonly ttlMs?: number;
  /** Most such requests remembered; the oldest are forgotten first. @defaultValue 10000 */
  readonly maxEntries?: number;
}

/**
 * Gives each ingest request its job id, so that a resend after an unknown outcome (a 503 that
 * names a `job_id`: Redis took the command but did not confirm it) is the same job, applied once.
 *
 * - With an `Idempotency-Key` header the id is derived from the connector and the key: any
 *   resend, to any API process, is the same job.
 * - Otherwise the id is random, and only when the outcome was unknown is it remembered under
 *   a hash of the connector and the exact body, the way Alertmanager resends a failed webhook.
 *   Identical bodies sent after a 202 are new jobs: a re-sent alert counts an occurrence.
 *   The memory is this process's: a resend through another API process gets a new id (send
 *   an `Idempotency-Key` where several API processes share a load balancer).
 */
export class RequestIdentity {
  private readonly uncertain = new Map<string, { jobId: string; until: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(opts: RequestIdentityOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 3_600_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /** The job id for a request to `connector` with this raw body and optional idempotency key. */
  jobIdFor(connector: string, body: Buffer | undefined, idempotencyKey: string | undefined): string {
    if (idempotencyKey !== undefined) return hashId(`key\0${connector}\0${idempotencyKey}`);
    if (this.uncertain.size === 0 || body === undefined) return randomUUID();
    const entry = this.uncertain.get(bodyKey(connector, body));
    return entry !== undefined && entry.until > Date.now() ? entry.jobId : randomUUID();
  }

  /** The request's outcome is unknown: a resend of the same body must reuse `jobId`. */
  rememberUncertain(connector: string, body: Buffer | undefined, jobId: string): void {
    if (body === undefined) return;
    const key = bodyKey(connector, body);
    this.uncertain.delete(key);
    this.uncertain.set(key, { jobId, until: Date.now() + this.ttlMs });
    while (this.uncertain.size > this.maxEntries) this.uncertain.delete(this.uncertain.keys().next().value as string);
  }

  /** The request was queued (202): its body no longer needs its old id. */
  settled(connector: string, body: Buffer | undefined): void {
    if (this.uncertain.size === 0 || body === undefined) return;
    this.uncertain.delete(bodyKey(connector, body));
  }
}

/** A UUID-shaped id from a hash, so derived and random job ids look alike (BullMQ ids take no ':'). */
function hashId(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function bodyKey(connector: string, body: Buffer): string {
  return createHash('sha256').update(connector).update('\0').update(body).digest('base64url');
}
