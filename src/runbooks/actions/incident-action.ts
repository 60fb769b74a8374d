import { z } from 'zod';
import { defineAction, type ParsedTemplate } from '../runbook-action';
import { compileTemplate } from './action-params';

const priorityField = z.union([
  z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).transform((p) => Number(p.slice(1))),
  z.number().int().min(1).max(5),
], { error: () => 'expected P1 to P5 (or 1 to 5)' });

const incidentWith = z.union([
  /** A comment on the incident's timeline. */
  z.strictObject({ comment: z.string().min(1) }),
  /** P1 (highest) to P5, or 1 to 5. */
  z.strictObject({ set_priority: priorityField }),
  /** Resolves the incident (with a comment). */
  z.strictObject({ resolve: z.literal(true), comment: z.string().min(1).optional() }),
  /** Escalates: records the reason on the timeline (an `escalated` event). */
  z.strictObject({ escalate: z.string().min(1) }),
]);

type IncidentParams =
  | { readonly op: 'comment'; readonly text: ParsedTemplate }
  | { readonly op: 'set_priority'; readonly priority: number }
  | { readonly op: 'resolve'; readonly comment?: ParsedTemplate }
  | { readonly op: 'escalate'; readonly reason: ParsedTemplate };

/**
 * `action: incident`: comments on, re-prioritises, resolves or escalates the run's incident
 * through the IncidentPort (Quell's own record: not a change). Output: `done: true`.
 */
export const incidentAction = defineAction<z.output<typeof incidentWith>, IncidentParams>({
  name: 'incident',
  schema: incidentWith,

  compile(spec, path, doc) {
    if ('set_priority' in spec) return { op: 'set_priority', priority: spec.set_priority };
    if ('resolve' in spec) {
      return {
        op: 'resolve',
        ...(spec.comment !== undefined ? { comment: compileTemplate(spec.comment, [...path, 'comment'], doc) } : {}),
      };
    }
    if ('escalate' in spec) {
      return { op: 'escalate', reason: compileTemplate(spec.escalate, [...path, 'escalate'], doc) };
    }
    return { op: 'comment', text: compileTemplate(spec.comment, [...path, 'comment'], doc) };
  },

  mutates: () => false,

  async run(p, ctx) {
    const { incident, incidentId, render } = ctx;
    switch (p.op) {
      case 'comment': await incident.comment(incidentId, render.text(p.text)); break;
      case 'set_priority': await incident.setPriority(incidentId, p.priority); break;
      case 'resolve':
        await incident.resolve(incidentId, p.comment !== undefined ? render.text(p.comment) : undefined); break;
      case 'escalate': await incident.escalate(incidentId, render.text(p.reason)); break;
    }
    return { done: true };
  },
});
