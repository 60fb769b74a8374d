import RE2 from 're2';
import { labelValue, type Labels } from './alert';

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One Alertmanager-style matcher, e.g. `severity=~"critical|warning"`. */
export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
  /**
   * For `=~` and `!~`: the value anchored at both ends, as Alertmanager does, compiled by RE2.
   * RE2 runs in time linear in the label value, so a hostile value cannot make a rule backtrack.
   */
  readonly regex?: RegExp;
}

export class MatcherSyntaxError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid matcher ${JSON.stringify(input)}: ${reason}`);
    this.name = 'MatcherSyntaxError';
  }
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/**
 * Parses `name op value`, where value is a double-quoted string (with `\"`, `\\`, `\n`
 * escapes) or a bare word. Regular expressions are anchored: `=~"a|b"` means `^(?:a|b)$`.
 * A missing label has the value "" (so `team=""` matches alerts without `team`).
 */
export function parseMatcher(input: string): Matcher {
  const m = MATCHER.exec(input);
  if (!m) throw new MatcherSyntaxError(input, 'expected name, one of = != =~ !~, and a value');
  const [, name, op, raw] = m as unknown as [string, string, MatchOp, string];
  return matcherOf(name, op, unquote(input, raw), input);
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A matcher from its parts, as an API sends them (Alertmanager's `{name, value, isRegex,
 * isEqual}`): the same checks and RE2 compilation as {@link parseMatcher}.
 */
export function matcherOf(name: string, op: MatchOp, value: string, input = matcherText({ name, op, value })): Matcher {
  if (!LABEL_NAME.test(name)) throw new MatcherSyntaxError(input, 'expected a label name: letters, digits and _');
  if (op === '=~' || op === '!~') return { name, op, value, regex: compileRegex(input, value) };
  return { name, op, value };
}

/** The matcher as text for messages and keys: `name op "value"`, the value JSON-quoted. */
export function matcherText(m: Pick<Matcher, 'name' | 'op' | 'value'>): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/**
 * RE2 accepts the syntax of Go's regexp (Alertmanager's dialect) and the JavaScript forms it can
 * translate, but nothing that needs backtracking: backreferences and lookaround are errors here.
 */
function compileRegex(input: string, value: string): RegExp {
  try {
    return new RE2(`^(?:${value})$`, 'su');
  } catch (err) {
    const reason = (err as Error).message;
    if (/invalid perl operator: \(\?<?[=!]/.test(reason)) {
      throw new MatcherSyntaxError(input, `lookaround is not supported (RE2 syntax, linear time): ${reason}`);
    }
    if (/invalid escape sequence: \\[1-9]/.test(reason) || /\\k</.test(value)) {
      throw new MatcherSyntaxError(input, `backreferences are not supported (RE2 syntax, linear time): ${reason}`);
    }
    throw new MatcherSyntaxError(input, `bad regular expression (RE2 syntax): ${reason}`);
  }
}

function unquote(input: string, raw: string): string {
  if (!raw.startsWith('"')) {
    if (/["\s,{}]/.test(raw)) throw new MatcherSyntaxError(input, 'a value with spaces or quotes must be double-quoted');
    return raw;
  }
  if (raw.length < 2 || !raw.endsWith('"')) throw new MatcherSyntaxError(input, 'unterminated quoted value');
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw.charAt(i);
    if (c === '"') throw new MatcherSyntaxError(input, 'unescaped quote inside value');
    if (c !== '\\') { out += c; continue; }
    const next = raw[++i];
    if (next === undefined || i === raw.length - 1) throw new MatcherSyntaxError(input, 'dangling backslash');
    out += next === 'n' ? '\n' : next;
  }
  return out;
}

export function matches(matcher: Matcher, labels: Labels): boolean {
  const actual = labelValue(labels, matcher.name);
  switch (matcher.op) {
    case '=': return actual === matcher.value;
    case '!=': return actual !== matcher.value;
    case '=~': return (matcher.regex as RegExp).test(actual);
    case '!~': return !(matcher.regex as RegExp).test(actual);
  }
}

/** A regex that is only an alternation of plain words, e.g. `NodeDown|InstanceDown`, names its values. */
const WORD_ALTERNATION = /^[a-zA-Z0-9_:-]+(?:\|[a-zA-Z0-9_:-]+)*$/;

/**
 * Every value the matcher accepts, when it accepts only a known few: `a="x"` gives `["x"]`,
 * `a=~"x|y"` gives `["x", "y"]`; undefined for any other matcher. Rule indexes use it to find
 * candidate rules by label value instead of trying every rule.
 */
export function acceptedValues(matcher: Matcher): readonly string[] | undefined {
  if (matcher.op === '=') return [matcher.value];
  if (matcher.op === '=~' && WORD_ALTERNATION.test(matcher.value)) return [...new Set(matcher.value.split('|'))];
  return undefined;
}

export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => matches(m, labels));
}
