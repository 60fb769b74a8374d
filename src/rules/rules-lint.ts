import { compileRuleSources, formatProblem, readRulePath, type RuleProblem, type RuleSource } from './rule-loader';

export interface LintOutput {
  /** The summary. */
  out(line: string): void;
  /** Every problem, as `file:line:column: reason`. */
  err(line: string): void;
}

/**
 * `quell rules lint [path]`: compiles a rules directory (or one rule file) with the loader the
 * engine uses, prints every error and warning of every file, then a summary of what would be in
 * force. Returns the exit code: 0 when it would load, 1 when not.
 */
export async function lintRules(path: string, output: LintOutput): Promise<0 | 1> {
  let sources: RuleSource[];
  try {
    sources = await readRulePath(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    output.err(e.name === 'RulesDirError' ? e.message : `cannot read ${path}: ${e.code ?? e.message}`);
    return 1;
  }
  const report = compileRuleSources(sources);
  const order = new Map(sources.map((s, i) => [s.file, i]));
  const byPosition = (a: RuleProblem, b: RuleProblem): number =>
    (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.column - b.column;
  for (const problem of [...report.errors, ...report.warnings].sort(byPosition)) output.err(formatProblem(problem));

  const files = counted(sources.length, 'file');
  const warnings = report.warnings.length > 0 ? `, ${counted(report.warnings.length, 'warning')}` : '';
  if (report.bundle === undefined) {
    const failing = new Set(report.errors.map((e) => e.file)).size;
    output.out(`${path}: FAILED: ${counted(report.errors.length, 'error')} in ${failing} of ${files}${warnings}`);
    return 1;
  }
  output.out(`${path}: OK: ${files}, version ${report.bundle.version}${warnings}`);
  for (const [kind, count] of Object.entries(report.bundle.counts)) output.out(`  ${kind}: ${count}`);
  return 0;
}

const counted = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
