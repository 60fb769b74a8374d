import { createVerify, X509Certificate, type KeyObject } from 'node:crypto';
import type { AuthVerdict } from './connector';
import { VerificationUnavailableError } from './verification-error';

/**
 * Amazon SNS message signatures (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
 * the message's fields, in a fixed order, as `Name\nvalue\n`, signed with RSA by the
 * certificate at `SigningCertURL`: SHA1 for `SignatureVersion` 1, SHA256 for 2. The certificate
 * is fetched only from a URL on an SNS host (HTTPS, `sns.<region>.amazonaws.com[.cn]`), then
 * cached; a message whose URL is elsewhere is refused unread, so that no one can sign with a
 * certificate of their own.
 */
export const SNS_HOST = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\//;

/** The fields signed, in order, per message type (Subject only when the message has one). */
const SIGNED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};
const OPTIONAL = new Set(['Subject']);

/** An HTTP GET as SNS verification needs it: the status and text of a small body. Throws on network errors. */
export type TextFetcher = (url: string) => Promise<{ readonly status: number; readonly body: string }>;

export interface SnsVerifierOptions {
  /** Where certificates (and subscription URLs) may be. @defaultValue {@link SNS_HOST} */
  readonly host?: RegExp;
  readonly fetch: TextFetcher;
  /** Certificates kept. @defaultValue 64 */
  readonly cacheSize?: number;
}

/** The text SNS signed for `message`, or the field that is missing or not text. */
export function snsStringToSign(message: Readonly<Record<string, unknown>>): { text: string } | { field: string } {
  const type = message['Type'];
  const fields = typeof type === 'string' && Object.hasOwn(SIGNED_FIELDS, type) ? SIGNED_FIELDS[type] : undefined;
  if (fields === undefined) return { field: 'Type' };
  let text = '';
  for (const name of fields) {
    const value = message[name];
    if (value === undefined && OPTIONAL.has(name)) continue;
    if (typeof value !== 'string') return { field: name };
    text += `${name}\n${value}\n`;
  }
  return { text };
}

/** Verifies SNS messages; one per connector instance (it holds the certificate cache). */
export class SnsVerifier {
  private readonly host: RegExp;
  private readonly certs = new Map<string, KeyObject>();

  constructor(private readonly options: SnsVerifierOptions) {
    this.host = options.host ?? SNS_HOST;
  }

  /** Whether `url` is on an SNS host (certificates, SubscribeURL). */
  onSnsHost(url: string): boolean {
    return this.host.test(url);
  }

  /**
   * `{ ok: true }` for a message SNS signed; a refusal names the field. Throws
   * VerificationUnavailableError when the certificate cannot be had now.
   */
  async verify(message: unknown, now: Date): Promise<AuthVerdict> {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      return refuse('(body)', 'expected an SNS message object');
    }
    const m = message as Record<string, unknown>;
    const signed = snsStringToSign(m);
    if ('field' in signed) {
      return refuse(signed.field, signed.field === 'Type'
        ? 'expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation' : 'missing, or not text');
    }
    const version = m['SignatureVersion'];
    if (version !== '1' && version !== '2') return refuse('SignatureVersion', 'expected "1" or "2"');
    const url = m['SigningCertURL'];
    if (typeof url !== 'string' || !this.onSnsHost(url)) {
      return refuse('SigningCertURL', 'not a certificate URL of Amazon SNS');
    }
    const signature = m['Signature'];
    if (typeof signature !== 'string' || !/^[A-Za-z0-9+/=]{1,2048}$/.test(signature)) {
      return refuse('Signature', 'expected a base64 signature');
    }
    const key = await this.certificateKey(url, now);
    if ('field' in key) return refuse(key.field, key.message);
    const ok = createVerify(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(signed.text, 'utf8')
      .verify(key.key, signature, 'base64');
    return ok ? { ok: true } : refuse('Signature', 'does not verify with the SNS certificate');
  }

  private async certificateKey(
    url: string, now: Date,
  ): Promise<{ key: KeyObject } | { field: string; message: string }> {
    const cached = this.certs.get(url);
    if (cached !== undefined) return { key: cached };
    let res: Awaited<ReturnType<TextFetcher>>;
    try {
      res = await this.options.fetch(url);
    } catch (err) {
      throw new VerificationUnavailableError(
        `SigningCertURL: the SNS certificate could not be fetched: ${(err as Error).message}`);
    }
    if (res.status >= 500) {
      throw new VerificationUnavailableError(
        `SigningCertURL: the SNS certificate could not be fetched (HTTP ${res.status})`);
    }
    if (res.status !== 200) return { field: 'SigningCertURL', message: `no certificate there (HTTP ${res.status})` };
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(res.body);
    } catch {
      return { field: 'SigningCertURL', message: 'not a PEM certificate' };
    }
    if (Date.parse(cert.validTo) < now.getTime() || Date.parse(cert.validFrom) > now.getTime()) {
      return { field: 'SigningCertURL', message: 'the certificate is not valid now' };
    }
    if (this.certs.size >= (this.options.cacheSize ?? 64)) this.certs.delete(this.certs.keys().next().value as string);
    this.certs.set(url, cert.publicKey);
    return { key: cert.publicKey };
  }
}

const refuse = (field: string, message: string): AuthVerdict => ({ ok: false, field, message: `${field}: ${message}` });
