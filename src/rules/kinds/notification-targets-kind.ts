import { z } from 'zod';
import { WEBHOOK_FORMATS, type WebhookFormat } from '../../notify/webhook-shapes';
import { compileUrl } from '../../runbooks/actions/action-params';
import type { ParsedTemplate } from '../../runbooks/runbook-action';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { ruleNameField } from '../rule-fields';

/** Where service-level and escalation notifications go, by name. */
export interface NotificationTarget {
  readonly name: string;
  readonly format: WebhookFormat;
  /** Rendered when a notification is sent: a `{{ secret.NAME }}` is read then (a rotated secret is picked up). */
  readonly url: ParsedTemplate;
}

export type NotificationTargets = ReadonlyMap<string, NotificationTarget>;

const targetV1 = z.strictObject({
  /** Unique across all rule files; ServiceLevels' and EscalationPolicies' `notify` name it. */
  name: ruleNameField,
  /**
   * `generic` (`{incident, title, text}`), `slack` (incoming webhook) or `teams` (adaptive card).
   * @defaultValue generic
   */
  format: z.enum(WEBHOOK_FORMATS).default('generic'),
  /** The webhook: `https://...` written here, or (to keep its token out of the rules) `{{ secret.NAME }}`. */
  url: z.string().min(1),
});

/**
 * `kind: NotificationTargets`: the webhooks that service-level warnings and breaches and
 * escalation steps are posted to, through the SSRF-guarded client (QUELL_HTTP_ALLOW), with
 * retries. Runtime form: the targets by name.
 *
 * @example
 * apiVersion: quell/v1
 * kind: NotificationTargets
 * targets:
 *   - name: db-oncall
 *     format: slack
 *     url: '{{ secret.SLACK_DB_ONCALL }}'
 *   - name: it-manager
 *     format: teams
 *     url: '{{ secret.TEAMS_IT_MANAGER }}'
 */
export const notificationTargetsKind = defineRuleKind({
  kind: 'NotificationTargets',
  versions: {
    'quell/v1': z.strictObject({ targets: z.array(targetV1) }),
  },

  compile(spec, doc) {
    return spec.targets.map((t, i) => ({
      at: doc.position(['targets', i, 'name']),
      target: { name: t.name, format: t.format, url: compileUrl(t.url, ['targets', i, 'url'], doc) },
    }));
  },

  combine(items: readonly { target: NotificationTarget; at: SourcePosition }[], ctx): NotificationTargets {
    const out = new Map<string, NotificationTarget>();
    const at = new Map<string, SourcePosition>();
    for (const item of items) {
      const other = at.get(item.target.name);
      if (other !== undefined) {
        const name = JSON.stringify(item.target.name);
        ctx.error(item.at, `target name ${name} is already used at ${other.file}:${other.line}`);
      } else { out.set(item.target.name, item.target); at.set(item.target.name, item.at); }
    }
    return out;
  },

  count: (targets) => targets.size,
});
