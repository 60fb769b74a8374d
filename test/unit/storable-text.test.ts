import { findUnstorableText } from '../../src/connectors/storable-text';

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
