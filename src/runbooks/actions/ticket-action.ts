import { z } from 'zod';
import { defineAction, StepError, type ParsedTemplate, type StepOutput } from '../runbook-action';
import {
  checkStatus, compileHeaders, compileTemplate, compileTemplates, compileUrl, httpFor, renderHeaders,
} from './action-params';

const ticketWith = z.strictObject({
  /** Jira (REST API v2) or ServiceNow (Table API, table `incident`). */
  system: z.enum(['jira', 'servicenow']),
  /** The instance's base URL, e.g. `https://acme.atlassian.net`. */
  url: z.string().min(1),
  /** @defaultValue create */
  op: z.enum(['create', 'update']).default('create'),
  /** For `update`: the issue key or sys_id, usually `{{ steps.<create step>.key }}`. */
  ticket: z.string().optional(),
  /** Jira: the project key (create). */
  project: z.string().optional(),
  /** Jira: the issue type (create). @defaultValue Task */
  issue_type: z.string().default('Task'),
  /**
   * The ticket's fields, each a template. `summary` and `description` are mapped to each system's
   * names (ServiceNow: `short_description`); Jira's `priority` becomes `{name}`; others are sent as named.
   */
  fields: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a field name'), z.string()).default({}),
  /** Authentication, e.g. `Authorization: 'Bearer {{ secret.JIRA_TOKEN }}'`. @defaultValue {} */
  headers: z.record(z.string(), z.string()).default({}),
});

/** What Jira (`key`, `id`) or ServiceNow (`result`) answers a create with, as far as it is read. */
interface TicketAnswer {
  readonly key?: unknown;
  readonly id?: string | number;
  readonly result?: { readonly sys_id?: unknown; readonly number?: string | number };
}

interface TicketParams {
  readonly system: 'jira' | 'servicenow';
  readonly op: 'create' | 'update';
  readonly url: ParsedTemplate;
  readonly ticket?: ParsedTemplate;
  readonly project?: string;
  readonly issueType: string;
  readonly fields: readonly (readonly [string, ParsedTemplate])[];
  readonly headers: readonly (readonly [string, ParsedTemplate])[];
}

/**
 * `action: ticket`: creates or updates a ticket in Jira (`POST /rest/api/2/issue`,
 * `PUT /rest/api/2/issue/{key}`) or ServiceNow (`POST /api/now/table/incident`,
 * `PATCH /api/now/table/incident/{sys_id}`) through the guarded client. Output: `key` (Jira key
 * or ServiceNow sys_id), `number` (ServiceNow), `url`. Not a change (`mutates` false): it writes
 * an external record, not the infrastructure.
 */
export const ticketAction = defineAction<z.output<typeof ticketWith>, TicketParams>({
  name: 'ticket',
  schema: ticketWith,

  compile(spec, path, doc) {
    if (spec.op === 'update' && spec.ticket === undefined) {
      doc.error([...path, 'op'], 'update needs ticket: (the key or sys_id)');
    }
    if (spec.op === 'create' && spec.system === 'jira' && spec.project === undefined) {
      doc.error([...path, 'system'], 'a Jira create needs project:');
    }
    if (spec.op === 'create' && spec.fields['summary'] === undefined) {
      doc.error([...path, 'fields'], 'a create needs fields.summary');
    }
    const base = spec.url.replace(/\/+$/, '');
    return {
      system: spec.system, op: spec.op,
      url: compileUrl(base, [...path, 'url'], doc),
      ...(spec.ticket !== undefined ? { ticket: compileTemplate(spec.ticket, [...path, 'ticket'], doc) } : {}),
      ...(spec.project !== undefined ? { project: spec.project } : {}),
      issueType: spec.issue_type,
      fields: compileTemplates(spec.fields, [...path, 'fields'], doc),
      headers: compileHeaders(spec.headers, [...path, 'headers'], doc),
    };
  },

  mutates: () => false,

  async run(p, ctx): Promise<StepOutput> {
    const { render } = ctx;
    const fields = Object.fromEntries(p.fields.map(([k, t]) => [k, render.text(t)]));
    const base = render.url(p.url);
    let key = '';
    if (p.op === 'update') {
      key = render.text(p.ticket as ParsedTemplate);
      if (key === '') throw new StepError('update: the ticket key rendered empty', false);
    }
    const jira = p.system === 'jira';
    const path = jira ? '/rest/api/2/issue' : '/api/now/table/incident';
    // The key is one percent-encoded path segment: it cannot leave the API's path.
    const url = `${base}${path}${p.op === 'update' ? `/${encodeURIComponent(key)}` : ''}`;
    const body = jira ? { fields: jiraFields(p, fields) } : serviceNowFields(fields);
    const headers = {
      ...renderHeaders(p.headers, render), 'Content-Type': 'application/json', Accept: 'application/json',
    };
    const method = p.op === 'create' ? 'POST' : jira ? 'PUT' : 'PATCH';
    const res = await httpFor(ctx).request({ method, url, headers, body: JSON.stringify(body), signal: ctx.signal });
    checkStatus(`${p.system} ${p.op}`, res.status, res.body, render);
    if (p.op === 'update') {
      return { key, url: jira ? `${base}/browse/${encodeURIComponent(key)}` : url, status: res.status };
    }
    let answer: TicketAnswer | null;
    try {
      answer = JSON.parse(res.body) as TicketAnswer | null;
    } catch {
      throw new StepError(`${p.system} answered no JSON`, false, { status: res.status });
    }
    if (jira) {
      const issueKey = answer?.key;
      if (typeof issueKey !== 'string') {
        throw new StepError('jira answered no issue key', false, { status: res.status });
      }
      return {
        key: issueKey, id: String(answer?.id ?? ''), url: `${base}/browse/${encodeURIComponent(issueKey)}`,
        status: res.status,
      };
    }
    const result = answer?.result;
    const sysId = result?.sys_id;
    if (typeof sysId !== 'string') throw new StepError('servicenow answered no sys_id', false, { status: res.status });
    return {
      key: sysId, number: String(result?.number ?? ''), url: `${base}${path}/${encodeURIComponent(sysId)}`,
      status: res.status,
    };
  },
});

function jiraFields(p: TicketParams, fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.op === 'create') {
    out['project'] = { key: p.project };
    out['issuetype'] = { name: p.issueType };
  }
  for (const [k, v] of Object.entries(fields)) out[k] = k === 'priority' ? { name: v } : v;
  return out;
}

function serviceNowFields(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k === 'summary' ? 'short_description' : k] = v;
  return out;
}
