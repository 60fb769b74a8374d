/**
 * The bodies Quell posts to chat and webhook receivers, one builder for every sender (the
 * runbook `notify` action, SLA and escalation notifications).
 */

export const WEBHOOK_FORMATS = ['generic', 'slack', 'teams'] as const;

export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export interface WebhookMessage {
  readonly title: string;
  readonly text: string;
  /**
   * Slack mrkdwn of the title and the text, values escaped by the sender (it knows which parts
   * are its own). @defaultValue title and text escaped whole
   */
  readonly slack?: { readonly title: string; readonly text: string };
  /** The incident, for the generic shape. */
  readonly incident: {
    readonly id: number | null;
    readonly title: string;
    readonly priority: number | null;
    readonly status: string;
  };
}

/**
 * `generic`: `{incident, title, text}`; `slack`: an incoming webhook's `{text}`; `teams`: a
 * message with an adaptive card.
 */
export function webhookPayload(format: WebhookFormat, m: WebhookMessage): unknown {
  switch (format) {
    case 'slack': {
      const title = m.slack?.title ?? slackEscape(m.title);
      const text = m.slack?.text ?? slackEscape(m.text);
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
              { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'TextBlock', text: m.text, wrap: true },
            ],
          },
        }],
      };
    case 'generic':
      return { incident: m.incident, title: m.title, text: m.text };
  }
}

/** Escapes Slack's control characters (`<`, `>`, `&`: mentions such as `<!channel>`, links). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
