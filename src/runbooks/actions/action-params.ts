import { TemplateSyntaxError } from '../../domain/text-template';
import { parseDuration } from '../../domain/duration';
import type { DocumentContext, DocumentPath } from '../../rules/rule-kind';
import { createGuardedHttp, type GuardedHttp } from '../guarded-http';
import { StepError, type ActionContext, type ParsedTemplate, type TemplateRenderer } from '../runbook-action';
import { parseRunbookTemplate } from '../template-renderer';

/** What actions share when they compile their `with:` and run. */

/** A template written at `path`; a bad one is an error there (and compiles to nothing). */
export function compileTemplate(text: string, path: DocumentPath, doc: DocumentContext): ParsedTemplate {
  try {
    return parseRunbookTemplate(text);
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err;
    doc.error(path, err.message);
    return [];
  }
}

/**
 * A URL template: its scheme and host must be literal text (`https://{{ labels.host }}/` is
 * fine: the renderer checks the value is a host) or come from a secret (a webhook URL).
 */
export function compileUrl(text: string, path: DocumentPath, doc: DocumentContext): ParsedTemplate {
  const t = compileTemplate(text, path, doc);
  const first = t[0];
  if (first === undefined) return t;
  if (typeof first === 'string' ? !/^https?:\/\//i.test(first) : first.path[0] !== 'secret') {
    doc.error(path, 'a URL begins with http:// or https:// written here, or is a {{ secret.NAME }}');
  }
  return t;
}

export function compileTemplates(
  record: Readonly<Record<string, string>>, path: DocumentPath, doc: DocumentContext,
): [string, ParsedTemplate][] {
  return Object.entries(record).map(([k, v]) => [k, compileTemplate(v, [...path, k], doc)]);
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function compileHeaders(
  record: Readonly<Record<string, string>>, path: DocumentPath, doc: DocumentContext,
): [string, ParsedTemplate][] {
  for (const name of Object.keys(record)) if (!HEADER_NAME.test(name)) doc.error([...path, name], 'not a header name');
  return compileTemplates(record, path, doc);
}

export function renderHeaders(
  headers: readonly (readonly [string, ParsedTemplate])[], render: TemplateRenderer,
): Record<string, string> {
  return Object.fromEntries(headers.map(([k, t]) => [k, render.header(t)]));
}

/** A JSON body in which every string is a template (rendered as text, never parsed as JSON). */
export type JsonTemplate =
  | { readonly t: ParsedTemplate }
  | { readonly o: readonly (readonly [string, JsonTemplate])[] }
  | { readonly a: readonly JsonTemplate[] }
  | { readonly v: number | boolean | null };

export function compileJson(value: unknown, path: DocumentPath, doc: DocumentContext): JsonTemplate {
  if (typeof value === 'string') return { t: compileTemplate(value, path, doc) };
  if (Array.isArray(value)) return { a: value.map((v, i) => compileJson(v, [...path, i], doc)) };
  if (value !== null && typeof value === 'object') {
    return { o: Object.entries(value).map(([k, v]) => [k, compileJson(v, [...path, k], doc)] as const) };
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return { v: value };
  doc.error(path, 'expected a string, number, boolean, list or mapping');
  return { v: null };
}

export function renderJson(node: JsonTemplate, render: TemplateRenderer): unknown {
  if ('t' in node) return render.text(node.t);
  if ('a' in node) return node.a.map((n) => renderJson(n, render));
  if ('o' in node) {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, n] of node.o) out[k] = renderJson(n, render);
    return out;
  }
  return node.v;
}

export function durationMs(text: string): number {
  return parseDuration(text) as number;
}

/** The guarded client for a run's settings (`extraAllow`: destinations the operator configured, e.g. Prometheus). */
export function httpFor(ctx: ActionContext, extraAllow: readonly string[] = []): GuardedHttp {
  return createGuardedHttp({
    allow: [...ctx.settings.httpAllow, ...extraAllow], maxBodyBytes: ctx.settings.maxOutputBytes,
  });
}

/** The step's signal, also ending after `ms` when given. */
export function signalWithin(signal: AbortSignal, ms: number | undefined): AbortSignal {
  return ms === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(ms)]);
}

/** Whether an HTTP status means "try again later". */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** Throws a StepError for an answer outside `expected` (default 2xx); the body is masked. */
export function checkStatus(
  what: string, status: number, body: string, render: TemplateRenderer, expected?: readonly number[],
): void {
  const ok = expected !== undefined ? expected.includes(status) : status >= 200 && status < 300;
  if (!ok) {
    throw new StepError(`${what} answered ${status}`, retryableStatus(status), { status, body: render.mask(body) });
  }
}

/** Waits `ms`, or throws StepError (retryable) when the signal aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new StepError('aborted (timeout or cancelled)', true)); return; }
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(timer); reject(new StepError('aborted (timeout or cancelled)', true)); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
