import type { Kysely } from 'kysely';
import type { BindingOptions } from '../domain/ci-binding';
import type { Ci, Relation } from '../domain/cmdb';
import { Topology } from '../domain/topology';
import type { Logger } from '../log';
import { CmdbVersionReplacedError, readCmdbMeta, readCmdbPages } from '../store/cmdb-store';
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
  private inFlight: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: TopologyHolderOptions) {
    this.topology = Topology.empty(opts.binding);
    opts.metrics.holding(this.topology);
  }

  current(): Topology {
    return this.topology;
  }

  /**
   * Loads the stored version if it is not the one held; true if it changed. One load at a
   * time: concurrent calls share it. Throws when the database cannot be read (the topology
   * held stays).
   */
  refresh(): Promise<boolean> {
    this.inFlight ??= this.load().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
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

  private async load(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const meta = await readCmdbMeta(this.opts.db);
      if (meta.version === this.topology.info.version) return false;
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
      this.topology = Topology.build({ cis, relations }, this.opts.binding, {
        version: meta.version, hash: meta.hash, source: meta.source, loadedAt: meta.loadedAt?.toISOString() ?? null,
      });
      this.opts.metrics.holding(this.topology);
      this.opts.log.info({
        version: meta.version, cis: meta.cis, relations: meta.relations, source: meta.source,
        ms: Math.round(performance.now() - started),
      }, 'CMDB topology loaded');
      return true;
    }
  }
}
