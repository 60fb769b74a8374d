import { createGuardedHttp, destinationPolicy } from '../../src/runbooks/guarded-http';
import { StepError } from '../../src/runbooks/runbook-action';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';

const signal = () => AbortSignal.timeout(5000);

/** What `request` rejects with (the tests check it is a StepError). */
async function rejection(request: Promise<unknown>): Promise<StepError> {
  try { await request; } catch (err) { return err as StepError; }
  throw new Error('expected the request to fail');
}

describe('guarded HTTP client', () => {
  let target: RecordingServer;
  beforeAll(async () => {
    target = await startRecordingServer((req, res) => {
      if (req.url === '/big') { res.end('x'.repeat(10_000)); return; }
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 3000).unref(); return; }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url }));
    });
  });
  afterAll(() => target.close());

  test('a loopback server is refused by default, before any byte reaches it', async () => {
    const before = target.requests.length;
    const client = createGuardedHttp({ allow: [], maxBodyBytes: 1000 });
    const err = await rejection(client.request({ method: 'GET', url: `${target.base}/x`, signal: signal() }));
    expect(err).toBeInstanceOf(StepError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/loopback.*refused/);
    expect(target.requests.length).toBe(before);
  });

  test('a name resolving to 127.0.0.1 (localhost) is refused at connect time', async () => {
    const before = target.requests.length;
    const client = createGuardedHttp({ allow: [], maxBodyBytes: 1000 });
    const err = await rejection(client.request({ method: 'GET', url: `http://localhost:${target.port}/x`, signal: signal() }));
    expect(err).toBeInstanceOf(StepError);
    expect(err.message).toMatch(/localhost:\d+ \((127\.0\.0\.1|::1)\) is loopback/);
    expect(target.requests.length).toBe(before);
  });

  test.each([
    ['127.0.0.1:PORT'], ['127.0.0.1'], ['127.0.0.0/8'], ['localhost:PORT'],
  ])('allowed when the allowlist names it (%s)', async (entry) => {
    const host = entry.startsWith('localhost') ? 'localhost' : '127.0.0.1';
    const client = createGuardedHttp({ allow: [entry.replace('PORT', String(target.port))], maxBodyBytes: 1000 });
    const res = await client.request({ method: 'POST', url: `http://${host}:${target.port}/ok`, body: '{}', signal: signal() });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ method: 'POST', url: '/ok' });
  });

  test('host:port allows that port only', async () => {
    const client = createGuardedHttp({ allow: [`127.0.0.1:${target.port + 1}`], maxBodyBytes: 1000 });
    await expect(client.request({ method: 'GET', url: `${target.base}/`, signal: signal() })).rejects.toThrow(/refused/);
  });

  describe('redirects', () => {
    let redirector: RecordingServer;
    beforeAll(async () => {
      redirector = await startRecordingServer((req, res) => {
        const to = req.url === '/loop' ? '/loop' : req.url === '/local' ? `${target.base}/stolen` : `http://localhost:${target.port}/followed`;
        res.statusCode = req.url === '/see-other' ? 303 : 302;
        res.setHeader('location', to);
        res.end();
      });
    });
    afterAll(() => redirector.close());

    test('a redirect from an allowed host to 127.0.0.1 is refused: each hop is checked', async () => {
      const before = target.requests.length;
      const client = createGuardedHttp({ allow: [`localhost:${redirector.port}`], maxBodyBytes: 1000 });
      const err = await rejection(client.request({ method: 'GET', url: `http://localhost:${redirector.port}/local`, signal: signal() }));
      expect(err).toBeInstanceOf(StepError);
      expect(err.message).toMatch(/127\.0\.0\.1:\d+ \(127\.0\.0\.1\) is loopback/);
      expect(target.requests.length).toBe(before);
    });

    test('an allowed redirect is followed, credentials dropped when the origin changes, 303 becomes GET', async () => {
      const client = createGuardedHttp({ allow: ['localhost'], maxBodyBytes: 1000 });
      const res = await client.request({
        method: 'POST', url: `http://localhost:${redirector.port}/see-other`, body: 'x',
        headers: { Authorization: 'Bearer s3cret', 'content-type': 'text/plain' }, signal: signal(),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ method: 'GET', url: '/followed' });
      const last = target.requests[target.requests.length - 1]!;
      expect(last.headers.authorization).toBeUndefined();
      expect(res.url).toBe(`http://localhost:${target.port}/followed`);
    });

    test('at most 5 redirects', async () => {
      const client = createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 1000 });
      const before = redirector.requests.length;
      await expect(client.request({ method: 'GET', url: `${redirector.base}/loop`, signal: signal() })).rejects.toThrow(/more than 5 redirects/);
      expect(redirector.requests.length - before).toBe(6);
    });
  });

  test('the body is truncated to maxBodyBytes', async () => {
    const client = createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 100 });
    const res = await client.request({ method: 'GET', url: `${target.base}/big`, signal: signal() });
    expect(res.body).toBe('x'.repeat(100));
    expect(res.truncated).toBe(true);
  });

  test('the signal aborts a slow request (retryable)', async () => {
    const client = createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 100 });
    const started = Date.now();
    const slow = { method: 'GET', url: `${target.base}/slow`, signal: AbortSignal.timeout(200) } as const;
    const err = await rejection(client.request(slow));
    expect(err).toBeInstanceOf(StepError);
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('only http(s), no credentials in the URL', async () => {
    const client = createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 100 });
    await expect(client.request({ method: 'GET', url: 'file:///etc/passwd', signal: signal() })).rejects.toThrow(/file: URLs/);
    await expect(client.request({ method: 'GET', url: `http://u:p@127.0.0.1:${target.port}/`, signal: signal() }))
      .rejects.toThrow(/credentials/);
  });
});

describe('destination policy', () => {
  const policy = destinationPolicy(['10.1.0.0/16', 'db.internal', 'fd00::1']);
  test.each([
    ['169.254.169.254', /link-local/], ['10.2.0.1', /private/], ['192.168.1.1', /private/], ['172.16.5.5', /private/],
    ['0.0.0.0', /unspecified/], ['::1', /loopback/], ['fe80::1', /link-local/], ['fc00::5', /private/],
    ['::ffff:127.0.0.1', /loopback/], ['100.64.0.1', /private/],
  ])('%s is refused', (address, kind) => {
    expect(policy.refusal('x.example', 80, address)).toMatch(kind);
  });
  test.each([
    ['8.8.8.8', 'x.example'], ['10.1.2.3', 'x.example'], ['10.9.9.9', 'db.internal'], ['fd00::1', 'x.example'],
    ['2606:4700::1', 'x'],
  ])(
    '%s (%s) is allowed', (address, host) => {
      expect(policy.refusal(host, 80, address)).toBeUndefined();
    });
});
