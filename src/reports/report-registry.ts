import { compressionReport } from './kinds/compression';
import { incidentsByPriorityReport } from './kinds/incidents-by-priority';
import { incidentsByServiceReport } from './kinds/incidents-by-service';
import { mttaReport } from './kinds/mtta';
import { mttrReport } from './kinds/mttr';
import { reopenRateReport } from './kinds/reopen-rate';
import { slaComplianceReport } from './kinds/sla-compliance';
import { topProblemsReport } from './kinds/top-problems';
import type { Report } from './report';

/** Every KPI report, by name. A new report is one file in kinds/ and one line here. */
export const REPORTS: ReadonlyMap<string, Report> = new Map([
  mttaReport, mttrReport, incidentsByPriorityReport, incidentsByServiceReport, reopenRateReport, compressionReport,
  slaComplianceReport, topProblemsReport,
].map((r) => [r.name, r]));
