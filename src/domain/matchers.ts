import { labelValue, type Labels } from './alert';

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One Alertmanager-style matcher, e.g. `severity=~"critical|warning"`. */
export interface Matcher {
  readonly name: string;
  readonly op: MatchOp;
  readonly value: string;
  /** For `=~` and `!~`: the value anchored at both ends, as Alertmanager does. */
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
  const value = unquote(input, raw);
  if (op === '=~' || op === '!~') {
    try {
      return { name, op, value, regex: new RegExp(`^(?:${value})$`, 'su') };
    } catch (err) {
      throw new MatcherSyntaxError(input, `bad regular expression: ${(err as Error).message}`);
    }
  }
  return { name, op, value };
}

function unquote(input: string, raw: string): string {
  if (!raw.startsWith('"')) {
    if (/["\s,{}]/.test(raw)) throw new MatcherSyntaxError(input, 'a value with spaces or quotes must be double-quoted');
    return raw;
  }
  if (raw.length < 2 || !raw.endsWith('"')) throw new MatcherSyntaxError(input, 'unterminated quoted value');
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i];
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

export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => matches(m, labels));
}
