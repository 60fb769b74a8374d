import { createHash } from 'node:crypto';
import type { QueuedJob } from '../queue/job-queue';

/** The outbox's and the embedded queue's name of the notification queue (BullMQ: `notifyQueueName`). */
export const NOTIFY_QUEUE = 'notify';

/**
 * One message to one notification target about one incident. It carries the target's name,
 * never its URL: the URL (usually a secret) is rendered when the message is sent, so no secret
 * is stored in the outbox or the queue.
 */
export interface NotifyJob extends QueuedJob {
  readonly incidentId: number;
  readonly target: string;
  /** What it is about, as the timeline's `notified` entry says: `sla_breached:tta`, `escalation:<policy>:L2R0`. */
  readonly about: string;
  readonly title: string;
  readonly text: string;
}

/** Its id: the same message to the same target about the same thing is one job. */
export function notifyJobId(incidentId: number, about: string, target: string): string {
  const hash = createHash('sha256').update(JSON.stringify([incidentId, about, target])).digest('hex');
  return `notify-${hash.slice(0, 32)}`;
}

export function notifyJob(incidentId: number, about: string, target: string, title: string, text: string): NotifyJob {
  return { id: notifyJobId(incidentId, about, target), incidentId, target, about, title, text };
}
