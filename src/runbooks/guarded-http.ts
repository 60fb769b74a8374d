import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, isIPv4 } from 'node:net';
import type { Readable } from 'node:stream';
import axios from 'axios';
import { StepError } from './runbook-action';

/**
 * The one HTTP client of runbook actions (http, notify, ticket, wait_for's Prometheus query).
 *
 * Destinations are checked when the socket connects, not when the URL is read: the agents'
 * `lookup` refuses loopback, link-local (cloud metadata 169.254.169.254 included), private,
 * shared, multicast and unspecified addresses unless the allowlist (`QUELL_HTTP_ALLOW`) names the
 * host, `host:port`, address or CIDR. So a name that resolves to 127.0.0.1 (DNS rebinding
 * included) is refused like the address itself. Redirects are followed here, at most
 * {@link MAX_REDIRECTS}, each hop connecting through the same check; credentials are dropped
 * when a redirect leaves the origin. Proxies from the environment are ignored (a proxy would
 * connect for us, unchecked).
 */
export interface GuardedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The step's signal (timeout, cancellation). */
  readonly signal: AbortSignal;
}

export interface GuardedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text, at most `maxBodyBytes`. */
  readonly body: string;
  readonly truncated: boolean;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

export interface GuardedHttp {
  /** Throws StepError: retryable for network errors and timeouts, not for a refused destination. */
  request(req: GuardedRequest): Promise<GuardedResponse>;
}

export const MAX_REDIRECTS = 5;

export function createGuardedHttp(options: { allow: readonly string[]; maxBodyBytes: number }): GuardedHttp {
  const policy = destinationPolicy(options.allow);

  async function hop(
    method: string, url: URL, headers: Record<string, string>, body: string | undefined, signal: AbortSignal,
  ) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    let refused: string | undefined;
    // An address literal is connected to without a lookup: checked here, which is the same moment.
    if (isIP(hostname) !== 0) {
      refused = policy.refusal(hostname, port, hostname);
      if (refused !== undefined) throw new StepError(refused, false);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- node's lookup callback is overloaded (one or all)
    const lookup = (host: string, opts: { all?: boolean; family?: number }, cb: (...args: any[]) => void): void => {
      dnsLookup(host, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
        if (err) { cb(err); return; }
        const ok = addresses.filter((a) => policy.refusal(host, port, a.address) === undefined);
        if (ok.length === 0) {
          refused = policy.refusal(host, port, (addresses[0] as LookupAddress).address);
          const e = Object.assign(new Error(refused), { code: 'EQUELLREFUSED' });
          cb(e);
          return;
        }
        if (opts.all) cb(null, ok);
        else cb(null, (ok[0] as LookupAddress).address, (ok[0] as LookupAddress).family);
      });
    };
    const agentOptions = { lookup: lookup as never, keepAlive: false };
    try {
      const res = await axios.request<Readable>({
        method, url: url.toString(), headers, data: body, signal,
        httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions),
        proxy: false, maxRedirects: 0, responseType: 'stream', validateStatus: () => true,
        transformResponse: (d: unknown) => d,
      });
      return res;
    } catch (err) {
      if (refused !== undefined) throw new StepError(refused, false, {}, { cause: err });
      const reason = signal.aborted ? 'aborted (timeout or cancelled)' : (err as Error).message;
      throw new StepError(`${method} ${url.origin}: ${reason}`, true, {}, { cause: err });
    }
  }

  return {
    async request(req) {
      let url = parseHttpUrl(req.url);
      let method = req.method.toUpperCase();
      let headers: Record<string, string> = { ...req.headers };
      let body = req.body;
      for (let redirects = 0; ; redirects++) {
        const res = await hop(method, url, headers, body, req.signal);
        const location: unknown = res.headers['location'];
        if (res.status >= 300 && res.status < 400 && typeof location === 'string' && res.status !== 304) {
          res.data.destroy();
          if (redirects >= MAX_REDIRECTS) {
            throw new StepError(`more than ${MAX_REDIRECTS} redirects from ${req.url}`, false);
          }
          const next = parseHttpUrl(new URL(location, url).toString());
          if (next.origin !== url.origin) headers = withoutCredentials(headers);
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
            body = undefined;
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
          }
          url = next;
          continue;
        }
        const { text, truncated } = await readLimited(res.data, options.maxBodyBytes, req.signal);
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && v !== null) flat[k] = String(v);
        return { status: res.status, headers: flat, body: text, truncated, url: url.toString() };
      }
    },
  };
}

/** An http(s) URL, or a StepError (not retryable). */
export function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StepError('not a URL', false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StepError(`${url.protocol} URLs are not called`, false);
  }
  if (url.username !== '' || url.password !== '') {
    throw new StepError('credentials in a URL are not sent; use a header', false);
  }
  return url;
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie|proxy-authorization)$/i.test(k)));
}

async function readLimited(
  stream: Readable, max: number, signal: AbortSignal,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (size + buf.length > max) {
        chunks.push(buf.subarray(0, max - size));
        size = max;
        truncated = true;
        break;
      }
      chunks.push(buf);
      size += buf.length;
    }
  } catch (err) {
    const said = signal.aborted ? 'aborted while reading the answer' : `reading the answer: ${(err as Error).message}`;
    throw new StepError(said, true, {}, { cause: err });
  } finally {
    stream.destroy();
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** Addresses an action may not reach unless allowed. */
const FORBIDDEN = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
    ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ] as const) b.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of [['::', 128], ['::1', 128], ['fe80::', 10], ['fc00::', 7], ['ff00::', 8]] as const) {
    b.addSubnet(net, bits, 'ipv6');
  }
  return b;
})();

/** What kind of address it is, or undefined for a public one. */
function forbiddenKind(address: string): string | undefined {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const a = v4 ?? address;
  const family = isIPv4(a) ? 'ipv4' : 'ipv6';
  if (!FORBIDDEN.check(a, family)) return undefined;
  if (/^127\.|^::1$/.test(a)) return 'loopback';
  if (/^169\.254\.|^fe[89ab]/i.test(a)) return 'link-local (cloud metadata)';
  if (/^0\.|^::$/.test(a)) return 'unspecified';
  return 'private or reserved';
}

/** The allowlist, parsed: `host`, `host:port`, an address, `[v6]:port`, or a CIDR. */
export function destinationPolicy(allow: readonly string[]) {
  const cidrs = new BlockList();
  const hosts = new Set<string>();
  const hostPorts = new Set<string>();
  for (const raw of allow.map((e) => e.trim().toLowerCase()).filter((e) => e !== '')) {
    const cidr = /^(.+)\/(\d+)$/.exec(raw);
    const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(raw);
    const withPort = /^([^:]+):(\d+)$/.exec(raw);
    if (cidr) {
      const [, net, bits] = cidr as unknown as [string, string, string];
      if (isIP(net) === 0) throw new Error(`QUELL_HTTP_ALLOW: ${raw} is not a CIDR`);
      cidrs.addSubnet(net, Number(bits), isIPv4(net) ? 'ipv4' : 'ipv6');
    } else if (bracketed) {
      if (bracketed[2] !== undefined) hostPorts.add(`${bracketed[1]}:${bracketed[2]}`);
      else hosts.add(bracketed[1] as string);
    } else if (withPort) {
      hostPorts.add(raw);
    } else {
      hosts.add(raw);
    }
  }
  return {
    /** Why connecting to `address` (for `host`:`port`) is refused, or undefined when it is not. */
    refusal(host: string, port: number, address: string): string | undefined {
      const kind = forbiddenKind(address);
      if (kind === undefined) return undefined;
      const h = host.toLowerCase().replace(/^\[|\]$/g, '');
      if (hosts.has(h) || hostPorts.has(`${h}:${port}`) || hosts.has(address) || hostPorts.has(`${address}:${port}`)) {
        return undefined;
      }
      if (cidrs.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) return undefined;
      return `destination ${host}:${port} (${address}) is ${kind}: refused unless QUELL_HTTP_ALLOW lists it`;
    },
  };
}
