import { correlationRulesKind } from './kinds/correlation-rules-kind';
import { escalationPoliciesKind } from './kinds/escalation-policies-kind';
import { inhibitRulesKind } from './kinds/inhibit-rules-kind';
import { maintenanceWindowsKind } from './kinds/maintenance-windows-kind';
import { notificationTargetsKind } from './kinds/notification-targets-kind';
import { priorityMatrixKind } from './kinds/priority-matrix-kind';
import { problemRulesKind } from './kinds/problem-rules-kind';
import { runbooksKind } from './kinds/runbooks-kind';
import { serviceLevelsKind } from './kinds/service-levels-kind';
import type { AnyRuleKind } from './rule-kind';

/**
 * Every kind of rule document Quell reads, by `kind:`. Adding a kind is one file in `kinds/`
 * and one line here; the loader, `quell rules lint`, reloads and metrics then know it.
 */
export const RULE_KINDS: readonly AnyRuleKind[] = [
  correlationRulesKind,
  maintenanceWindowsKind,
  inhibitRulesKind,
  priorityMatrixKind,
  runbooksKind,
  serviceLevelsKind,
  escalationPoliciesKind,
  notificationTargetsKind,
  problemRulesKind,
];
