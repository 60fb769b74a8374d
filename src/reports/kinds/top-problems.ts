import type { Report } from '../report';

/** The problem module's figures when it is plugged in (`ReportContext.topProblems`); else no rows. */
export const topProblemsReport: Report = {
  name: 'top-problems',
  description: 'The most recurring problems: incidents linked to each in the period, most first',
  columns: [
    { name: 'problem_id', description: "the problem's id" },
    { name: 'title', description: "the problem's title" },
    { name: 'status', description: 'open, known_error, resolved or closed' },
    { name: 'incidents', description: 'its incidents opened in the period' },
  ],
  async run(ctx, period) {
    return ctx.topProblems ? ctx.topProblems(period) : [];
  },
};
