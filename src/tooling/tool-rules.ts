import type { RuleBundle } from '../rules/rule-bundle';
import { RULE_KINDS } from '../rules/rule-kinds';
import { compileRuleSources, formatProblem, readRulePath, type RuleSource } from '../rules/rule-loader';
import type { LintOutput } from '../rules/rules-lint';

/**
 * The rules at `paths` (rule files, or directories read as QUELL_RULES_DIR is), in that order,
 * compiled as the engine loads them. Every problem goes to `output.err` as `file:line:column`;
 * undefined when they do not load.
 */
export async function loadToolRules(paths: readonly string[], output: LintOutput): Promise<RuleBundle | undefined> {
  const sources: RuleSource[] = [];
  for (const path of paths) {
    try {
      sources.push(...await readRulePath(path));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      output.err(e.name === 'RulesDirError' ? e.message : `cannot read ${path}: ${e.code ?? e.message}`);
      return undefined;
    }
  }
  const report = compileRuleSources(sources, RULE_KINDS);
  for (const problem of [...report.errors, ...report.warnings]) output.err(formatProblem(problem));
  if (report.bundle === undefined) output.err(`${paths.join(', ')}: the rules do not load`);
  return report.bundle;
}
