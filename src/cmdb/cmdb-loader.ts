import type { Kysely } from 'kysely';
import type { Logger } from '../log';
import { replaceCmdb, type CmdbReplaced } from '../store/cmdb-store';
import type { Database } from '../store/database';
import { CmdbDocumentError, parseCmdb, type CmdbFormat } from './cmdb-document';
import type { CmdbMetrics } from './cmdb-metrics';
import type { TopologyHolder } from './topology-holder';

export interface CmdbLoaderDeps {
  readonly db: Kysely<Database>;
  readonly metrics: CmdbMetrics;
  readonly log: Logger;
  /** This process's holder, given each document stored at once (other processes poll). */
  readonly holder?: TopologyHolder;
}

/** Where a document came from: `file` with its path, or `api`. */
export type CmdbSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'api' };

/**
 * The one way a CMDB document becomes the topology in force, for the file and the API alike:
 * parse and validate the whole document, then replace the stored topology in one transaction.
 * A bad document throws CmdbDocumentError (counted in quell_cmdb_load_failures_total) before
 * anything is written: the topology in force stays.
 */
export class CmdbLoader {
  constructor(private readonly deps: CmdbLoaderDeps) {}

  async load(text: string, format: CmdbFormat, source: CmdbSource): Promise<CmdbReplaced> {
    let parsed;
    try {
      parsed = parseCmdb(text, format);
    } catch (err) {
      if (err instanceof CmdbDocumentError) this.deps.metrics.loadFailures.inc({ source: source.kind });
      throw err;
    }
    const name = source.kind === 'file' ? `file:${source.path}` : 'api';
    const started = performance.now();
    const stored = await replaceCmdb(this.deps.db, parsed.doc, parsed.hash, name);
    if (stored.changed) {
      this.deps.log.info({
        version: stored.version, cis: stored.cis, relations: stored.relations, source: name,
        ms: Math.round(performance.now() - started),
      }, 'CMDB topology stored');
    }
    // This process holds what it stored before answering (others poll); no need to read it back.
    if (stored.changed) this.deps.holder?.adopt(parsed.doc, stored);
    return stored;
  }
}
