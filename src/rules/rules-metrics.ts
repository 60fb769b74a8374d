import { Counter, Gauge, type Registry } from 'prom-client';

export type RulesMetrics = ReturnType<typeof createRulesMetrics>;

/** The rules' own metrics: what is in force, and how reloads went. */
export function createRulesMetrics(registry: Registry) {
  const registers = [registry];
  return {
    loaded: new Gauge({
      name: 'quell_rules_loaded', help: 'Rules in force, by kind.', labelNames: ['kind'] as const, registers,
    }),
    version: new Gauge({
      name: 'quell_rules_version_info',
      help: 'The version of the rules in force (a hash of the rule files), as a label; the value is 1.',
      labelNames: ['hash'] as const,
      registers,
    }),
    reloads: new Counter({
      name: 'quell_rules_reloads_total', help: 'Reloads that put a new version of the rules in force.', registers,
    }),
    failures: new Counter({
      name: 'quell_rules_reload_failures_total',
      help: 'Reloads rejected (an invalid file, an unreadable directory); the rules in force stayed.',
      registers,
    }),
    lastSuccessful: new Gauge({
      name: 'quell_rules_last_reload_successful',
      help: '1 if the last reload succeeded, 0 if it failed and the rules in force are older than the files.',
      registers,
    }),
  };
}
