import { z } from 'zod';
import { CronSyntaxError, parseCron } from '../../domain/cron-schedule';
import { parseDuration } from '../../domain/duration';
import { isTimeZone } from '../../domain/zoned-time';
import { MaintenanceSchedule, type MaintenanceWindow } from '../maintenance-schedule';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { compileMatchers, durationField, ruleNameField } from '../rule-fields';

/** Longest window: a longer one is not maintenance but a standing silence. */
const MAX_DURATION_MS = 31 * 86_400_000;

export const maintenanceWindowV1 = z.strictObject({
  /** Unique across all rule files; alerts held by the window name it. */
  name: ruleNameField,
  /** When each occurrence starts: a cron schedule of 5 fields (minute hour day-of-month month day-of-week). */
  schedule: z.string(),
  /** How long each occurrence lasts. */
  duration: durationField.refine((s) => {
    const ms = parseDuration(s);
    return ms === undefined || (ms > 0 && ms <= MAX_DURATION_MS);
  }, { error: 'expected a duration above 0 and at most 31d' }),
  /** The IANA time zone the schedule's wall times are in. @defaultValue UTC */
  time_zone: z.string().refine(isTimeZone, { error: 'expected an IANA time zone such as Europe/Berlin or UTC' })
    .default('UTC'),
  /** Alertmanager matchers, all of which must hold. @defaultValue [] */
  matchers: z.array(z.string()).default([]),
  /** Configuration item ids: the window covers alerts bound to one of them. @defaultValue [] (any) */
  cis: z.array(z.string().min(1).max(256)).default([]),
});

/**
 * `kind: MaintenanceWindows`: recurring windows during which the alerts they cover open no
 * incident. Such alerts are stored as `maintenance`, naming the window; one still firing when
 * its window ends opens its incident then. Runtime form: one {@link MaintenanceSchedule}.
 *
 * @example
 * apiVersion: quell/v1
 * kind: MaintenanceWindows
 * windows:
 *   - name: db-patching
 *     schedule: '0 2 * * sat'
 *     duration: 2h
 *     time_zone: Europe/Berlin
 *     matchers: ['service="db"']
 */
export const maintenanceWindowsKind = defineRuleKind({
  kind: 'MaintenanceWindows',
  versions: {
    'quell/v1': z.strictObject({ windows: z.array(maintenanceWindowV1) }),
  },

  compile(spec, doc) {
    const out: { window: MaintenanceWindow; at: SourcePosition }[] = [];
    spec.windows.forEach((w, i) => {
      const matchers = compileMatchers(w.matchers, doc, ['windows', i, 'matchers']);
      let schedule;
      try {
        schedule = parseCron(w.schedule);
      } catch (err) {
        if (!(err instanceof CronSyntaxError)) throw err;
        doc.error(['windows', i, 'schedule'], err.message);
      }
      if (matchers === undefined || schedule === undefined) return;
      const at = doc.position(['windows', i, 'name']);
      if (matchers.length === 0 && w.cis.length === 0) {
        doc.warn(['windows', i], `window ${JSON.stringify(w.name)} has no matchers and no cis: it covers every alert`);
      }
      out.push({
        at,
        window: {
          name: w.name, schedule, durationMs: parseDuration(w.duration) as number, timeZone: w.time_zone,
          matchers, cis: new Set(w.cis), origin: `${doc.file}:${doc.position(['windows', i]).line}`,
        },
      });
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, string>();
    for (const { window, at } of items) {
      const other = seen.get(window.name);
      if (other !== undefined) ctx.error(at, `window name ${JSON.stringify(window.name)} is already used at ${other}`);
      else seen.set(window.name, window.origin);
    }
    return new MaintenanceSchedule(items.map((i) => i.window));
  },

  count: (schedule) => schedule.windows.length,
});
