import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Connector } from '../../src/connectors/connector';
import { connectorSetups } from '../../src/connectors/connector-settings';
import { credentialsChecker } from '../../src/connectors/ingest-credentials';

const bare = (id: string, settings?: z.ZodType): Connector => ({
  id, description: id, schema: z.unknown(), normalize: () => [], ...(settings ? { settings } : {}),
});
const withOwn = bare('pd-like', z.object({ routing_keys: z.string().optional(),
  mode: z.enum(['a', 'b']).default('a') }).strict());

test('QUELL_CONNECTOR_<ID>_<KEY> variables: framework keys, the connector\'s own, the longest id first', () => {
  const [foo, fooBar] = connectorSetups([bare('foo'), bare('foo-bar')], {
    QUELL_CONNECTOR_FOO_TOKEN: 'foo-token-0123456789',
    QUELL_CONNECTOR_FOO_BAR_TOKENS: 'eu=eu-token-0123456789, us=us-token-0123456789',
    QUELL_CONNECTOR_FOO_BAR_HMAC_SECRET: 'hmac-secret-0123456789',
    QUELL_CONNECTOR_FOO_BAR_HMAC_WINDOW_SECONDS: '60',
  });
  expect(foo!.auth).toEqual({ tokens: [{ sender: 'foo', token: 'foo-token-0123456789' }] });
  expect(fooBar!.auth.tokens.map((t) => t.sender)).toEqual(['eu', 'us']);
  expect(fooBar!.auth.hmac).toMatchObject({ secret: 'hmac-secret-0123456789',
    scheme: { windowSeconds: 60, header: 'X-Quell-Signature' } });
  const [own] = connectorSetups([withOwn], { QUELL_CONNECTOR_PD_LIKE_MODE: 'b' });
  expect(own!.settings).toEqual({ mode: 'b' });
});

test('the config file\'s connectors section, the environment winning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quell-conn-'));
  writeFileSync(join(dir, 'quell.yaml'), 'connectors:\n  pd-like:\n    mode: b\n    routing_keys: x\n');
  const [s] = connectorSetups([withOwn], { QUELL_CONFIG: join(dir, 'quell.yaml'), QUELL_CONNECTOR_PD_LIKE_MODE: 'a' });
  expect(s!.settings).toEqual({ mode: 'a', routing_keys: 'x' });
});

test.each([
  [{ QUELL_CONNECTOR_NOPE_TOKEN: 'x'.repeat(20) }, 'QUELL_CONNECTOR_NOPE_TOKEN: no connector "nope_token"'],
  [{ QUELL_CONNECTOR_FOO_TOKEN: 'short' }, 'QUELL_CONNECTOR_FOO_TOKEN: use at least 16 characters'],
  [{ QUELL_CONNECTOR_FOO_COLOUR: 'red' }, 'QUELL_CONNECTOR_FOO_COLOUR: the foo connector has no such setting'],
  [{ QUELL_CONNECTOR_PD_LIKE_MODE: 'c' }, 'QUELL_CONNECTOR_PD_LIKE_MODE:'],
  [{ QUELL_CONNECTOR_PD_LIKE_COLOUR: 'red' }, 'QUELL_CONNECTOR_PD_LIKE_COLOUR:'],
  [{ QUELL_CONNECTOR_FOO_TOKENS: 'no-equals-sign' }, 'QUELL_CONNECTOR_FOO_TOKENS: expected name=token pairs'],
])('a bad setting stops start-up, naming the variable (%o)', (env, message) => {
  expect(() => connectorSetups([bare('foo'), withOwn], env)).toThrow(message);
});

test('credentials: bearer or basic password, the global token or the connector\'s, constant-time;'
  + ' a wrong one is named wrong', () => {
  const check = credentialsChecker('global-token-0123456789',
    { tokens: [{ sender: 'eu', token: 'eu-token-0123456789' }] });
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  expect(check({})).toEqual({ kind: 'none' });
  expect(check({ authorization: 'Bearer global-token-0123456789' })).toEqual({ kind: 'valid', sender: 'ingest-token' });
  expect(check({ authorization: basic('quell', 'eu-token-0123456789') })).toEqual({ kind: 'valid', sender: 'eu' });
  expect(check({ authorization: 'Bearer eu-token-0123456789x' })).toEqual({ kind: 'wrong',
    message: 'wrong bearer token' });
  expect(check({ authorization: basic('quell', 'nope') })).toEqual({ kind: 'wrong', message: 'wrong credentials' });
  expect(check({ authorization: 'Digest abc' })).toMatchObject({ kind: 'wrong' });
});
