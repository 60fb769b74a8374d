import { findUnstorableText, mayHoldUnstorableText } from '../../src/connectors/storable-text';

test.each([
  [{ a: 'plain', b: ['ok', 'emoji \ud83d\udd25', { c: 'right-to-left \u202e' }] }, undefined],
  [{ a: ['x', { b: 'nul \u0000 here' }] }, 'a[1].b'],
  [{ a: 'lone high \ud800' }, 'a'],
  [{ a: 'lone low \udc00 x' }, 'a'],
  [{ ['key\u0000']: 'v' }, 'key\u0000'],
  ['\u0000', '(body)'],
  [{ n: 1, t: true, z: null }, undefined],
])('%j -> %s', (body, path) => {
  expect(findUnstorableText(body)).toBe(path);
});

test.each([
  ['{"a":"plain","u":"http://x/?a=1\\u0026b=2"}', false], // Go escapes & as \u0026
  ['{"a":"nul \\u0000"}', true],
  ['{"a":"high \\uD83D\\uDD25"}', true], // a valid pair still gets the (exact) walk
  ['{"a":"low \\udc00"}', true],
  ['{"a":"\\\\u0000 is a literal backslash"}', true], // harmless false positive
])('raw %s may hold unstorable text: %s', (raw, expected) => {
  expect(mayHoldUnstorableText(Buffer.from(raw))).toBe(expected);
  if (!expected) expect(findUnstorableText(JSON.parse(raw))).toBeUndefined();
});

test('a 20,000-deep array is walked without overflowing the stack, and the path found', () => {
  const depth = 20_000;
  const raw = `{"a":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`;
  expect(mayHoldUnstorableText(Buffer.from(raw))).toBe(true);
  expect(findUnstorableText(JSON.parse(raw))).toBe(`a${'[0]'.repeat(depth)}`);
  expect(findUnstorableText(JSON.parse(raw.replace('\\u0000', 'ok')))).toBeUndefined();
});

test('the first hit is reported, in document order, also under an own __proto__ key', () => {
  const body = JSON.parse('{"a":[{"b":"ok"},{"c":["ok","x\\u0000"]}],"__proto__":{"d":"\\ud800"}}');
  expect(findUnstorableText(body)).toBe('a[1].c[1]');
  delete body.a;
  expect(findUnstorableText(body)).toBe('__proto__.d');
});
