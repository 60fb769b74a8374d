import cron from 'node-cron';
import type { Logger } from '../log';
import type { SweepOutcome } from './sla-sweep';

/**
 * Runs the service-level sweep every minute (at second 0) in this process, never two at once
 * here. Every worker schedules it; the sweep's advisory lock lets one of them do the work
 * each minute (see sweepServiceLevels). `now` is the clock (tests drive the sweep directly).
 */
export function scheduleSlaSweep(
  sweep: (now: Date) => Promise<SweepOutcome>, log: Logger, now: () => Date = () => new Date(),
): { stop(): void } {
  let failing = false;
  const task = cron.schedule('* * * * *', async () => {
    try {
      await sweep(now());
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err: (err as Error).message }, 'service-level sweep failed; will try again next minute');
      failing = true;
    }
  }, { name: 'quell-sla-sweep', noOverlap: true });
  return { stop: () => { void task.stop(); } };
}
