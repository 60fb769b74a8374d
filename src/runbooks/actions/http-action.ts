import { z } from 'zod';
import { durationField } from '../../rules/rule-fields';
import { defineAction, type ParsedTemplate } from '../runbook-action';
import {
  checkStatus, compileHeaders, compileJson, compileTemplate, compileUrl, durationMs, httpFor, renderHeaders, renderJson,
  signalWithin, type JsonTemplate,
} from './action-params';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const httpWith = z.strictObject({
  /** @defaultValue GET */
  method: z.enum(METHODS).default('GET'),
  /** Scheme and host written here (values fill in a host or are percent-encoded), or a secret. */
  url: z.string().min(1),
  /** Values are templates; a value with CR or LF is refused. @defaultValue {} */
  headers: z.record(z.string(), z.string()).default({}),
  /** A mapping (sent as JSON, every string in it a template) or a string template. */
  body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  /** The statuses that mean success. @defaultValue any 2xx */
  expect_status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** Shorter than the step's timeout, if given. */
  timeout: durationField.optional(),
});

interface HttpParams {
  readonly method: typeof METHODS[number];
  readonly url: ParsedTemplate;
  readonly headers: readonly (readonly [string, ParsedTemplate])[];
  readonly body?: { readonly json: JsonTemplate } | { readonly text: ParsedTemplate };
  readonly expectStatus?: readonly number[];
  readonly timeoutMs?: number;
}

/**
 * `action: http`: one request through the guarded client. Output: `status`, `body` (truncated,
 * secrets masked). Retryable: network errors, timeouts, 5xx, 429. Mutates unless GET or HEAD.
 */
export const httpAction = defineAction<z.output<typeof httpWith>, HttpParams>({
  name: 'http',
  schema: httpWith,

  compile(spec, path, doc) {
    const body = spec.body === undefined ? undefined
      : typeof spec.body === 'string' ? { text: compileTemplate(spec.body, [...path, 'body'], doc) }
        : { json: compileJson(spec.body, [...path, 'body'], doc) };
    return {
      method: spec.method,
      url: compileUrl(spec.url, [...path, 'url'], doc),
      headers: compileHeaders(spec.headers, [...path, 'headers'], doc),
      ...(body !== undefined ? { body } : {}),
      ...(spec.expect_status !== undefined ? { expectStatus: spec.expect_status } : {}),
      ...(spec.timeout !== undefined ? { timeoutMs: durationMs(spec.timeout) } : {}),
    };
  },

  mutates: (p) => p.method !== 'GET' && p.method !== 'HEAD',

  async run(p, ctx) {
    const { render } = ctx;
    const url = render.url(p.url);
    const headers = renderHeaders(p.headers, render);
    let data: string | undefined;
    if (p.body !== undefined) {
      const json = 'json' in p.body;
      data = json ? JSON.stringify(renderJson((p.body as { json: JsonTemplate }).json, render))
        : render.text((p.body as { text: ParsedTemplate }).text);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = json ? 'application/json' : 'text/plain; charset=utf-8';
      }
    }
    const res = await httpFor(ctx).request({
      method: p.method, url, headers, ...(data !== undefined ? { body: data } : {}),
      signal: signalWithin(ctx.signal, p.timeoutMs),
    });
    checkStatus(`${p.method} ${render.mask(new URL(res.url).origin)}`, res.status, res.body, render, p.expectStatus);
    return { status: res.status, body: render.mask(res.body) };
  },
});
