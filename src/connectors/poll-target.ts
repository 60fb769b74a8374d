import type { PollTarget } from './connector';

export interface PollTargetOptions {
  readonly url: string;
  /** Secret. */
  readonly token?: string | undefined;
  /** @defaultValue 10 s */
  readonly timeoutMs?: number;
  /** Largest answer read. @defaultValue 64 MiB */
  readonly maxBytes?: number;
}

/**
 * A source's API as a connector's `poll` sees it. The URL is the operator's setting, not alert
 * data, so it is called as configured (no SSRF guard: Alertmanager usually sits on a private
 * network); answers are bounded in time and size, and anything but a 2xx JSON answer throws
 * (reconciliation then resolves nothing). The token is never put in an error message.
 */
export function pollTarget(o: PollTargetOptions): PollTarget {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  return {
    url: o.url.replace(/\/+$/, ''),
    ...(o.token !== undefined ? { token: o.token } : {}),
    async fetchJson(url, init = {}) {
      const res = await fetch(url, {
        method: init.method ?? 'GET',
        headers: {
          accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...init.headers,
        },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      const text = await boundedText(res, maxBytes);
      const where = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
      if (!res.ok) throw new Error(`${where}: HTTP ${res.status}: ${text.slice(0, 200)}`);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`${where}: the answer is not JSON`);
      }
    },
  };
}

async function boundedText(res: Response, maxBytes: number): Promise<string> {
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`the answer is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
