import { DEFAULT_HMAC_SCHEME, signHmac, verifyHmac } from '../../src/connectors/hmac-signature';

const SECRET = 'a-shared-secret-0123456789';
const NOW = new Date('2026-11-25T10:00:00Z');
const body = Buffer.from('{"alerts":[]}');
const lower = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));

test('a body signed with the secret at about now verifies', () => {
  expect(verifyHmac(SECRET, DEFAULT_HMAC_SCHEME, body, lower(signHmac(SECRET, DEFAULT_HMAC_SCHEME, body, NOW)),
    NOW)).toEqual({ ok: true });
});

test('the signature is hex HMAC-SHA256 over "<time>.<body>", a sha256= prefix taken', () => {
  const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  const ts = String(NOW.getTime() / 1000);
  const hex = createHmac('sha256', SECRET).update(`${ts}.`).update(body).digest('hex');
  const headers = { 'x-quell-signature': `sha256=${hex}`, 'x-quell-timestamp': ts };
  expect(verifyHmac(SECRET, DEFAULT_HMAC_SCHEME, body, headers, NOW)).toEqual({ ok: true });
});

test.each([
  ['another body', Buffer.from('{"alerts":[1]}'), NOW, 'X-Quell-Signature: signature does not match the body'],
  ['a signature older than the window', body, new Date(NOW.getTime() + 301_000), 'replay window'],
  ['a signature from the future beyond the window', body, new Date(NOW.getTime() - 301_000), 'replay window'],
])('refuses %s, naming the header, never the secret', (_what, sent, at, message) => {
  const headers = lower(signHmac(SECRET, DEFAULT_HMAC_SCHEME, body, NOW));
  const v = verifyHmac(SECRET, DEFAULT_HMAC_SCHEME, sent, headers, at);
  expect(v).toEqual({ ok: false, message: expect.stringContaining(message) });
  expect(JSON.stringify(v)).not.toContain(SECRET);
});

test.each([
  ['no signature', { 'x-quell-timestamp': '1795600800' }, 'X-Quell-Signature: missing'],
  ['no timestamp', { 'x-quell-signature': 'ab' }, 'X-Quell-Timestamp: missing'],
  ['a timestamp that is not a number', { 'x-quell-signature': 'ab', 'x-quell-timestamp': 'soon' },
    'expected Unix seconds'],
  ['a signature that is not hex', { 'x-quell-signature': 'zz', 'x-quell-timestamp': String(NOW.getTime() / 1000) },
    'does not match'],
])('refuses %s', (_what, headers, message) => {
  expect(verifyHmac(SECRET, DEFAULT_HMAC_SCHEME, body, headers, NOW)).toEqual({ ok: false,
    message: expect.stringContaining(message) });
});

test('without a timestamp header the body alone is signed (no replay window)', () => {
  const scheme = { ...DEFAULT_HMAC_SCHEME, timestampHeader: '' };
  const headers = lower(signHmac(SECRET, scheme, body, NOW));
  expect(verifyHmac(SECRET, scheme, body, headers, new Date(NOW.getTime() + 86_400_000))).toEqual({ ok: true });
});
