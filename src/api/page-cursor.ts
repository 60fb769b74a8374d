import { z } from 'zod';
import { findUnstorableText } from '../connectors/storable-text';
import type { AlertListKey } from '../store/alert-queries';
import type { AlertKey, EventKey, IncidentKey } from '../store/incident-queries';
import type { SilenceKey } from '../store/silence-store';
import type { ChangeKey, RunKey } from '../runbooks/run-records';
import type { ProblemEventKey, ProblemIncidentKey, ProblemKey } from '../store/problem-queries';

/**
 * A list's cursor: opaque to clients, who pass back what `next` gave them. It is base64url of
 * the JSON `[list, ...key]`, the key of the last row sent; it is checked like any input, and
 * one that is not a key of the list asked for is a 400 `invalid_request`, never a query.
 */
export interface CursorCodec<K> {
  encode(key: K | null): string | null;
  /** The query parameter: a cursor, or nothing (from the start). */
  readonly param: z.ZodType<K | undefined, string | undefined>;
}

const MAX_CURSOR = 2048;

function cursorCodec<K extends readonly unknown[]>(list: string, key: z.ZodType<K>): CursorCodec<K> {
  const decode = (text: string): K | undefined => {
    if (text.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(value) || value[0] !== list || findUnstorableText(value) !== undefined) return undefined;
    const parsed = key.safeParse(value.slice(1));
    return parsed.success ? parsed.data : undefined;
  };
  return {
    encode: (k) => (k === null ? null : Buffer.from(JSON.stringify([list, ...k])).toString('base64url')),
    param: z.string().optional().transform((text, ctx) => {
      if (text === undefined || text === '') return undefined;
      const k = decode(text);
      if (k === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a cursor of this list; pass back the "next" of its last page` });
        return z.NEVER;
      }
      return k;
    }),
  };
}

/** A timestamp as keys hold it (exact, UTC, microseconds), and a real one: PostgreSQL would refuse 02-30. */
const exactTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((s) => {
    const ms = Date.parse(s);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === s.slice(0, 19);
  });

export const incidentCursor = cursorCodec<IncidentKey>('incidents',
  z.tuple([exactTime, z.number().int().min(1).max(2_147_483_647)]).readonly());
export const alertCursor = cursorCodec<AlertKey>('alerts',
  z.tuple([exactTime, z.string().min(1).max(256), exactTime]).readonly());
export const timelineCursor = cursorCodec<EventKey>('timeline',
  z.tuple([z.string().regex(/^[1-9][0-9]{0,17}$/)]).readonly());
export const silenceCursor = cursorCodec<SilenceKey>('silences',
  z.tuple([exactTime, z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)]).readonly());
/** Every stored alert (`GET /api/v1/alerts`), in fingerprint order; `alerts` is an incident's. */
export const alertListCursor = cursorCodec<AlertListKey>('alert-list',
  z.tuple([z.string().min(1).max(256)]).readonly());
/** Runbook runs (`GET /api/v1/runbook-runs`) and changes (`GET /api/v1/changes`), newest first. */
export const runCursor = cursorCodec<RunKey>('runbook-runs',
  z.tuple([z.number().int().min(1).max(2_147_483_647)]).readonly());
export const changeCursor = cursorCodec<ChangeKey>('changes',
  z.tuple([z.number().int().min(1).max(2_147_483_647)]).readonly());
/** Problems (`GET /api/v1/problems`), newest first; a problem's incidents and timeline. */
export const problemCursor = cursorCodec<ProblemKey>('problems',
  z.tuple([exactTime, z.number().int().min(1).max(2_147_483_647)]).readonly());
export const problemIncidentCursor = cursorCodec<ProblemIncidentKey>('problem-incidents',
  z.tuple([z.number().int().min(1).max(2_147_483_647)]).readonly());
export const problemTimelineCursor = cursorCodec<ProblemEventKey>('problem-timeline',
  z.tuple([z.string().regex(/^[1-9][0-9]{0,17}$/)]).readonly());
