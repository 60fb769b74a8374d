import { labelValue, type Labels } from './alert';

/**
 * A logic-less text template, mustache-style: `{{ name }}` or `{{ a.b.c }}` is a value looked up
 * by its path, everything else is text. No sections, partials, escapes, expressions or code: a
 * template is parsed once into parts, and rendering only concatenates strings. A value is
 * inserted as it is and never read as a template itself, so hostile labels (`{{constructor}}`,
 * `$(id)`) stay data.
 *
 * Two dialects share this form: title templates (`parseTemplate`), where a placeholder names one
 * label, and path templates (`parsePathTemplate`, runbooks), where it is a dotted path such as
 * `{{ labels.instance }}` or `{{ steps.repair.status }}` that a resolver turns into a value.
 * Parts are plain JSON (a parsed template is stored with a runbook run).
 *
 * @example
 * const t = parseTemplate('{{ alertname }} on {{instance}}');
 * renderTemplate(t, { alertname: 'NodeDown', instance: 'web-1:9100' }); // 'NodeDown on web-1:9100'
 */
export type TextTemplate = readonly TemplatePart[];
export type TemplatePart = string | { readonly path: readonly string[] };

/** A placeholder's value; a path it does not know gives `""`. Must read own properties only. */
export type TemplateResolver = (path: readonly string[]) => string;

export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** One segment of a path: a label name, a step name (may hold `-`), a secret's name. */
const SEGMENT = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const MAX_DEPTH = 8;

/** A title template: each placeholder names one label. */
export function parseTemplate(text: string): TextTemplate {
  return parseWith(text, (name, at) => {
    if (!LABEL_NAME.test(name)) {
      throw new TemplateSyntaxError(
        `{{${name}}} at character ${at}: a placeholder names one label, such as {{instance}}`);
    }
    return [name];
  });
}

/**
 * A path template: each placeholder is a dotted path (`{{ labels.instance }}`). `roots`, when
 * given, are the first segments allowed (anything else is a syntax error naming them).
 */
export function parsePathTemplate(text: string, roots?: readonly string[]): TextTemplate {
  return parseWith(text, (name, at) => {
    const path = name.split('.');
    if (path.length > MAX_DEPTH || !path.every((s) => SEGMENT.test(s))) {
      throw new TemplateSyntaxError(
        `{{${name}}} at character ${at}: a placeholder is a dotted path of names, such as {{ labels.instance }}`);
    }
    if (roots !== undefined && !roots.includes(path[0] as string)) {
      throw new TemplateSyntaxError(
        `{{${name}}} at character ${at}: unknown template root ${JSON.stringify(path[0])}; `
        + `known roots: ${roots.join(', ')}`);
    }
    return path;
  });
}

function parseWith(text: string, pathOf: (name: string, at: number) => string[]): TextTemplate {
  const parts: TemplatePart[] = [];
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const path = pathOf(m[1] as string, m.index + 1);
    if (m.index > at) parts.push(text.slice(at, m.index));
    parts.push({ path });
    at = m.index + m[0].length;
  }
  const rest = text.slice(at);
  const open = rest.indexOf('{{');
  if (open !== -1) throw new TemplateSyntaxError(`unclosed {{ at character ${at + open + 1}`);
  if (rest !== '') parts.push(rest);
  return parts;
}

/** A title template filled with an alert's labels (a one-segment path is a label name). */
export function renderTemplate(template: TextTemplate, labels: Labels): string {
  return renderWith(template, (path) => (path.length === 1 ? labelValue(labels, path[0] as string) : ''));
}

/**
 * Concatenates the literal text and the resolved values; `value` may encode or check each value
 * for where it goes (a URL component, a program argument). Values are never parsed again.
 */
export function renderWith(
  template: TextTemplate,
  resolve: TemplateResolver,
  value: (v: string, path: readonly string[]) => string = (v) => v,
): string {
  let out = '';
  for (const part of template) out += typeof part === 'string' ? part : value(resolve(part.path), part.path);
  return out;
}

/** Whether the template has no placeholder (e.g. a program name must be literal). */
export function isLiteral(template: TextTemplate): boolean {
  return template.every((p) => typeof p === 'string');
}
