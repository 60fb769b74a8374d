import type { Runbook, RunbookSet, TriggerEvent } from './runbook';

/** The compiled runbooks, indexed by name and by trigger event. Immutable. */
export function createRunbookSet(runbooks: readonly Runbook[]): RunbookSet {
  const byName = new Map(runbooks.map((r) => [r.name, r]));
  const byEvent = new Map<TriggerEvent, Runbook[]>();
  for (const r of runbooks) {
    for (const event of new Set(r.triggers.map((t) => t.event))) {
      const list = byEvent.get(event) ?? [];
      list.push(r);
      byEvent.set(event, list);
    }
  }
  return Object.freeze({
    all: Object.freeze([...runbooks]),
    byName: (name: string) => byName.get(name),
    triggeredBy: (event: TriggerEvent) => byEvent.get(event) ?? [],
  });
}
