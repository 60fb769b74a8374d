import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatOfFile, parseCmdb } from '../cmdb/cmdb-document';
import type { Connector } from '../connectors/connector';
import type { CmdbDocument } from '../domain/cmdb';
import type { RuleBundle } from '../rules/rule-bundle';
import { compileRuleSources, formatProblem } from '../rules/rule-loader';
import type { LintOutput } from '../rules/rules-lint';
import { DryRunEngine } from './dry-run-engine';
import { jobsOf } from './recorded-payload';
import { compareIncidents } from './rule-test-compare';
import { payloadsOf } from './rule-test-input';
import { formatMismatches } from './rule-test-report';
import { ruleTestsKind, type RuleTestCase } from './rule-tests-kind';
import { loadToolRules } from './tool-rules';

export interface RulesTestOptions {
  /** The connector test alerts go through (Alertmanager's). */
  readonly connector: Connector;
  readonly maxClockSkewSeconds: number;
}

type Outcome = 'passed' | 'failed' | 'error';

/** A test file's name: `*.test.yaml` or `*.test.yml`. */
export const isRuleTestFileName = (name: string): boolean => /\.test\.ya?ml$/.test(name);

/**
 * `quell rules test [paths]`: runs every rule test file given, or found under a directory given
 * (recursively, `*.test.yaml`), on the engine itself (DryRunEngine) with the rule files each
 * names. Prints each test's result, the diff of each failure at `file:line`, and a summary.
 * Returns the exit code: 0 when every test passed, 1 otherwise.
 */
export async function testRules(paths: readonly string[], output: LintOutput, opts: RulesTestOptions): Promise<0 | 1> {
  const files: string[] = [];
  for (const path of paths) {
    try {
      files.push(...await testFilesAt(path));
    } catch (err) {
      output.err(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return 1;
    }
  }
  if (files.length === 0) {
    output.err(`no rule test files (*.test.yaml) in ${paths.join(', ')}`);
    return 1;
  }
  const tally: Record<Outcome, number> = { passed: 0, failed: 0, error: 0 };
  let unloaded = 0;
  const bundles = new Map<string, RuleBundle | undefined>();
  let engine: DryRunEngine | undefined;
  try {
    for (const file of files) {
      output.out(file);
      const report = compileRuleSources([{ file, text: await readFile(file, 'utf8') }], [ruleTestsKind]);
      if (report.bundle === undefined) {
        for (const e of report.errors) output.err(formatProblem(e));
        output.out('  ERROR  the test file does not load');
        unloaded++;
        continue;
      }
      for (const test of report.bundle.get(ruleTestsKind)) {
        const key = test.ruleFiles.join('\0');
        if (!bundles.has(key)) bundles.set(key, await loadToolRules(test.ruleFiles, output));
        const rules = bundles.get(key);
        engine ??= rules && await DryRunEngine.open(rules);
        const outcome = await runTest(test, rules, engine, output, opts);
        tally[outcome]++;
      }
    }
  } finally {
    await engine?.close();
  }
  const total = tally.passed + tally.failed + tally.error;
  const parts = [`${tally.passed} passed`, `${tally.failed} failed`];
  if (tally.error > 0) parts.push(`${tally.error} not run (errors)`);
  if (unloaded > 0) parts.push(`${counted(unloaded, 'file')} not loaded`);
  output.out(`${counted(total, 'test')} in ${counted(files.length, 'file')}: ${parts.join(', ')}`);
  return tally.failed + tally.error + unloaded > 0 ? 1 : 0;
}

async function runTest(
  test: RuleTestCase, rules: RuleBundle | undefined, engine: DryRunEngine | undefined,
  output: LintOutput, opts: RulesTestOptions,
): Promise<Outcome> {
  const where = `${test.file}:${test.line}`;
  if (rules === undefined || engine === undefined) {
    output.out(`  ERROR  ${where}: ${test.name}: its rule files do not load`);
    return 'error';
  }
  const { jobs, refused } = jobsOf(opts.connector, payloadsOf(test), test.startMs, opts.maxClockSkewSeconds);
  if (refused.length > 0) {
    output.out(`  ERROR  ${where}: ${test.name}: input the ${opts.connector.id} connector refuses`);
    for (const r of refused) output.out(`    ${test.file}:${r.line}: ${r.reason}`);
    return 'error';
  }
  let cmdb: CmdbDocument | undefined;
  if (test.cmdb !== undefined) {
    try {
      cmdb = parseCmdb(await readFile(test.cmdb, 'utf8'), formatOfFile(test.cmdb)).doc;
    } catch (err) {
      output.out(`  ERROR  ${where}: ${test.name}: cmdb ${test.cmdb}: ${(err as Error).message}`);
      return 'error';
    }
  }
  await engine.reset(rules, cmdb);
  await engine.run(jobs);
  const mismatches = compareIncidents(test.expected, await engine.incidents());
  if (mismatches.length === 0) {
    output.out(`  ok     ${test.name}`);
    return 'passed';
  }
  output.out(`  FAIL   ${where}: ${test.name}`);
  for (const line of formatMismatches(test.file, mismatches)) output.out(`    ${line}`);
  return 'failed';
}

/** The test files at `path`: the file itself, or a directory's `*.test.yaml`, recursively, in name order. */
async function testFilesAt(path: string): Promise<string[]> {
  if ((await stat(path)).isFile()) return [path];
  const out: string[] = [];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...await testFilesAt(full));
    else if (isRuleTestFileName(entry.name)) out.push(full);
  }
  return out;
}

const counted = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
