import { Router, type RequestHandler } from 'express';
import { isPeriodError, parsePeriod } from '../domain/report-period';
import type { Report, ReportContext } from '../reports/report';
import { toCsv } from '../reports/report-csv';
import { REPORTS } from '../reports/report-registry';
import { requireRole } from '../http/auth';
import { sendError } from '../http/errors';
import type { RouteDoc } from '../http/route-doc';

export interface ReportsRouterDeps extends ReportContext {
  readonly gate: RequestHandler;
  /** @defaultValue REPORTS (report-registry.ts) */
  readonly reports?: ReadonlyMap<string, Report>;
}

/**
 * `GET /api/v1/reports/<name>?from=&to=`: a KPI report over [from, to) (ISO 8601 times), as
 * JSON `{report, from, to, columns, rows}`, or as CSV when the client accepts `text/csv` first.
 * Reads, like the other reads: open.
 */
export function reportsRouter(deps: ReportsRouterDeps): Router {
  const router = Router();
  const reports = deps.reports ?? REPORTS;

  router.get('/api/v1/reports', requireRole('viewer'), deps.gate, (_req, res) => {
    res.json({
      reports: [...reports.values()].map((r) => ({ name: r.name, description: r.description, columns: r.columns })),
    });
  });

  router.get('/api/v1/reports/:name', requireRole('viewer'), deps.gate, async (req, res) => {
    const name = req.params['name'] as string;
    const report = reports.get(name);
    if (report === undefined) {
      const known = [...reports.keys()];
      sendError(res, 'not_found', `no report ${JSON.stringify(name)}; known: ${known.join(', ')}`, { reports: known });
      return;
    }
    const period = parsePeriod(req.query);
    if (isPeriodError(period)) { sendError(res, 'invalid_request', period.message, { field: period.field }); return; }
    const rows = await report.run(deps, period);
    if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
      res.type('text/csv; charset=utf-8; header=present')
        .setHeader('Content-Disposition', `attachment; filename="${report.name}.csv"`);
      return res.send(toCsv(report.columns, rows));
    }
    res.json({
      report: report.name, from: period.from.toISOString(), to: period.to.toISOString(),
      columns: report.columns.map((c) => c.name), rows,
    });
  });
  return router;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const REPORT_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/reports', tag: 'reports', access: 'viewer',
    summary: 'the KPI reports and their columns',
  },
  {
    method: 'get', path: '/api/v1/reports/:name', tag: 'reports', access: 'viewer',
    summary: 'a KPI report over [from, to) (query from and to, ISO 8601 with a zone); CSV with Accept: text/csv',
  },
];
