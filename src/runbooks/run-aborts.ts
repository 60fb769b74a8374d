/** Why a run was stopped while it ran. */
export type RunStop =
  | { readonly kind: 'cancel'; readonly by: string }
  | { readonly kind: 'kill_switch' };

/**
 * The runs executing in this process, each with the controller that aborts its current step:
 * shared by the executor and the API, so that `POST .../cancel` stops a step at once when the
 * run executes here. A run executing in another process sees `cancel_requested` at its next
 * check (every poll interval while a step runs, and between steps).
 */
export class RunAborts {
  private readonly running = new Map<number, AbortController>();

  register(runId: number, controller: AbortController): void {
    this.running.set(runId, controller);
  }

  unregister(runId: number, controller: AbortController): void {
    if (this.running.get(runId) === controller) this.running.delete(runId);
  }

  /** Aborts the run if it executes in this process; whether it did. */
  abort(runId: number, stop: RunStop): boolean {
    const controller = this.running.get(runId);
    if (controller === undefined) return false;
    if (!controller.signal.aborted) controller.abort(stop);
    return true;
  }
}
