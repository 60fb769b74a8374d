import { labelValue, type Labels } from './alert';

/**
 * A logic-less text template, mustache-style: `{{ name }}` is the value of the alert's label
 * `name` (`""` when it has none), everything else is text. No sections, partials, escapes,
 * expressions or code: a template is parsed once into parts, and rendering only concatenates
 * strings. A label value is inserted as it is and never read as a template itself, so hostile
 * labels (`{{constructor}}`, `$(id)`) stay data.
 *
 * @example
 * const t = parseTemplate('{{ alertname }} on {{instance}}');
 * renderTemplate(t, { alertname: 'NodeDown', instance: 'web-1:9100' }); // 'NodeDown on web-1:9100'
 */
export type TextTemplate = readonly (string | { readonly label: string })[];

export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseTemplate(text: string): TextTemplate {
  const parts: (string | { label: string })[] = [];
  let at = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    if (!LABEL_NAME.test(name)) {
      throw new TemplateSyntaxError(`{{${name}}} at character ${m.index + 1}: a placeholder names one label, such as {{instance}}`);
    }
    if (m.index > at) parts.push(text.slice(at, m.index));
    parts.push({ label: name });
    at = m.index + m[0].length;
  }
  const rest = text.slice(at);
  const open = rest.indexOf('{{');
  if (open !== -1) throw new TemplateSyntaxError(`unclosed {{ at character ${at + open + 1}`);
  if (rest !== '') parts.push(rest);
  return parts;
}

export function renderTemplate(template: TextTemplate, labels: Labels): string {
  let out = '';
  for (const part of template) out += typeof part === 'string' ? part : labelValue(labels, part.label);
  return out;
}
