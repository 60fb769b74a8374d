import type { z } from 'zod';
import type { TextTemplate } from '../domain/text-template';
import type { DocumentContext, DocumentPath } from '../rules/rule-kind';

/**
 * One kind of step (`action: http`, `exec`, `notify`, `wait_for`, `incident`, `ticket`): one
 * file each in src/runbooks/actions/, listed once in action-registry.ts.
 *
 * Parameters are written as YAML with logic-less templates (`{{ labels.instance }}`,
 * `{{ incident.id }}`, `{{ steps.check.status }}`, `{{ secret.JIRA_TOKEN }}`). The action
 * parses them once, when the rules load (`compile`), and renders them per run through the
 * context's renderer, choosing for each field how a value is made safe (URL component,
 * program argument, header): a label's value is data and stays data.
 *
 * @typeParam Spec - the step's `with:` as the schema gives it
 * @typeParam Params - what `compile` makes of it (JSON-serializable: stored with the run)
 */
export interface RunbookAction<Spec, Params> {
  readonly name: string;
  /** The schema of the step's `with:` block. */
  readonly schema: z.ZodType<Spec>;
  /** Parses templates and checks what the schema cannot; reports at `path` through `doc`. */
  compile(spec: Spec, path: DocumentPath, doc: DocumentContext): Params;
  /** Whether running it changes something outside Quell (then its run is an ITIL change). */
  mutates(params: Params): boolean;
  /** Runs the step. Throws {@link StepError} (or any error: not retryable) when it failed. */
  run(params: Params, ctx: ActionContext): Promise<StepOutput>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds actions of any spec and params
export type AnyRunbookAction = RunbookAction<any, any>;

export function defineAction<Spec, Params>(action: RunbookAction<Spec, Params>): RunbookAction<Spec, Params> {
  return Object.freeze(action);
}

/** What a step gives later steps (`{{ steps.<name>.<field> }}`) and the run's record (truncated). */
export type StepOutput = Readonly<Record<string, string | number | boolean | null>>;

/**
 * A step that failed; `retryable` says whether trying again can help (a timeout, a 503) or not (a 404, a refused
 * address).
 */
export class StepError extends Error {
  override name = 'StepError';
  constructor(
    message: string, readonly retryable: boolean, readonly output: StepOutput = {}, options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What an action may use while it runs. */
export interface ActionContext {
  /** Aborted on the step's timeout, on cancellation through the API, and at shutdown. */
  readonly signal: AbortSignal;
  readonly render: TemplateRenderer;
  readonly incident: IncidentPort;
  /** The run's incident. */
  readonly incidentId: number;
  /** Settings an action reads (allowlists, limits), from the process's configuration. */
  readonly settings: ActionSettings;
}

/** A template parsed at compile time (`parseRunbookTemplate`, template-renderer.ts); JSON-serializable. */
export type ParsedTemplate = TextTemplate;

/**
 * Renders parsed templates against the run's scope: `labels.*` (the incident's common labels,
 * or the triggering alert's), `ci.*` (the bound CI's labels), `incident.*` (id, title,
 * priority, status, group_key, rule, root_cause), `steps.<name>.*` (earlier outputs),
 * `secret.*` (environment or files named in config: their values are masked in every record).
 * Each method says how a value is made safe for where it goes.
 */
export interface TemplateRenderer {
  /** As is (a message, a JSON string value). */
  text(t: ParsedTemplate): string;
  /** Values percent-encoded as URL components: a label cannot change the scheme, host or path. */
  url(t: ParsedTemplate): string;
  /** One program argument: a value may not begin an argument with `-` (no option injection); throws StepError. */
  arg(t: ParsedTemplate): string;
  /** A header value: a value with CR or LF is refused (throws StepError). */
  header(t: ParsedTemplate): string;
  /** Replaces every secret value in `text` by `***` (for outputs and errors before they are recorded). */
  mask(text: string): string;
}

/** What the `incident` action, `wait_for` and the post-check do to or read of the run's incident. */
export interface IncidentPort {
  comment(incidentId: number, text: string): Promise<void>;
  setPriority(incidentId: number, priority: number): Promise<void>;
  resolve(incidentId: number, comment?: string): Promise<void>;
  escalate(incidentId: number, reason: string): Promise<void>;
  /** How many of its alerts fire now, and its status. */
  state(incidentId: number): Promise<{ readonly status: string; readonly firingAlerts: number }>;
}

export interface ActionSettings {
  /** Hosts (or `host:port`, or CIDR) HTTP actions may call even when private or loopback. */
  readonly httpAllow: readonly string[];
  /** Environment variables an `exec` step may pass on (its `env:` may name only these). */
  readonly execEnvAllow: readonly string[];
  /** Most bytes of output kept per step. */
  readonly maxOutputBytes: number;
  /** Prometheus base URL for `wait_for: { query }`. */
  readonly prometheusUrl?: string;
}
