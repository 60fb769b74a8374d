import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { correlationRulesKind } from './kinds/correlation-rules-kind';
import { RuleBundle } from './rule-bundle';
import type { AnyRuleKind, CombineContext, DocumentContext, SourcePosition } from './rule-kind';
import { RULE_KINDS } from './rule-kinds';
import type { CorrelationRule } from './rule-set';
import { offsetOf } from '../yaml-offset';

/** One problem in the rule files, at a position. */
export interface RuleProblem extends SourcePosition {
  readonly severity: 'error' | 'warning';
  readonly reason: string;
}

/** `file:line:column: reason`, the form editors and CI logs link to a position. */
export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.reason}`;
}

/**
 * Rule files that cannot load. `message` has one `file:line:column: reason` line per error,
 * the first error's position is `file`, `line`, `column`. Not retryable: fix the files.
 */
export class RuleFileError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(readonly problems: readonly RuleProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'RuleFileError';
    const first = problems[0] as RuleProblem;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
  }
}

/** The rules directory cannot be read. Not retryable: fix QUELL_RULES_DIR. */
export class RulesDirError extends Error {
  override name = 'RulesDirError';
}

/** A rule file's name (as messages show it) and its text. */
export interface RuleSource {
  readonly file: string;
  readonly text: string;
}

/** What one read of rule files gave: a bundle when nothing is wrong, and every problem found. */
export interface RuleLoadReport {
  readonly bundle?: RuleBundle;
  readonly errors: readonly RuleProblem[];
  readonly warnings: readonly RuleProblem[];
  /** The version the files would have (a bundle's version), also when they have errors. */
  readonly version: string;
}

/**
 * Compiles rule files (already read, in load order) with the registered kinds. A file holds
 * one or more YAML documents (separated by `---`), each with `apiVersion` and `kind`; empty
 * documents are skipped. Every problem is reported, not only the first, so that one run of
 * `quell rules lint` shows them all. Pure: no I/O.
 */
export function compileRuleSources(
  sources: readonly RuleSource[],
  kinds: readonly AnyRuleKind[] = RULE_KINDS,
): RuleLoadReport {
  const errors: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const report = (severity: RuleProblem['severity'], at: SourcePosition, reason: string): void => {
    const problem = { file: at.file, line: at.line, column: at.column, severity, reason };
    (severity === 'error' ? errors : warnings).push(problem);
  };
  const items = new Map<AnyRuleKind, unknown[]>(kinds.map((k) => [k, []]));
  for (const source of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(source.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const position = (offset: number): SourcePosition => {
      const pos = lines.linePos(offset);
      return { file: source.file, line: pos.line, column: pos.col };
    };
    let documents = 0;
    for (const doc of docs) {
      const ctx: DocumentContext = {
        file: source.file,
        position: (path) => position(offsetOf(doc, path)),
        error: (path, reason) => report('error', position(offsetOf(doc, path)), reason),
        warn: (path, reason) => report('warning', position(offsetOf(doc, path)), reason),
      };
      const yamlError = doc.errors[0];
      if (yamlError) {
        report('error', position(yamlError.pos[0]), yamlError.message.split('\n')[0] as string);
        continue;
      }
      if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
      documents++;
      const compiled = compileDocument(doc, ctx, kinds);
      if (compiled) items.get(compiled.kind)?.push(...compiled.items);
    }
    if (documents === 0 && !errors.some((e) => e.file === source.file)) {
      report('warning', position(0), 'the file holds no rule document');
    }
  }

  const combine: CombineContext = {
    error: (at, reason) => report('error', at, reason),
    warn: (at, reason) => report('warning', at, reason),
  };
  const compiled = new Map<AnyRuleKind, unknown>();
  for (const [kind, kindItems] of items) compiled.set(kind, kind.combine(kindItems, combine));

  const version = versionOf(sources);
  const files = sources.map((s) => s.file);
  return {
    ...(errors.length === 0 ? { bundle: new RuleBundle(version, files, compiled) } : {}),
    errors, warnings, version,
  };
}

/** Dispatches one document on `kind` and `apiVersion`, checks it with that version's schema, compiles it. */
function compileDocument(
  doc: Document,
  ctx: DocumentContext,
  kinds: readonly AnyRuleKind[],
): { kind: AnyRuleKind; items: readonly unknown[] } | undefined {
  if (!isMap(doc.contents)) { ctx.error([], 'expected a mapping with apiVersion and kind'); return undefined; }
  const { apiVersion, kind: kindName, ...body } = doc.toJS() as Record<string, unknown>;
  const known = kinds.map((k) => k.kind).join(', ');
  if (kindName === undefined) { ctx.error([], `kind: missing; known kinds: ${known}`); return undefined; }
  const kind = kinds.find((k) => k.kind === kindName);
  if (kind === undefined) {
    ctx.error(['kind'], `kind: unknown kind ${JSON.stringify(kindName)}; known kinds: ${known}`);
    return undefined;
  }
  const versions = Object.keys(kind.versions).join(', ');
  if (apiVersion === undefined) {
    ctx.error([], `apiVersion: missing; ${kind.kind} is read in ${versions}`);
    return undefined;
  }
  const schema = typeof apiVersion === 'string' ? kind.versions[apiVersion] : undefined;
  if (schema === undefined) {
    const reason = `apiVersion: ${kind.kind} has no version ${JSON.stringify(apiVersion)}; known: ${versions}`;
    ctx.error(['apiVersion'], reason);
    return undefined;
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      ctx.error(path, `${path.length > 0 ? `${path.join('.')}: ` : ''}${issue.message}`);
    }
    return undefined;
  }
  return { kind, items: kind.compile(parsed.data, ctx) };
}

/** The first 12 hex digits of a SHA-256 over the files' base names and contents, in load order. */
function versionOf(sources: readonly RuleSource[]): string {
  const hash = createHash('sha256');
  for (const s of sources) hash.update(`${basename(s.file)}\0${s.text}\0`);
  return hash.digest('hex').slice(0, 12);
}

/**
 * Whether a file of the rules directory is a rule file: `*.yaml` or `*.yml`, but not a rule
 * test (`*.test.yaml`, read by `quell rules test` only). Subdirectories are never read, so rule
 * packs (`rules/packs/`) and their `tests/` load only when copied up.
 */
export function isRuleFileName(name: string): boolean {
  return /\.ya?ml$/.test(name) && !/\.test\.ya?ml$/.test(name);
}

/** Reads every rule file of `dir` (see {@link isRuleFileName}), in name order. */
export async function readRuleSources(dir: string): Promise<RuleSource[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new RulesDirError(`rules directory ${dir} (QUELL_RULES_DIR): ${reason}`);
  }
  const files = names.filter(isRuleFileName).sort().map((f) => join(dir, f));
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(file, 'utf8') })));
}

/**
 * The rule files at `path`: the file itself, or a directory's rule files as {@link readRuleSources}
 * reads them. Throws RulesDirError for a directory it cannot list, the fs error otherwise.
 */
export async function readRulePath(path: string): Promise<RuleSource[]> {
  if ((await stat(path)).isFile()) return [{ file: path, text: await readFile(path, 'utf8') }];
  return readRuleSources(path);
}

/** Reads and compiles the rules directory; every problem is in the report. Throws only RulesDirError. */
export async function inspectRules(dir: string, kinds: readonly AnyRuleKind[] = RULE_KINDS): Promise<RuleLoadReport> {
  return compileRuleSources(await readRuleSources(dir), kinds);
}

/** Loads the rules directory; throws RuleFileError (every error in its message) or RulesDirError. */
export async function loadRules(dir: string, kinds: readonly AnyRuleKind[] = RULE_KINDS): Promise<RuleBundle> {
  return bundleOf(await inspectRules(dir, kinds));
}

/** Compiles rule text given directly (tests, tools); throws RuleFileError. */
export function compileRuleText(file: string, text: string, kinds: readonly AnyRuleKind[] = RULE_KINDS): RuleBundle {
  return bundleOf(compileRuleSources([{ file, text }], kinds));
}

/** The correlation rules of one file's text; throws RuleFileError. */
export function parseRuleFile(file: string, text: string): readonly CorrelationRule[] {
  return compileRuleText(file, text).get(correlationRulesKind).rules;
}

function bundleOf(report: RuleLoadReport): RuleBundle {
  if (report.bundle === undefined) throw new RuleFileError(report.errors);
  return report.bundle;
}
