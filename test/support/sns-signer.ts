import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snsStringToSign, type TextFetcher } from '../../src/connectors/sns-signature';

/**
 * A stand-in for Amazon SNS's signing: an RSA key pair and a self-signed certificate made by
 * openssl for this test run, served by a local HTTP server (as SNS serves its certificates),
 * which also answers subscription confirmations and records them. Inject `hostPattern` and
 * `fetch` into the CloudWatch connector: no internet is needed.
 */
export interface SnsSigner {
  /** The pattern that admits this server's URLs (in place of the SNS host pattern). */
  readonly hostPattern: RegExp;
  readonly certUrl: string;
  /** A SubscribeURL on this server; GETs to it are recorded in `confirmations`. */
  readonly subscribeUrl: string;
  readonly confirmations: string[];
  readonly certFetches: () => number;
  readonly fetch: TextFetcher;
  /** The message with SigningCertURL pointing here and its Signature, SignatureVersion as asked. */
  sign(message: Record<string, unknown>, version?: '1' | '2'): Record<string, unknown>;
  /**
   * The message as it is (fields, version and URL untouched) with the Signature its fields call for,
   * when they are text.
   */
  signAsIs(message: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

/** `bits`: the RSA key size (SNS uses 2048; the fuzz test signs thousands of bodies with a smaller key). */
export async function startSnsSigner(bits = 2048): Promise<SnsSigner> {
  const dir = mkdtempSync(join(tmpdir(), 'quell-sns-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=sns.test.amazonaws.com',
  ], { stdio: 'ignore' });
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const confirmations: string[] = [];
  let certFetches = 0;
  const server = createServer((req, res) => {
    if (req.url === '/SimpleNotificationService-test.pem') { certFetches++; res.end(cert); return; }
    if (req.url?.startsWith('/confirm')) {
      confirmations.push(req.url); res.end('<ConfirmSubscriptionResponse/>'); return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signAsIs = (message: Record<string, unknown>): Record<string, unknown> => {
    const signed = snsStringToSign(message);
    if ('field' in signed) return message;
    const algorithm = message['SignatureVersion'] === '2' ? 'RSA-SHA256' : 'RSA-SHA1';
    return { ...message, Signature: createSign(algorithm).update(signed.text, 'utf8').sign(key, 'base64') };
  };
  return {
    hostPattern: new RegExp(`^${base.replace(/[.:/]/g, '\\$&')}/`),
    certUrl: `${base}/SimpleNotificationService-test.pem`,
    subscribeUrl: `${base}/confirm?Action=ConfirmSubscription&Token=t`,
    confirmations,
    certFetches: () => certFetches,
    fetch: async (url) => {
      const res = await fetch(url);
      return { status: res.status, body: await res.text() };
    },
    sign(message, version = '1') {
      return signAsIs({ ...message, SignatureVersion: version,
        SigningCertURL: `${base}/SimpleNotificationService-test.pem` });
    },
    signAsIs,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
