import { parsePathTemplate, renderWith, TemplateSyntaxError, type TextTemplate } from '../domain/text-template';
import type { Labels } from '../domain/alert';
import { StepError, type ParsedTemplate, type StepOutput, type TemplateRenderer } from './runbook-action';
import { SECRET_NAME, type SecretStore } from './secret-store';

/** The first segment of every runbook template path. */
export const TEMPLATE_ROOTS = ['labels', 'alert', 'ci', 'incident', 'steps', 'secret'] as const;
export type TemplateRoot = typeof TEMPLATE_ROOTS[number];

/** The incident's fields a template reads as `{{ incident.<field> }}`. */
export const INCIDENT_FIELDS = ['id', 'title', 'priority', 'status', 'group_key', 'rule', 'root_cause'] as const;
export type IncidentField = typeof INCIDENT_FIELDS[number];

/**
 * Parses a runbook template and checks its paths' shapes: `labels.<name>`, `alert.<name>`,
 * `ci.<name>`, `incident.<field>`, `steps.<step>.<field>`, `secret.<NAME>`. Throws
 * TemplateSyntaxError (the rule kind reports it at the field's file:line:column).
 */
export function parseRunbookTemplate(text: string): ParsedTemplate {
  const t = parsePathTemplate(text, TEMPLATE_ROOTS);
  for (const part of t) {
    if (typeof part === 'string') continue;
    const problem = pathProblem(part.path);
    if (problem !== undefined) throw new TemplateSyntaxError(`{{ ${part.path.join('.')} }}: ${problem}`);
  }
  return t;
}

function pathProblem(path: readonly string[]): string | undefined {
  const [root, a] = path as [TemplateRoot, string | undefined];
  switch (root) {
    case 'labels': case 'alert': case 'ci':
      return path.length === 2 ? undefined : `expected ${root}.<label name>`;
    case 'incident':
      return path.length === 2 && (INCIDENT_FIELDS as readonly string[]).includes(a as string)
        ? undefined : `expected incident.<field>, one of ${INCIDENT_FIELDS.join(', ')}`;
    case 'steps':
      return path.length === 3 ? undefined : 'expected steps.<step name>.<output field>';
    case 'secret':
      return path.length === 2 && SECRET_NAME.test(a as string)
        ? undefined : 'expected secret.<NAME> (letters, digits, _)';
  }
}

/** The names of the steps a template reads (`steps.<name>.*`), for the kind's "earlier step" check. */
export function stepsReadBy(t: TextTemplate): string[] {
  return t.flatMap((p) => (typeof p !== 'string' && p.path[0] === 'steps' ? [p.path[1] as string] : []));
}

/**
 * What one run's templates read. `steps` is read when a template renders, so the executor may
 * add each step's output to the same object as the run goes on.
 */
export interface TemplateScope {
  /** The incident's common labels (those every firing alert of it shares). */
  readonly labels: Labels;
  /** The labels of the alert that matched the runbook's matchers. */
  readonly alert: Labels;
  /** The labels of the incident's root-cause CI (else its first bound CI), and `id`. */
  readonly ci: Readonly<Record<string, string>>;
  readonly incident: Readonly<Partial<Record<IncidentField, string | number | null>>>;
  readonly steps: Readonly<Record<string, StepOutput>>;
}

const MASK = '***';

/**
 * The renderer of one run: values from `scope` and `secrets`, each made safe for where it goes
 * (see {@link TemplateRenderer}). Every secret value it rendered is remembered and masked by
 * `mask`. A path the scope has no value for renders as `""`; a secret that is not set is a
 * StepError (not retryable: a configuration problem, not something to render as empty).
 */
export function createTemplateRenderer(scope: TemplateScope, secrets: SecretStore): TemplateRenderer {
  const rendered = new Set<string>();

  const resolve = (path: readonly string[]): string => {
    const [root, a = '', b = ''] = path;
    switch (root) {
      case 'labels': return own(scope.labels, a);
      case 'alert': return own(scope.alert, a);
      case 'ci': return own(scope.ci, a);
      case 'incident': return own(scope.incident, a);
      case 'steps': return Object.hasOwn(scope.steps, a) ? own(scope.steps[a] as StepOutput, b) : '';
      case 'secret': {
        const value = secrets.get(a);
        if (value === undefined) {
          throw new StepError(
            `secret ${a} is not set (environment QUELL_SECRET_${a} or a file ${a} in QUELL_SECRETS_DIR)`, false,
          );
        }
        if (value !== '') for (const form of encodings(value)) rendered.add(form);
        return value;
      }
      default: return '';
    }
  };

  const mask = (text: string): string => {
    let out = text;
    // Longest first, so that a secret containing another is masked whole.
    for (const s of [...rendered].sort((x, y) => y.length - x.length)) out = out.split(s).join(MASK);
    return out;
  };

  return {
    text: (t) => renderWith(t, resolve),

    url(t) {
      let out = '';
      for (const part of t) {
        if (typeof part === 'string') { out += part; continue; }
        const value = resolve(part.path);
        // A secret is the operator's (a webhook URL kept out of the rules): inserted as is.
        if (part.path[0] === 'secret') { out += value; continue; }
        const where = urlPosition(out);
        if (where === 'scheme') {
          throw new StepError(
            `{{ ${part.path.join('.')} }}: a URL's scheme comes from the runbook's text or a secret`, false,
          );
        }
        if (where === 'authority') {
          if (!HOST.test(value)) {
            throw new StepError(
              `{{ ${part.path.join('.')} }}: ${JSON.stringify(mask(value))} is not a host name or host:port`, false,
            );
          }
          out += value;
        } else {
          out += encodeURIComponent(value);
        }
      }
      return out;
    },

    arg(t) {
      const out = renderWith(t, resolve, (v, path) => {
        if (/[\0]/.test(v)) throw new StepError(`{{ ${path.join('.')} }}: a program argument cannot hold a NUL byte`, false);
        return v;
      });
      const first = t[0];
      if (first !== undefined && typeof first !== 'string' && out.startsWith('-')) {
        throw new StepError(`{{ ${first.path.join('.')} }}: a value may not begin an argument with "-" `
          + '(it would be read as an option)', false);
      }
      return out;
    },

    header(t) {
      const out = renderWith(t, resolve, (v, path) => {
        if (/[\r\n\0]/.test(v)) throw new StepError(`{{ ${path.join('.')} }}: a header value cannot hold CR, LF or NUL`, false);
        return v;
      });
      if (/[\r\n\0]/.test(out)) throw new StepError('a header value cannot hold CR, LF or NUL', false);
      return out;
    },

    mask,
  };
}

/** A host name, IPv4 address or [IPv6] address, with an optional port: nothing that ends the authority. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Which part of a URL the text so far ends in. */
function urlPosition(sofar: string): 'scheme' | 'authority' | 'rest' {
  const sep = sofar.indexOf('://');
  if (sep === -1) return 'scheme';
  return /[/?#]/.test(sofar.slice(sep + 3)) ? 'rest' : 'authority';
}

/** The forms a secret may take in what is recorded: as is, JSON-escaped, percent-encoded. */
function encodings(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)])].filter((v) => v !== '');
}

function own(record: Readonly<Record<string, unknown>>, key: string): string {
  if (!Object.hasOwn(record, key)) return '';
  const v = record[key];
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the record's values are scalars (labels, fields)
  return v === null || v === undefined ? '' : String(v);
}
