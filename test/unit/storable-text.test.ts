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
