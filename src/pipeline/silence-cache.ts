import type { Kysely, Transaction } from 'kysely';
import { SilenceIndex } from '../domain/silence';
import type { Database } from '../store/database';
import { loadLiveSilences, readSilencesVersion } from '../store/silence-store';

/**
 * The silences a worker process evaluates, cached: each use reads one counter
 * (`silences_version`, which every silence change moves in its own transaction) and reloads the
 * live silences only when it moved. Loaded as of a time, so a clock that goes back (tests)
 * reloads too; silences that end meanwhile are filtered at evaluation (SilenceIndex).
 */
export class SilenceCache {
  private version: string | undefined;
  private loadedAt = Number.POSITIVE_INFINITY;
  private index = new SilenceIndex([]);

  /**
   * The silences not expired at `now`, indexed; `db` is the caller's transaction. `version` is the
   * counter as the transaction read it already (StageContext.silencesVersion), else it is read here.
   */
  async current(db: Kysely<Database> | Transaction<Database>, now: Date, version?: string): Promise<SilenceIndex> {
    // The counter first: a change committed between the two reads is then loaded again next time.
    version ??= await readSilencesVersion(db);
    if (version !== this.version || now.getTime() < this.loadedAt) {
      const silences = await loadLiveSilences(db, now);
      this.index = new SilenceIndex(silences);
      this.version = version;
      this.loadedAt = now.getTime();
    }
    return this.index;
  }
}
