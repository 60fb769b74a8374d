import type { ActionContext, ActionSettings, IncidentPort, StepOutput } from '../../src/runbooks/runbook-action';
import { createSecretStore } from '../../src/runbooks/secret-store';
import { createTemplateRenderer, type TemplateScope } from '../../src/runbooks/template-renderer';

/**
 * An IncidentPort that records what the actions asked of it; `firing` is what `state` answers
 * (a list: one per call, the last repeats).
 */
export class FakeIncidentPort implements IncidentPort {
  readonly calls: [string, ...unknown[]][] = [];
  constructor(public firing: number[] = [0]) {}
  async comment(id: number, text: string) { this.calls.push(['comment', id, text]); }
  async setPriority(id: number, priority: number) { this.calls.push(['setPriority', id, priority]); }
  async resolve(id: number, comment?: string) { this.calls.push(['resolve', id, comment]); }
  async escalate(id: number, reason: string) { this.calls.push(['escalate', id, reason]); }
  async state(id: number) {
    this.calls.push(['state', id]);
    const n = this.firing.length > 1 ? this.firing.shift()! : this.firing[0]!;
    return { status: n === 0 ? 'resolved' : 'open', firingAlerts: n };
  }
}

export interface TestContextOptions {
  labels?: Record<string, string>;
  alert?: Record<string, string>;
  ci?: Record<string, string>;
  steps?: Record<string, StepOutput>;
  secrets?: Record<string, string>;
  settings?: Partial<ActionSettings>;
  incident?: FakeIncidentPort;
  signal?: AbortSignal;
}

/** An ActionContext as the executor would build one, over a fake incident 42. */
export function testContext(o: TestContextOptions = {}): ActionContext & { incident: FakeIncidentPort } {
  const scope: TemplateScope = {
    labels: o.labels ?? {}, alert: o.alert ?? o.labels ?? {}, ci: o.ci ?? {},
    incident: { id: 42, title: 'Web down', priority: 2, status: 'open', group_key: 'web:{}', rule: 'web',
      root_cause: null },
    steps: o.steps ?? {},
  };
  const env = Object.fromEntries(Object.entries(o.secrets ?? {}).map(([k, v]) => [`QUELL_SECRET_${k}`, v]));
  return {
    signal: o.signal ?? AbortSignal.timeout(10_000),
    render: createTemplateRenderer(scope, createSecretStore({ env })),
    incident: o.incident ?? new FakeIncidentPort(),
    incidentId: 42,
    settings: { httpAllow: ['127.0.0.1'], execEnvAllow: [], maxOutputBytes: 4096, ...o.settings },
  };
}
