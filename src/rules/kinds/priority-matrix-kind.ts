import { z } from 'zod';
import { DEFAULT_PRIORITY_POLICY, type Priority, type PriorityPolicy } from '../../domain/priority';
import { defineRuleKind, type SourcePosition } from '../rule-kind';

const priority = z.number().int().min(1).max(5).transform((n) => n as Priority);
const row = z.strictObject({ high: priority, medium: priority, low: priority });
const values = z.array(z.string().min(1).max(100)).max(50);
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name');

/**
 * `kind: PriorityMatrix`: how priority is decided, replacing the ITIL default. At most one such
 * document in the rules; fields left out keep their defaults.
 *
 * @example
 * apiVersion: quell/v1
 * kind: PriorityMatrix
 * urgency:
 *   label: severity
 *   high: [critical, page]
 *   medium: [warning]
 * matrix:
 *   high:   { high: 1, medium: 1, low: 2 }
 *   medium: { high: 2, medium: 3, low: 4 }
 *   low:    { high: 3, medium: 4, low: 5 }
 */
export const priorityMatrixKind = defineRuleKind({
  kind: 'PriorityMatrix',
  versions: {
    'quell/v1': z.strictObject({
      /** Where urgency comes from: a label and the values (any case) that mean high and medium. */
      urgency: z.strictObject({
        label: labelName.optional(), high: values.optional(), medium: values.optional(),
      }).optional(),
      /** impact -> urgency -> priority (1 to 5). */
      matrix: z.strictObject({ high: row, medium: row, low: row }).optional(),
    }),
  },

  compile(spec, doc) {
    const high = (spec.urgency?.high ?? DEFAULT_PRIORITY_POLICY.high).map((v) => v.toLowerCase());
    const medium = (spec.urgency?.medium ?? DEFAULT_PRIORITY_POLICY.medium).map((v) => v.toLowerCase());
    const both = high.find((v) => medium.includes(v));
    if (both !== undefined) doc.error(['urgency', 'medium'], `${JSON.stringify(both)} is both high and medium urgency`);
    const policy: PriorityPolicy = {
      label: spec.urgency?.label ?? DEFAULT_PRIORITY_POLICY.label, high, medium,
      matrix: spec.matrix ?? DEFAULT_PRIORITY_POLICY.matrix,
    };
    return [{ policy, at: doc.position([]) }];
  },

  combine(items: readonly { policy: PriorityPolicy; at: SourcePosition }[], ctx) {
    const [first, ...others] = items;
    for (const other of others) {
      ctx.error(other.at, `a second PriorityMatrix; the first is at ${first?.at.file}:${first?.at.line}`);
    }
    return first?.policy ?? DEFAULT_PRIORITY_POLICY;
  },

  count: (policy) => (policy === DEFAULT_PRIORITY_POLICY ? 0 : 1),
});
