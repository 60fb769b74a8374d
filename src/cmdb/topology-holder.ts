import type { Kysely } from 'kysely';
import type { BindingOptions } from '../domain/ci-binding';
import type { Ci, CmdbDocument, Relation } from '../domain/cmdb';
import { Topology } from '../domain/topology';
import type { Logger } from '../log';
import { CmdbVersionReplacedError, readCmdbMeta, readCmdbPages, type CmdbMeta } from '../store/cmdb-store';
import type { Database } from '../store/database';
import type { CmdbMetrics } from './cmdb-metrics';

export interface TopologyHolderOptions {
  readonly db: Kysely<Database>;
  /** How alerts bind to CIs (QUELL_CMDB_BIND_LABELS, QUELL_CMDB_ALIAS_LABELS). */
  readonly binding: BindingOptions;
  readonly metrics: CmdbMetrics;
  readonly log: Logger;
  /** How often the stored version is checked. @defaultValue 5000 */
  readonly pollMs?: number;
}

/**
 * The topology a process works with: an immutable {@link Topology} of the stored version,
 * swapped whole when a new version is stored. Every process polls the one-row version table
 * (cheap, and works on PGlite, which has no LISTEN across processes); the process that stored
 * a new version refreshes at once. Readers call `current()` once per unit of work (a batch of
 * alerts) and use that snapshot throughout, outside any database lock.
 */
export class TopologyHolder {
  private topology: Topology;
  private running: Promise<boolean> | undefined;
  private queued: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: TopologyHolderOptions) {
    this.topology = Topology.empty(opts.binding);
    opts.metrics.holding(this.topology);
  }

  current(): Topology {
    return this.topology;
  }

  /**
   * Loads the stored version if it is not the one held; true if it changed. Once it resolves,
   * this process holds at least the version stored when it was called. One load at a time: a
   * call during a load gets the next one (shared by every call made meanwhile). Throws when
   * the database cannot be read (the topology held stays).
   */
  refresh(): Promise<boolean> {
    if (!this.running) return this.run();
    this.queued ??= this.running.catch(() => false).then(() => { this.queued = undefined; return this.run(); });
    return this.queued;
  }

  /**
   * Takes a document this process has just stored as `meta` (see CmdbLoader), without reading
   * it back; ignored if a version as new is held already.
   */
  adopt(doc: CmdbDocument, meta: CmdbMeta): void {
    if (meta.version <= this.topology.info.version) return;
    this.hold(doc, meta, performance.now());
  }

  /** Polls the stored version every `pollMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => {
        this.opts.log.warn({ err: (err as Error).message }, 'cannot read the stored CMDB; keeping the topology held');
      });
    }, this.opts.pollMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private hold(doc: CmdbDocument, meta: CmdbMeta, started: number): void {
    this.topology = Topology.build(doc, this.opts.binding, {
      version: meta.version, hash: meta.hash, source: meta.source, loadedAt: meta.loadedAt?.toISOString() ?? null,
    });
    this.opts.metrics.holding(this.topology);
    this.opts.log.info({
      version: meta.version, cis: meta.cis, relations: meta.relations, source: meta.source,
      ms: Math.round(performance.now() - started),
    }, 'CMDB topology loaded');
  }

  private run(): Promise<boolean> {
    const running = this.load().finally(() => { this.running = undefined; });
    this.running = running;
    return running;
  }

  private async load(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const held = this.topology;
      const meta = await readCmdbMeta(this.opts.db);
      // Not `<`: a database restored or recreated counts versions from 1 again.
      if (meta.version === held.info.version) return false;
      const started = performance.now();
      const cis: Ci[] = [];
      const relations: Relation[] = [];
      try {
        for await (const page of readCmdbPages(this.opts.db, meta)) {
          if ('cis' in page) cis.push(...page.cis); else relations.push(...page.relations);
        }
      } catch (err) {
        // Replaced while reading: read the newer version (a storm of replaces gives up after a few).
        if (err instanceof CmdbVersionReplacedError && attempt < 3) continue;
        throw err;
      }
      if (this.topology !== held) return false; // this process stored a newer one meanwhile (adopt)
      this.hold({ cis, relations }, meta, started);
      return true;
    }
  }
}
