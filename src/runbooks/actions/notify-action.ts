import { z } from 'zod';
import { defineAction, type ParsedTemplate, type TemplateRenderer } from '../runbook-action';
import { parseRunbookTemplate } from '../template-renderer';
import { checkStatus, compileTemplate, compileUrl, httpFor } from './action-params';

const notifyWith = z.strictObject({
  /** `generic`: `{incident, title, text}`; `slack`: an incoming webhook's `{text}`; `teams`: a message with an adaptive card. @defaultValue generic */
  format: z.enum(['generic', 'slack', 'teams']).default('generic'),
  /** The webhook; usually `{{ secret.NAME }}`. */
  url: z.string().min(1),
  text: z.string().min(1),
  /** @defaultValue the incident's title */
  title: z.string().optional(),
});

interface NotifyParams {
  readonly format: 'generic' | 'slack' | 'teams';
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
  switch (p.format) {
    case 'slack': {
      const title = slackText(p.title, render);
      const text = slackText(p.text, render);
      return { text: title !== '' ? `*${title}*\n${text}` : text };
    }
    case 'teams':
      return {
        type: 'message',
        attachments: [{
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: render.text(p.title), weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'TextBlock', text: render.text(p.text), wrap: true },
            ],
          },
        }],
      };
    case 'generic': {
      const id = render.text(INCIDENT.id);
      const priority = render.text(INCIDENT.priority);
      return {
        incident: {
          id: id === '' ? null : Number(id), title: render.text(INCIDENT.title),
          priority: priority === '' ? null : Number(priority), status: render.text(INCIDENT.status),
        },
        title: render.text(p.title),
        text: render.text(p.text),
      };
    }
  }
}

/** The runbook's text as written, values escaped for Slack's mrkdwn. */
function slackText(t: ParsedTemplate, render: TemplateRenderer): string {
  return t.map((part) => (typeof part === 'string' ? part
    : render.text([part]).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'))).join('');
}
