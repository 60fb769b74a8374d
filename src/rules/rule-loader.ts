import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { parseDuration } from '../domain/duration';
import { MatcherSyntaxError, parseMatcher } from '../domain/matchers';
import { ruleFileSchema } from './rule-schema';
import { RuleSet, type CorrelationRule } from './rule-set';

/** A rule file that cannot load; `message` starts with `file:line:column`. Not retryable: fix the file. */
export class RuleFileError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, reason: string) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'RuleFileError';
  }
}

/** Parses one rule file's text. `file` is only used in messages. */
export function parseRuleFile(file: string, text: string): CorrelationRule[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, reason: string): RuleFileError => {
    const pos = lines.linePos(offset);
    return new RuleFileError(file, pos.line, pos.col, reason);
  };
  const first = doc.errors[0];
  if (first) throw at(first.pos[0], first.message.split('\n')[0] as string);

  const parsed = ruleFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const where = path.length > 0 ? `${path.join('.')}: ` : '';
    throw at(offsetOf(doc, path), `${where}${issue.message}`);
  }

  return parsed.data.rules.map((spec, i) => {
    const matchers = spec.matchers.map((text, j) => {
      try {
        return parseMatcher(text);
      } catch (err) {
        if (err instanceof MatcherSyntaxError) throw at(offsetOf(doc, ['rules', i, 'matchers', j]), err.message);
        throw err;
      }
    });
    const line = lines.linePos(offsetOf(doc, ['rules', i])).line;
    return {
      name: spec.name,
      matchers,
      groupBy: spec.group_by,
      groupWindowMs: parseDuration(spec.group_window) as number,
      impact: spec.impact,
      ...(spec.title !== undefined ? { title: spec.title } : {}),
      origin: `${file}:${line}`,
    };
  });
}

/** The start of the deepest node along `path` that exists in the document. */
function offsetOf(doc: Document, path: readonly (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

/** The rules directory cannot be read. Not retryable: fix QUELL_RULES_DIR. */
export class RulesDirError extends Error {
  override name = 'RulesDirError';
}

/** Loads every `*.yaml` / `*.yml` file of `dir`, in name order; rule names must be unique. */
export async function loadRules(dir: string): Promise<RuleSet> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new RulesDirError(`rules directory ${dir} (QUELL_RULES_DIR): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const files = names.filter((f) => /\.ya?ml$/.test(f)).sort();
  const rules: CorrelationRule[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const file = join(dir, name);
    for (const rule of parseRuleFile(file, await readFile(file, 'utf8'))) {
      const other = seen.get(rule.name);
      if (other !== undefined) {
        const [, line] = rule.origin.split(/:(?=\d+$)/);
        throw new RuleFileError(file, Number(line), 1, `rule name ${JSON.stringify(rule.name)} is already used at ${other}`);
      }
      seen.set(rule.name, rule.origin);
      rules.push(rule);
    }
  }
  return new RuleSet(rules);
}
