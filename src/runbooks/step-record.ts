import type { ParsedTemplate, StepOutput, TemplateRenderer } from './runbook-action';

/**
 * What a step's row and timeline keep of its parameters and output: templates rendered as text,
 * every secret masked, text truncated. Records only: the action renders its own parameters, each
 * for where it goes (URL, argument, header).
 */

/** A template as `TemplateRenderer.parse` makes it: text and `{ path }` parts, at least one path or a single text. */
function isTemplate(value: unknown): value is ParsedTemplate {
  if (!Array.isArray(value) || value.length === 0) return false;
  let paths = 0;
  for (const part of value as unknown[]) {
    if (typeof part === 'string') continue;
    if (typeof part !== 'object' || part === null || Object.keys(part).length !== 1
      || !Array.isArray((part as { path?: unknown }).path)
      || !((part as { path: unknown[] }).path.every((p) => typeof p === 'string'))) return false;
    paths++;
  }
  return paths > 0 || value.length === 1;
}

/** The step's compiled parameters with each template rendered as text and masked. */
export function recordedParams(params: unknown, render: TemplateRenderer): unknown {
  const walk = (v: unknown): unknown => {
    if (isTemplate(v)) return safe(() => render.mask(render.text(v)));
    if (typeof v === 'string') return render.mask(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(params);
}

function safe(f: () => string): string {
  try {
    return f();
  } catch (err) {
    return `<not renderable: ${(err as Error).message}>`;
  }
}

/** An output as recorded and as later steps see it: strings masked, then cut to share `maxBytes`. */
export function recordedOutput(output: StepOutput, render: TemplateRenderer, maxBytes: number): StepOutput {
  const entries = Object.entries(output);
  const strings = entries.filter(([, v]) => typeof v === 'string').length;
  const each = strings > 0 ? Math.max(64, Math.floor(maxBytes / strings)) : maxBytes;
  return Object.fromEntries(entries.map(([k, v]) => [
    k, typeof v === 'string' ? truncateText(render.mask(v), each) : v,
  ]));
}

const MARK = '…[truncated]';

/** At most `maxBytes` bytes of UTF-8 (a mark says when cut), never splitting a character. */
export function truncateText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const budget = Math.max(0, maxBytes - Buffer.byteLength(MARK));
  let cut = Buffer.from(text).subarray(0, budget).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut + MARK;
}
