import { z } from 'zod';

/** A comma list query parameter (`status=running,queued`) of known values; empty: no filter. */
export function enumList<T extends string>(name: string, values: readonly T[]) {
  return z.string().optional().transform((s, ctx) => {
    if (s === undefined || s === '') return undefined;
    const list = s.split(',').map((x) => x.trim());
    const bad = list.find((x) => !values.includes(x as T));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom', message: `unknown ${name} ${JSON.stringify(bad)}; expected ${values.join(', ')}`,
      });
      return z.NEVER;
    }
    return list as T[];
  });
}

/**
 * The body of an approval or a rejection: why. The approver an ITIL change names is the
 * token's name; `by` is accepted (older clients send it) and ignored.
 */
export const decisionBody = z.object({
  by: z.string().max(200).optional(),
  comment: z.string().max(4000).optional(),
});
