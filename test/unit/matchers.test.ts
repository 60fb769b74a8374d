import { matches, matchesAll, MatcherSyntaxError, parseMatcher } from '../../src/domain/matchers';

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
