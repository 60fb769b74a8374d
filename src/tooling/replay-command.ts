import { readFile } from 'node:fs/promises';
import type { Connector } from '../connectors/connector';
import type { RuleBundle } from '../rules/rule-bundle';
import type { LintOutput } from '../rules/rules-lint';
import { DryRunEngine, type DryRunCounts, type DryRunIncident, type DryRunJob } from './dry-run-engine';
import { progressOn, type ProgressStream } from './progress-bar';
import { jobsOf } from './recorded-payload';
import { diffRuleSets } from './replay-diff';
import { inferStart, readRecording } from './replay-input';
import { diffJson, diffReport, incidentJson, incidentSummary, incidentTable } from './replay-report';
import { loadToolRules } from './tool-rules';
import { formatOfFile, parseCmdb } from '../cmdb/cmdb-document';
import type { CmdbDocument } from '../domain/cmdb';

export interface ReplayOptions {
  /** The rules to replay with: a directory (as QUELL_RULES_DIR) or one file. */
  readonly rules: string;
  /** Other rules: print what would change between `rules` and these. */
  readonly against?: string;
  /** A CMDB document (JSON or YAML) to correlate by topology with. @defaultValue none */
  readonly cmdb?: string;
  /** The time the recording began (ISO 8601); by default inferred from its alerts' times. */
  readonly start?: string;
  /** Print JSON instead of text. */
  readonly json?: boolean;
  readonly connector: Connector;
  readonly maxClockSkewSeconds: number;
  /** Where progress goes (stderr). */
  readonly progress: ProgressStream;
}

/** Problems listed in full before the rest is counted. */
const SHOWN = 10;

/** A busy worker's group commit: jobs within a second of each other share a transaction. */
const BATCH_WINDOW_MS = 1000;

interface Pass {
  readonly rules: string;
  readonly version: string;
  readonly incidents: readonly DryRunIncident[];
  readonly counts: DryRunCounts;
}

/**
 * `quell replay <recording> [--rules dir] [--against dir]`: applies recorded webhook payloads
 * (JSONL, `{"offsetMs":…,"payload":{…}}`) through the connector's intake and the engine itself
 * (DryRunEngine, an in-memory database), at their recorded pace in simulated time, and prints
 * the incidents that would form; with `against`, runs the same input through the other rules
 * and prints what would change (a backtest before deploying). Returns the exit code: 1 when the
 * recording has unreadable lines or a rule set does not load, else 0.
 */
export async function replay(file: string, output: LintOutput, opts: ReplayOptions): Promise<0 | 1> {
  let recording;
  try {
    recording = await readRecording(file);
  } catch (err) {
    output.err(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 1;
  }
  const { payloads, unreadable } = recording;
  report(output, file, 'unreadable', unreadable, unreadable.length);
  const startMs = opts.start !== undefined ? Date.parse(opts.start) : inferStart(payloads) ?? Date.now();
  if (!Number.isFinite(startMs)) {
    output.err(`--start: expected an ISO 8601 time such as 2026-01-05T09:00:00Z, got ${JSON.stringify(opts.start)}`);
    return 1;
  }
  const input = jobsOf(opts.connector, payloads, startMs, opts.maxClockSkewSeconds);
  report(output, file, `refused by the ${opts.connector.id} connector`, input.refused, input.refusedCount);

  const sets = [opts.rules, ...(opts.against !== undefined ? [opts.against] : [])];
  const bundles: RuleBundle[] = [];
  for (const path of sets) {
    const bundle = await loadToolRules([path], output);
    if (bundle === undefined) return 1;
    bundles.push(bundle);
  }
  let cmdb: CmdbDocument | undefined;
  if (opts.cmdb !== undefined) {
    try {
      cmdb = parseCmdb(await readFile(opts.cmdb, 'utf8'), formatOfFile(opts.cmdb)).doc;
    } catch (err) {
      output.err(`--cmdb ${opts.cmdb}: ${(err as Error).message}`);
      return 1;
    }
  }
  const passes: Pass[] = [];
  const engine = await DryRunEngine.open(bundles[0] as RuleBundle, { batchWindowMs: BATCH_WINDOW_MS });
  try {
    for (const [n, bundle] of bundles.entries()) {
      await engine.reset(bundle, cmdb);
      const label = `replay ${sets[n]}`;
      await applyWithProgress(engine, input.jobs, input.alerts, label, opts.progress);
      const [incidents, counts] = [await engine.incidents(), await engine.counts()];
      passes.push({ rules: sets[n] as string, version: bundle.version, incidents, counts });
    }
  } finally {
    await engine.close();
  }

  const span = payloads.length > 0 ? Math.max(...payloads.map((p) => p.offsetMs)) : 0;
  const intro = `${file}: ${payloads.length} payloads, ${input.alerts} alerts over ${seconds(span)} from `
    + new Date(startMs).toISOString();
  const [before, after] = passes;
  const compared = passes.length === 2 && before !== undefined && after !== undefined
    ? { before, after, diff: diffRuleSets(before.incidents, after.incidents) } : undefined;
  if (opts.json) {
    output.out(JSON.stringify({
      input: { file, payloads: payloads.length, alerts: input.alerts, start: new Date(startMs).toISOString(),
        refused: input.refusedCount, unreadable: unreadable.length },
      runs: passes.map((p) => ({
        rules: p.rules, version: p.version, counts: p.counts, incidents: p.incidents.map(incidentJson),
      })),
      ...(compared !== undefined ? { diff: diffJson(compared.diff) } : {}),
    }));
  } else {
    output.out(intro);
    for (const p of passes) {
      output.out('');
      output.out(`${p.rules} (version ${p.version}): ${incidentSummary(p.incidents, p.counts)}`);
      if (compared === undefined) for (const line of incidentTable(p.incidents)) output.out(`  ${line}`);
    }
    if (compared !== undefined) {
      const { before: b, after: a, diff } = compared;
      output.out('');
      output.out(`${b.rules} -> ${a.rules}: ${b.incidents.length} incidents -> ${a.incidents.length}`);
      for (const line of diffReport(diff)) output.out(`  ${line}`);
    }
  }
  return unreadable.length > 0 ? 1 : 0;
}

async function applyWithProgress(
  engine: DryRunEngine, jobs: readonly DryRunJob[], alerts: number, label: string, stream: ProgressStream,
): Promise<void> {
  const progress = progressOn(stream, label, alerts, 'alerts');
  try {
    await engine.run(jobs, (n) => progress.advance(n));
  } finally {
    progress.done();
  }
}

function report(
  output: LintOutput, file: string, what: string, shown: readonly { line: number; reason: string }[], count: number,
): void {
  for (const p of shown.slice(0, SHOWN)) output.err(`${file}:${p.line}: ${what}: ${p.reason}`);
  if (count > SHOWN) output.err(`${file}: ${count - SHOWN} more lines ${what}`);
}

const seconds = (ms: number): string =>
  (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);
