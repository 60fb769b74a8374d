import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { API_ERRORS } from '../../src/http/errors';
import { configSchema } from '../../src/config';

const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');

test.each(Object.entries(API_ERRORS))('API error %s is documented with its status', (code, spec) => {
  expect(readme).toMatch(new RegExp(`^\\| \`${code}\` \\| ${spec.status} \\|`, 'm'));
});

test.each(Object.keys(configSchema.shape))('setting %s is documented', (key) => {
  expect(readme).toMatch(new RegExp(`^\\| \`${key}\` \\|`, 'm'));
});

test('the README opens with the two set-up commands', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = firstBlock.split('\n').filter((l) => l.trim()).map((l) => l.replace(/\s+#.*$/, ''));
  expect(commands).toEqual(['npm install && npm start', 'npm test']);
});
