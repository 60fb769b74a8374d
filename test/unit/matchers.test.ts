import { acceptedValues, matches, matchesAll, MatcherSyntaxError, parseMatcher } from '../../src/domain/matchers';

describe('matchers', () => {
  test.each([
    ['severity="critical"', { severity: 'critical' }, true],
    ['severity="critical"', { severity: 'warning' }, false],
    ['severity!="critical"', { severity: 'warning' }, true],
    ['severity=~"crit.*|warning"', { severity: 'warning' }, true],
    ['severity=~"crit"', { severity: 'critical' }, false], // anchored, as in Alertmanager
    ['severity!~"info|none"', { severity: 'critical' }, true],
    ['team=""', {}, true], // a missing label is the empty string
    ['team!=""', {}, false],
    ['env=prod', { env: 'prod' }, true], // unquoted value
    ['msg="say \\"hi\\""', { msg: 'say "hi"' }, true],
  ] as const)('%s on %j is %s', (text, labels, expected) => {
    expect(matches(parseMatcher(text), labels)).toBe(expected);
  });

  test('all matchers must hold', () => {
    const ms = ['a="1"', 'b=~"x|y"'].map(parseMatcher);
    expect(matchesAll(ms, { a: '1', b: 'y' })).toBe(true);
    expect(matchesAll(ms, { a: '1', b: 'z' })).toBe(false);
  });

  test.each(['severity', '1abc="x"', 'a=~"("', 'a="open', 'a=two words'])('rejects %s', (text) => {
    expect(() => parseMatcher(text)).toThrow(MatcherSyntaxError);
  });

  test('label values are data, not patterns', () => {
    // A hostile value full of regex syntax is compared literally by `=`.
    expect(matches(parseMatcher('a=".*"'), { a: 'anything' })).toBe(false);
    expect(matches(parseMatcher('a=".*"'), { a: '.*' })).toBe(true);
  });
});

test('a missing label named like an Object property has the value ""', () => {
  expect(matches(parseMatcher('constructor=""'), { alertname: 'A' })).toBe(true);
  expect(matches(parseMatcher('hasOwnProperty=~".+"'), { alertname: 'A' })).toBe(false);
});

describe('RE2 matchers', () => {
  test('a catastrophic-backtracking pattern on a hostile value finishes in linear time', () => {
    // A backtracking engine (JavaScript's RegExp) takes exponential time on this: minutes and more.
    const m = parseMatcher('instance=~"(a+)+$"');
    const hostile = `${'a'.repeat(100_000)}!`;
    const started = process.hrtime.bigint();
    expect(matches(m, { instance: hostile })).toBe(false);
    expect(matches(parseMatcher('instance=~"(a|aa)+"'), { instance: hostile })).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    expect(matches(m, { instance: 'aaaa' })).toBe(true);
  });

  test('the Go syntax Alertmanager users write works', () => {
    expect(matches(parseMatcher('severity=~"(?i)CRIT.*"'), { severity: 'critical' })).toBe(true);
    expect(matches(parseMatcher('host=~"[[:alpha:]]+-\\\\d+"'), { host: 'web-12' })).toBe(true);
    expect(matches(parseMatcher('job=~"(?P<name>api|web)"'), { job: 'web' })).toBe(true);
    expect(matches(parseMatcher('msg=~"a.b"'), { msg: 'a\nb' })).toBe(true); // . matches newlines, as in Alertmanager
  });

  test.each([
    ['a=~"(x)\\\\1"', 'backreferences are not supported'],
    ['a=~"(?=x)x"', 'lookaround is not supported'],
    ['a=~"x(?<!y)"', 'lookaround is not supported'],
    ['a=~"(?<n>x)\\\\k<n>"', 'backreferences are not supported'],
    ['a=~"[z-a]"', 'bad regular expression (RE2 syntax)'],
  ])('%s is rejected: %s', (text, reason) => {
    expect(() => parseMatcher(text)).toThrow(reason);
  });

  test('accepted values name what an equality or a word alternation takes', () => {
    expect(acceptedValues(parseMatcher('a="x"'))).toEqual(['x']);
    expect(acceptedValues(parseMatcher('a=~"NodeDown|Node_Down:1|NodeDown"'))).toEqual(['NodeDown', 'Node_Down:1']);
    expect(acceptedValues(parseMatcher('a=~"Node.*"'))).toBeUndefined();
    expect(acceptedValues(parseMatcher('a=~"x|"'))).toBeUndefined();
    expect(acceptedValues(parseMatcher('a!="x"'))).toBeUndefined();
    expect(acceptedValues(parseMatcher('a!~"x"'))).toBeUndefined();
  });
});
