import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import { CLOCK_PAUSING_STATUSES, HOLD_STATES } from '../../domain/incident-lifecycle';
import { NO_SERVICE_LEVELS, type ServiceLevelPolicy, type ServiceLevelTargets } from '../../domain/service-level';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { durationField, ruleNameField } from '../rule-fields';

const positiveDuration = durationField
  .refine((s) => (parseDuration(s) ?? 0) > 0, { error: 'expected a duration above 0' });

/** Targets of one priority: either clock may be left out (that priority has no such clock). */
const targetsV1 = z.strictObject({
  time_to_acknowledge: positiveDuration.optional(),
  time_to_resolve: positiveDuration.optional(),
});

/**
 * `kind: ServiceLevels`: time-to-acknowledge and time-to-resolve targets per priority, the
 * statuses in which the clocks stand still, when a clock is near its breach, and who is told.
 * At most one such document in the rules. Runtime form: one {@link ServiceLevelPolicy}.
 *
 * @example
 * apiVersion: quell/v1
 * kind: ServiceLevels
 * pause_in: [on_hold, awaiting_change]
 * warn_at: 80%
 * notify: [oncall-slack]
 * priorities:
 *   P1: { time_to_acknowledge: 15m, time_to_resolve: 4h }
 *   P2: { time_to_acknowledge: 30m, time_to_resolve: 8h }
 *   P3: { time_to_resolve: 3d }
 */
export const serviceLevelsKind = defineRuleKind({
  kind: 'ServiceLevels',
  versions: {
    'quell/v1': z.strictObject({
      /** Statuses in which every clock stands still. @defaultValue [on_hold, awaiting_change] */
      pause_in: z.array(z.enum(HOLD_STATES)).default([...CLOCK_PAUSING_STATUSES] as typeof HOLD_STATES[number][]),
      /** From which share of its target a clock is near its breach (1% to 99%). @defaultValue 80% */
      warn_at: z.string().regex(/^([1-9]|[1-9][0-9])%$/, 'expected a percentage from 1% to 99%, such as 80%').default('80%'),
      /** Notification targets (kind NotificationTargets) told of near-breaches and breaches. @defaultValue [] */
      notify: z.array(ruleNameField).default([]),
      /** Targets per priority, P1 to P5; a priority left out has no service level. */
      priorities: z.strictObject({
        P1: targetsV1.optional(), P2: targetsV1.optional(), P3: targetsV1.optional(), P4: targetsV1.optional(),
        P5: targetsV1.optional(),
      }),
    }),
  },

  compile(spec, doc) {
    const targets: Record<number, ServiceLevelTargets> = {};
    for (const [p, t] of Object.entries(spec.priorities)) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- an optional key may hold undefined
      if (t === undefined) continue;
      const tta = t.time_to_acknowledge !== undefined ? parseDuration(t.time_to_acknowledge) : undefined;
      const ttr = t.time_to_resolve !== undefined ? parseDuration(t.time_to_resolve) : undefined;
      if (tta !== undefined && ttr !== undefined && tta > ttr) {
        doc.warn(['priorities', p, 'time_to_acknowledge'], `${p}: time to acknowledge is longer than time to resolve`);
      }
      targets[Number(p.slice(1))] = { ...(tta !== undefined ? { tta } : {}), ...(ttr !== undefined ? { ttr } : {}) };
    }
    const policy: ServiceLevelPolicy = {
      targets, pauseIn: spec.pause_in, warnAt: Number(spec.warn_at.slice(0, -1)) / 100, notify: spec.notify,
    };
    return [{ policy, at: doc.position([]) }];
  },

  combine(items: readonly { policy: ServiceLevelPolicy; at: SourcePosition }[], ctx) {
    const [first, ...others] = items;
    for (const other of others) {
      ctx.error(other.at, `a second ServiceLevels; the first is at ${first?.at.file}:${first?.at.line}`);
    }
    return first?.policy ?? NO_SERVICE_LEVELS;
  },

  count: (policy) => Object.keys(policy.targets).length,
});
