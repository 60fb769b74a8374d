import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { RuleBundle } from './rule-bundle';
import type { AnyRuleKind } from './rule-kind';
import { RULE_KINDS } from './rule-kinds';
import { formatProblem, inspectRules, isRuleFileName, RuleFileError, type RuleLoadReport } from './rule-loader';
import { createRulesMetrics, type RulesMetrics } from './rules-metrics';

export interface RulesHolderOptions {
  /** The rules directory (QUELL_RULES_DIR). */
  readonly dir: string;
  readonly log: Logger;
  /** Where the holder registers its metrics (`quell_rules_*`). */
  readonly registry: Registry;
  /** @defaultValue RULE_KINDS */
  readonly kinds?: readonly AnyRuleKind[];
  /** Quiet time after the last file event before reloading: an editor's save is several events. @defaultValue 250 */
  readonly debounceMs?: number;
  /**
   * How often the files' names, sizes and modification times are compared with the last look,
   * for changes that fs.watch misses (network file systems, a directory replaced). @defaultValue 10000
   */
  readonly pollMs?: number;
}

/** What one reload did. */
export type ReloadOutcome =
  | { readonly status: 'reloaded' | 'unchanged'; readonly version: string }
  | { readonly status: 'failed'; readonly errors: readonly string[] };

/** What started a reload: a file event, the periodic check, SIGHUP, or a caller. */
export type ReloadTrigger = 'watch' | 'poll' | 'SIGHUP' | 'manual';

/**
 * The rules in force in this process, and their reloading. `current()` is the bundle in
 * force; a reload reads and compiles the whole directory and, only if every file is valid,
 * swaps the new bundle in (one assignment: a job already running keeps the bundle it took).
 * An invalid file is rejected with `file:line:column` in the log and the rules in force stay.
 *
 * Reloads run one at a time, on file changes (fs.watch, debounced), on a periodic check of the
 * files' sizes and mtimes (fs.watch is not reliable everywhere), and on `reload()` (SIGHUP).
 */
export class RulesHolder {
  private bundle: RuleBundle;
  private readonly metrics: RulesMetrics;
  private readonly kinds: readonly AnyRuleKind[];
  private running: Promise<unknown> = Promise.resolve();
  /** The version (or error) of the last failed load: a file event on the same broken files is no new failure. */
  private lastFailure: string | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private filesSeen = '';
  private closed = false;

  private constructor(private readonly opts: RulesHolderOptions, initial: RuleLoadReport & { bundle: RuleBundle }) {
    this.kinds = opts.kinds ?? RULE_KINDS;
    this.metrics = createRulesMetrics(opts.registry);
    this.bundle = initial.bundle;
    this.publish(initial.bundle);
    this.metrics.lastSuccessful.set(1);
    this.logWarnings(initial);
  }

  /** Loads the directory; throws RuleFileError or RulesDirError when it cannot (start-up stops). */
  static async open(opts: RulesHolderOptions): Promise<RulesHolder> {
    const report = await inspectRules(opts.dir, opts.kinds ?? RULE_KINDS);
    if (report.bundle === undefined) throw new RuleFileError(report.errors);
    return new RulesHolder(opts, { ...report, bundle: report.bundle });
  }

  /** The bundle in force. Read it once per unit of work (a job) and use that one throughout. */
  current(): RuleBundle {
    return this.bundle;
  }

  /**
   * Reads the directory again and puts it in force if it is valid and differs from the rules in
   * force. Never throws: a failure is logged with every `file:line:column`, counted, and leaves
   * the rules in force as they are.
   */
  reload(trigger: ReloadTrigger = 'manual'): Promise<ReloadOutcome> {
    const next = this.running.catch(() => undefined).then(() => this.load(trigger));
    this.running = next;
    return next;
  }

  /** Starts reloading on file changes and on the periodic check. */
  watch(): void {
    if (this.poller !== undefined || this.closed) return;
    this.startWatcher();
    void this.snapshot().then((seen) => { this.filesSeen = seen; });
    this.poller = setInterval(() => void this.poll(), this.opts.pollMs ?? 10_000);
    this.poller.unref();
  }

  /** Stops watching; the bundle in force stays readable. */
  close(): void {
    this.closed = true;
    clearInterval(this.poller);
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private async load(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const { log } = this.opts;
    let report: RuleLoadReport;
    try {
      report = await inspectRules(this.opts.dir, this.kinds);
    } catch (err) {
      return this.fail(trigger, (err as Error).message, [(err as Error).message]);
    }
    if (report.bundle === undefined) return this.fail(trigger, report.version, report.errors.map(formatProblem));
    this.lastFailure = undefined;
    this.metrics.lastSuccessful.set(1);
    const previous = this.bundle;
    if (report.bundle.version === previous.version) {
      // An operator who sent SIGHUP hears that it was read; file events on unchanged files stay quiet.
      const level = trigger === 'watch' || trigger === 'poll' ? 'debug' : 'info';
      log[level]({ trigger, version: previous.version, rules: previous.counts }, 'rules reloaded: unchanged');
      return { status: 'unchanged', version: previous.version };
    }
    this.bundle = report.bundle;
    this.publish(report.bundle);
    this.metrics.reloads.inc();
    log.info({
      trigger, version: report.bundle.version, previous: previous.version,
      rules: report.bundle.counts, files: report.bundle.files.length,
    }, 'rules reloaded');
    this.logWarnings(report);
    return { status: 'reloaded', version: report.bundle.version };
  }

  private fail(trigger: ReloadTrigger, what: string, errors: readonly string[]): ReloadOutcome {
    // A file event or the periodic check on files already found broken is not a new failure;
    // SIGHUP and callers asked, and hear about it again.
    const repeated = (trigger === 'watch' || trigger === 'poll') && this.lastFailure === what;
    this.lastFailure = what;
    if (!repeated) {
      this.metrics.failures.inc();
      this.metrics.lastSuccessful.set(0);
      const version = this.bundle.version;
      this.opts.log.error({ trigger, version, errors }, 'rules reload failed; the rules in force stay');
    }
    return { status: 'failed', errors };
  }

  private publish(bundle: RuleBundle): void {
    for (const [kind, count] of Object.entries(bundle.counts)) this.metrics.loaded.set({ kind }, count);
    this.metrics.version.reset();
    this.metrics.version.set({ hash: bundle.version }, 1);
  }

  private logWarnings(report: RuleLoadReport): void {
    if (report.warnings.length === 0) return;
    this.opts.log.warn({ warnings: report.warnings.map(formatProblem) }, 'rule files have warnings');
  }

  private startWatcher(): void {
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload('watch'), this.opts.debounceMs ?? 250);
        this.debounce.unref();
      });
      // The directory went away (or was replaced): the periodic check watches again once it is back.
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
    } catch {
      this.watcher = undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    if (this.watcher === undefined) this.startWatcher();
    const seen = await this.snapshot();
    if (seen === this.filesSeen) return;
    this.filesSeen = seen;
    await this.reload('poll');
  }

  /** The rule files' names, sizes and modification times; or the error reading them. */
  private async snapshot(): Promise<string> {
    try {
      const names = (await readdir(this.opts.dir)).filter(isRuleFileName).sort();
      const parts = await Promise.all(names.map(async (name) => {
        const s = await stat(join(this.opts.dir, name));
        return `${name}:${s.size}:${s.mtimeMs}`;
      }));
      return parts.join('\n');
    } catch (err) {
      return `error:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
}
