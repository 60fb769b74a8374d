import { z } from 'zod';

/**
 * A source's time: RFC 3339, or ISO 8601 with a `+0000` offset (no colon), as PagerDuty's
 * examples and CloudWatch's alarm messages write it. Parsed to RFC 3339 text; the framework
 * then checks that the database can store it (storable-alert.ts).
 */
export const sourceTimestamp = z.string().max(64).transform((s, ctx) => {
  const text = s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  if (!z.iso.datetime({ offset: true }).safeParse(text).success) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 timestamp' });
    return z.NEVER;
  }
  return text;
});
