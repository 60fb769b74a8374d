import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log';
import { CmdbDocumentError, formatOfFile } from './cmdb-document';
import type { CmdbLoader } from './cmdb-loader';

export interface CmdbFileWatcherOptions {
  /** QUELL_CMDB_FILE: `.json` is read as JSON, anything else as YAML. */
  readonly file: string;
  readonly loader: CmdbLoader;
  readonly log: Logger;
  /** Quiet time after a change event before reading (editors write in several steps). @defaultValue 500 */
  readonly debounceMs?: number;
  /**
   * The file's mtime, size and inode are also checked this often (fs.watch misses changes on
   * some mounts). @defaultValue 5000
   */
  readonly pollMs?: number;
  /** Listen to fs.watch events besides polling. @defaultValue true */
  readonly watch?: boolean;
}

export interface CmdbFileWatcher {
  /** The first load, done (or failed and logged). */
  readonly ready: Promise<void>;
  close(): void;
}

/**
 * Applies the CMDB file at start and whenever its content changes. The directory is watched,
 * not the file, so that a file replaced by rename (editors, Kubernetes ConfigMaps swapping a
 * symlink) is seen; every event and every poll only stats the file, and reads it when its
 * mtime, size or inode moved. A file whose bytes equal the last ones applied is not parsed
 * again. A bad file is logged with the file and the field, and the topology in force stays;
 * when the database cannot be reached the same bytes are tried again at the next poll.
 */
export function watchCmdbFile(opts: CmdbFileWatcherOptions): CmdbFileWatcher {
  const { file, loader, log } = opts;
  let signature = '';
  let appliedHash = '';
  let lastProblem = '';
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  const problem = (message: string, fields: Record<string, unknown>, level: 'warn' | 'error'): void => {
    if (message === lastProblem) return;
    lastProblem = message;
    log[level]({ file, ...fields }, message);
  };

  const check = async (): Promise<void> => {
    let text: string;
    try {
      const s = await stat(file);
      const sig = `${s.mtimeMs}:${s.size}:${s.ino}`;
      if (sig === signature) return;
      signature = sig;
      text = await readFile(file, 'utf8');
    } catch (err) {
      signature = '';
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problem(`cannot read the CMDB file (QUELL_CMDB_FILE): ${code}`, {}, 'warn');
      return;
    }
    const hash = createHash('sha256').update(text).digest('hex');
    if (hash === appliedHash) return;
    try {
      const stored = await loader.load(text, formatOfFile(file), { kind: 'file', path: file });
      appliedHash = hash;
      lastProblem = '';
      log.info({ file, version: stored.version, changed: stored.changed }, 'CMDB file applied');
    } catch (err) {
      if (err instanceof CmdbDocumentError) {
        appliedHash = hash; // the same bad bytes are not worth parsing again
        problem(`${file}: ${err.message}`, { field: err.field }, 'error');
        return;
      }
      signature = ''; // the database: try the same bytes again at the next poll
      problem(`cannot store the CMDB file: ${(err as Error).message}`, {}, 'warn');
    }
  };

  /** One check at a time; a request during a check runs one more after it. */
  const request = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) { again = true; return running; }
    running = check().finally(() => {
      running = undefined;
      if (again) { again = false; void request(); }
    });
    return running;
  };

  let debounce: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    if (opts.watch !== false) watcher = watch(dirname(file), { persistent: false }, () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void request(), opts.debounceMs ?? 500);
    });
    watcher?.on('error', () => { watcher?.close(); watcher = undefined; });
  } catch {
    // No directory to watch (yet): the poll still finds the file when it appears.
  }
  const poll = setInterval(() => void request(), opts.pollMs ?? 5000);
  poll.unref();

  return {
    ready: request(),
    close() {
      closed = true;
      clearInterval(poll);
      clearTimeout(debounce);
      watcher?.close();
    },
  };
}
