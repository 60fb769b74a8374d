import { z } from 'zod';
import { fingerprint } from '../../src/domain/fingerprint';
import { labelSet, MAX_LABEL_NAME_LENGTH, MAX_LABEL_VALUE_LENGTH } from '../../src/connectors/label-set';

const payload = z.object({ alerts: z.array(z.object({ labels: labelSet, annotations: labelSet.default({}) })) });

/** The path of the first issue (the API writes `alerts[0].labels.n` from it). */
const pathOf = (body: unknown): readonly PropertyKey[] | undefined => payload.safeParse(body).error?.issues[0]!.path;

test('a __proto__ label is kept as an own property, in the labels and in the fingerprint', () => {
  const body = JSON.parse('{"alerts":[{"labels":{"alertname":"A","__proto__":"x","constructor":"y"}}]}');
  const labels = payload.parse(body).alerts[0]!.labels;
  expect(Object.keys(labels)).toEqual(['alertname', '__proto__', 'constructor']);
  expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  expect(labels['__proto__']).toBe('x');
  expect(JSON.parse(JSON.stringify(labels))).toEqual(JSON.parse('{"alertname":"A","__proto__":"x","constructor":"y"}'));
  expect(fingerprint('am', labels)).not.toBe(fingerprint('am', JSON.parse('{"alertname":"A","constructor":"y"}')));
});

const LONG_NAME = 'n'.repeat(MAX_LABEL_NAME_LENGTH + 1);
const LONG_VALUE = 'v'.repeat(MAX_LABEL_VALUE_LENGTH + 1);

test.each([
  ['a value that is not a string', { labels: { alertname: 'A', n: 5 } }, ['labels', 'n']],
  ['a null value', { labels: { alertname: 'A', z: null } }, ['labels', 'z']],
  ['a name too long', { labels: { [LONG_NAME]: 'v' } }, ['labels', LONG_NAME]],
  ['a value too long', { labels: { a: LONG_VALUE } }, ['labels', 'a']],
  ['an annotation value too long', { labels: { a: 'v' }, annotations: { s: LONG_VALUE } }, ['annotations', 's']],
  ['labels that are a list', { labels: ['a'] }, ['labels']],
  ['labels that are a string', { labels: 'a=b' }, ['labels']],
])('refuses %s, naming it', (_what, alert, path) => {
  expect(pathOf({ alerts: [alert] })).toEqual(['alerts', 0, ...path]);
});

test('names and values at the limits pass', () => {
  const labels = { ['n'.repeat(MAX_LABEL_NAME_LENGTH)]: 'v'.repeat(MAX_LABEL_VALUE_LENGTH) };
  expect(pathOf({ alerts: [{ labels }] })).toBeUndefined();
  expect(payload.parse({ alerts: [{ labels }] }).alerts[0]!.annotations).toEqual({});
});
