import { sql, type Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { IncidentEvent } from '../domain/incident-event';
import type { Logger } from '../log';
import { DependencyUnavailableError, type QueueHandler } from '../queue/job-queue';
import { retryableStatus } from '../runbooks/actions/action-params';
import type { GuardedHttp } from '../runbooks/guarded-http';
import { StepError } from '../runbooks/runbook-action';
import type { SecretStore } from '../runbooks/secret-store';
import { createTemplateRenderer } from '../runbooks/template-renderer';
import type { NotificationTargets } from '../rules/kinds/notification-targets-kind';
import type { Database } from '../store/database';
import { isConnectionError } from '../store/pg-errors';
import { commitIncidentEvents, TIMELINE_ONLY, type IncidentEventsDeps } from '../store/incident-events-commit';
import type { NotifyJob } from './notify-job';
import { webhookPayload } from './webhook-shapes';

export interface NotifySenderDeps {
  readonly db: Kysely<Database>;
  /** The notification targets in force (read when a message is sent). */
  readonly targets: () => NotificationTargets;
  readonly secrets: SecretStore;
  /** The SSRF-guarded client (QUELL_HTTP_ALLOW). */
  readonly http: GuardedHttp;
  /** Attempts in all before a message counts as failed. @defaultValue 5 */
  readonly maxAttempts?: number;
  /** One attempt's time limit. @defaultValue 10000 */
  readonly timeoutMs?: number;
  readonly incidentEvents?: IncidentEventsDeps;
  readonly registry?: Registry;
  readonly log?: Logger;
}

/** The queue retries this (its backoff spaces the attempts); the handler counted the attempt. */
class RetryLater extends Error {
  override name = 'RetryLater';
}

/**
 * The `notify` queue's handler: posts a message to its target, in the target's shape, through
 * the guarded client. Each attempt is counted in `notify_deliveries` before it is made; a
 * failure that may pass (network, timeout, 5xx, 429) is thrown for the queue to retry with its
 * backoff until `maxAttempts`, then the message is failed. Its outcome (delivered, or failed with
 * the reason) is written once, with a `notified` timeline entry; a job redelivered after that
 * sends nothing. A crash between a send and its record may send a message twice (at least once).
 */
export function notifySender(deps: NotifySenderDeps): QueueHandler<NotifyJob> {
  const maxAttempts = deps.maxAttempts ?? 5;
  const sent = deps.registry ? new Counter({
    name: 'quell_notifications_total',
    help: 'Notification attempts (service levels, escalation), by result: delivered, retried, failed.',
    labelNames: ['result'], registers: [deps.registry],
  }) : undefined;

  const finish = async (job: NotifyJob, status: 'delivered' | 'failed', attempts: number, error?: string) => {
    let outbox: Awaited<ReturnType<typeof commitIncidentEvents>> = [];
    const events = deps.incidentEvents ?? TIMELINE_ONLY;
    await deps.db.transaction().execute(async (trx) => {
      const done = await trx.updateTable('notify_deliveries')
        .set({ status, last_error: error ?? null, updated_at: sql`now()` })
        .where('job_id', '=', job.id).where('status', '=', 'sending').returning('job_id').executeTakeFirst();
      if (done === undefined) return;
      const event: IncidentEvent = {
        kind: 'notified', incidentId: job.incidentId, target: job.target, about: job.about, status, attempts,
        ...(error !== undefined ? { error } : {}),
      };
      outbox = await commitIncidentEvents(trx, [event], events);
    });
    events.relay(outbox);
    sent?.inc({ result: status });
    if (status === 'failed') {
      deps.log?.warn({ job: job.id, target: job.target, about: job.about, attempts, err: error },
        'notification failed');
    }
  };

  const send = async (job: NotifyJob): Promise<void> => {
    const claimed = await deps.db.insertInto('notify_deliveries')
      .values({ job_id: job.id, incident_id: job.incidentId, target: job.target, status: 'sending', attempts: 1 })
      .onConflict((oc) => oc.column('job_id')
        .doUpdateSet({ attempts: sql`notify_deliveries.attempts + 1`, updated_at: sql`now()` })
        .where('notify_deliveries.status', '=', 'sending'))
      .returning('attempts').executeTakeFirst();
    if (claimed === undefined) return; // delivered or failed already
    const attempts = claimed.attempts;
    const target = deps.targets().get(job.target);
    if (target === undefined) {
      return finish(job, 'failed', attempts, `no notification target ${JSON.stringify(job.target)} in the rules`);
    }
    const incident = await deps.db.selectFrom('incidents').select(['id', 'title', 'priority', 'status'])
      .where('id', '=', job.incidentId).executeTakeFirst();
    const render = createTemplateRenderer({
      labels: {}, alert: {}, ci: {}, steps: {},
      incident: incident !== undefined
        ? { id: incident.id, title: incident.title, priority: incident.priority, status: incident.status } : {},
    }, deps.secrets);
    let error: string;
    let retryable: boolean;
    try {
      const body = webhookPayload(target.format, {
        title: job.title, text: job.text,
        incident: {
          id: job.incidentId, title: incident?.title ?? '', priority: incident?.priority ?? null,
          status: incident?.status ?? '',
        },
      });
      const res = await deps.http.request({
        method: 'POST', url: render.url(target.url), headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body), signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
      });
      // eslint-disable-next-line @typescript-eslint/return-await -- finish's failure is not the webhook's: uncaught
      if (res.status >= 200 && res.status < 300) return finish(job, 'delivered', attempts);
      error = `${target.format} webhook answered ${res.status}`;
      retryable = retryableStatus(res.status);
    } catch (err) {
      error = render.mask((err as Error).message);
      retryable = err instanceof StepError ? err.retryable : false;
    }
    if (!retryable || attempts >= maxAttempts) return finish(job, 'failed', attempts, error);
    await deps.db.updateTable('notify_deliveries').set({ last_error: error, updated_at: sql`now()` })
      .where('job_id', '=', job.id).execute();
    sent?.inc({ result: 'retried' });
    throw new RetryLater(`notification ${job.id} to ${job.target}: ${error} (attempt ${attempts} of ${maxAttempts})`);
  };

  return async (job) => {
    try {
      await send(job);
    } catch (err) {
      // The database down is not the message's fault: it waits, its queue attempts untouched.
      if (isConnectionError(err)) {
        throw new DependencyUnavailableError('database', (err as Error).message, { cause: err });
      }
      throw err;
    }
  };
}
