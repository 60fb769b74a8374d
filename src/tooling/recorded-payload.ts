import type { Connector } from '../connectors/connector';
import { intake } from '../connectors/connector-intake';
import type { DryRunJob } from './dry-run-engine';

/** One webhook payload as it reached Quell: `offsetMs` after the recording (or test) began. */
export interface RecordedPayload {
  readonly offsetMs: number;
  readonly payload: unknown;
  /** Where it was written (a JSONL line, a test file line), for messages. */
  readonly line: number;
}

/** A payload the connector refused, and why (the answer `POST /ingest/<id>` would have given). */
export interface RefusedPayload {
  readonly line: number;
  readonly reason: string;
}

/** Refused payloads beyond this are counted, not kept. */
const KEEP_REFUSED = 100;

/**
 * Recorded payloads to the engine's jobs through the connector's intake, exactly as the edge
 * takes live ones (schema, normalize, storable times, fingerprint), received at `startMs +
 * offsetMs`; in time order (a stable sort: payloads of one instant keep their order).
 */
export function jobsOf(
  connector: Connector, recorded: readonly RecordedPayload[], startMs: number, maxClockSkewSeconds: number,
): { jobs: DryRunJob[]; refused: RefusedPayload[]; refusedCount: number; alerts: number } {
  const jobs: DryRunJob[] = [];
  const refused: RefusedPayload[] = [];
  let refusedCount = 0;
  let alerts = 0;
  const ordered = [...recorded].sort((a, b) => a.offsetMs - b.offsetMs);
  for (const r of ordered) {
    const at = new Date(startMs + r.offsetMs);
    const taken = intake(connector, r.payload, at, maxClockSkewSeconds);
    if (taken.ok) {
      jobs.push({ at, connector: connector.id, alerts: taken.alerts });
      alerts += taken.alerts.length;
      continue;
    }
    refusedCount++;
    if (refused.length >= KEEP_REFUSED) continue;
    const reason = 'schemaError' in taken
      ? taken.schemaError.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ')
      : `${taken.issue.field}: ${taken.issue.message}`;
    refused.push({ line: r.line, reason });
  }
  return { jobs, refused, refusedCount, alerts };
}
