import type { Kysely } from 'kysely';
import type { Labels } from '../domain/alert';
import { matchesAll } from '../domain/matchers';
import type { Database } from '../store/database';
import type { Runbook } from './runbook';
import type { StepOutput, TemplateRenderer } from './runbook-action';

/**
 * What a run's templates read (the roots of `{{ ... }}` but `secret`, which the renderer owns):
 * plain data, read once when the run starts, `steps` growing as steps end.
 */
export interface RunScope {
  /** The labels every firing alert of the incident shares (all its alerts when none fires). */
  readonly labels: Readonly<Record<string, string>>;
  /** The labels of the first alert (by fingerprint) that matches the runbook's matchers. */
  readonly alert: Readonly<Record<string, string>>;
  /** The root-cause CI's labels, else the first bound CI's, with `id`. */
  readonly ci: Readonly<Record<string, string>>;
  /** id, title, priority (`P1`..`P5`), status, group_key, rule, root_cause. */
  readonly incident: Readonly<Record<string, string>>;
  /** Outputs of the steps done so far (truncated, secrets masked). */
  readonly steps: Readonly<Record<string, StepOutput>>;
}

/** Makes the renderer of a scope (rb-lang's TemplateRenderer, with the process's secrets). */
export type RendererFactory = (scope: RunScope) => TemplateRenderer;

/** The scope of a run of `runbook` on incident `incidentId`, as the database has it now. */
export async function loadRunScope(
  db: Kysely<Database>, runbook: Runbook, incidentId: number,
): Promise<Omit<RunScope, 'steps'>> {
  const incident = await db.selectFrom('incidents')
    .select(['id', 'title', 'priority', 'status', 'group_key', 'rule', 'root_cause', 'cis'])
    .where('id', '=', incidentId).executeTakeFirst();
  if (incident === undefined) return { labels: {}, alert: {}, ci: {}, incident: { id: String(incidentId) } };
  const alerts = await db.selectFrom('incident_alerts as ia')
    .innerJoin('alerts as a', 'a.fingerprint', 'ia.fingerprint')
    .select(['ia.fingerprint', 'ia.status', 'a.labels']).where('ia.incident_id', '=', incidentId)
    .orderBy('ia.fingerprint').limit(1000).execute();
  const firing = alerts.filter((a) => a.status === 'firing');
  const common = commonLabels((firing.length > 0 ? firing : alerts).map((a) => a.labels));
  const matched = alerts.find((a) => matchesAll(runbook.matchers, a.labels));

  let ci: Record<string, string> = {};
  const rootCause = incident.root_cause;
  if (rootCause !== null) {
    ci = { ...rootCause.labels, id: rootCause.ci };
  } else if (incident.cis.length > 0) {
    const id = incident.cis[0] as string;
    const row = await db.selectFrom('cmdb_cis').select('labels').where('id', '=', id)
      .orderBy('version', 'desc').limit(1).executeTakeFirst();
    ci = { ...(row?.labels ?? {}), id };
  }
  return {
    labels: common,
    alert: { ...(matched?.labels ?? {}) },
    ci,
    incident: {
      id: String(incident.id), title: incident.title, priority: `P${incident.priority}`, status: incident.status,
      group_key: incident.group_key, rule: incident.rule, root_cause: rootCause?.ci ?? '',
    },
  };
}

function commonLabels(sets: readonly Labels[]): Record<string, string> {
  const [first, ...rest] = sets;
  if (first === undefined) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((labels) => labels[k] === v)));
}
