import { z } from 'zod';
import { slackEscape, WEBHOOK_FORMATS, webhookPayload, type WebhookFormat } from '../../notify/webhook-shapes';
import { defineAction, type ParsedTemplate, type TemplateRenderer } from '../runbook-action';
import { parseRunbookTemplate } from '../template-renderer';
import { checkStatus, compileTemplate, compileUrl, httpFor } from './action-params';

const notifyWith = z.strictObject({
  /**
   * `generic`: `{incident, title, text}`; `slack`: an incoming webhook's `{text}`; `teams`: a message with an
   * adaptive card.
   * @defaultValue generic
   */
  format: z.enum(WEBHOOK_FORMATS).default('generic'),
  /** The webhook; usually `{{ secret.NAME }}`. */
  url: z.string().min(1),
  text: z.string().min(1),
  /** @defaultValue the incident's title */
  title: z.string().optional(),
});

interface NotifyParams {
  readonly format: WebhookFormat;
  readonly url: ParsedTemplate;
  readonly text: ParsedTemplate;
  readonly title: ParsedTemplate;
}

const INCIDENT = {
  id: parseRunbookTemplate('{{ incident.id }}'),
  title: parseRunbookTemplate('{{ incident.title }}'),
  priority: parseRunbookTemplate('{{ incident.priority }}'),
  status: parseRunbookTemplate('{{ incident.status }}'),
};

/**
 * `action: notify`: posts a message to a webhook, in the generic, Slack or Microsoft Teams
 * shape, through the guarded client. Slack's control characters (`<`, `>`, `&`: mentions such
 * as `<!channel>`, links) are escaped in values, not in the runbook's own text. Output: `status`.
 */
export const notifyAction = defineAction<z.output<typeof notifyWith>, NotifyParams>({
  name: 'notify',
  schema: notifyWith,

  compile(spec, path, doc) {
    return {
      format: spec.format,
      url: compileUrl(spec.url, [...path, 'url'], doc),
      text: compileTemplate(spec.text, [...path, 'text'], doc),
      title: spec.title !== undefined ? compileTemplate(spec.title, [...path, 'title'], doc) : INCIDENT.title,
    };
  },

  mutates: () => false,

  async run(p, ctx) {
    const { render } = ctx;
    const payload = payloadOf(p, render);
    const res = await httpFor(ctx).request({
      method: 'POST', url: render.url(p.url), headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload), signal: ctx.signal,
    });
    checkStatus(`${p.format} webhook`, res.status, res.body, render);
    return { status: res.status };
  },
});

function payloadOf(p: NotifyParams, render: TemplateRenderer): unknown {
  const id = render.text(INCIDENT.id);
  const priority = render.text(INCIDENT.priority);
  return webhookPayload(p.format, {
    title: render.text(p.title),
    text: render.text(p.text),
    slack: { title: slackText(p.title, render), text: slackText(p.text, render) },
    incident: {
      id: id === '' ? null : Number(id), title: render.text(INCIDENT.title),
      priority: priority === '' ? null : Number(priority), status: render.text(INCIDENT.status),
    },
  });
}

/** The runbook's text as written, values escaped for Slack's mrkdwn. */
function slackText(t: ParsedTemplate, render: TemplateRenderer): string {
  return t.map((part) => (typeof part === 'string' ? part : slackEscape(render.text([part])))).join('');
}
