import { z } from 'zod';
import type { Labels } from '../domain/alert';

/** Longest label name, in characters (UTF-16 code units, as everywhere in the schemas). */
export const MAX_LABEL_NAME_LENGTH = 1024;
/** Longest label or annotation value, in characters. */
export const MAX_LABEL_VALUE_LENGTH = 16384;

/**
 * A label set or annotation set in a connector's schema: an object of string values. Every
 * name is kept as an own property of a plain object, `__proto__` and `constructor` included
 * (zod's `z.record` assigns keys one by one, and assigning `__proto__` sets the prototype
 * instead: the label vanished from the alert and from its fingerprint). Error paths name the
 * label: `alerts[0].labels.foo`.
 *
 * Limits are in characters, not bytes: labels are stored as jsonb, which no index holds, so
 * their size in bytes (at most 3 per character) meets no database limit. The one index fed by
 * label values, the group key's, counts bytes itself (src/domain/group-key.ts).
 */
export const labelSet: z.ZodType<Labels> = z.unknown().transform((input, ctx): Labels => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    ctx.addIssue({ code: 'custom', message: 'expected an object of names to string values', input });
    return z.NEVER;
  }
  const entries = Object.entries(input);
  let ok = true;
  const fail = (name: string, message: string): void => {
    ctx.addIssue({ code: 'custom', message, path: [name], input });
    ok = false;
  };
  for (const [name, value] of entries) {
    if (name.length > MAX_LABEL_NAME_LENGTH) fail(name, `name longer than ${MAX_LABEL_NAME_LENGTH} characters`);
    else if (typeof value !== 'string') fail(name, `expected a string, not ${value === null ? 'null' : typeof value}`);
    else if (value.length > MAX_LABEL_VALUE_LENGTH) fail(name, `longer than ${MAX_LABEL_VALUE_LENGTH} characters`);
  }
  // fromEntries defines properties (no setters run), so `__proto__` stays a label.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `fail` (a closure) sets `ok` to false
  return ok ? Object.fromEntries(entries) : z.NEVER;
});
