import type { ReportColumn, ReportRow, ReportValue } from './report';

/**
 * A report as CSV (RFC 4180): a header row of the column names, then one line per row, CRLF
 * line ends; a field with a comma, quote or line break is quoted, quotes doubled; null is empty.
 * Text that a spreadsheet would run as a formula (starting with = + - @, a tab or CR: service
 * names come from alert labels) is prefixed with `'` (OWASP's CSV injection advice).
 */
export function toCsv(columns: readonly ReportColumn[], rows: readonly ReportRow[]): string {
  const lines = [columns.map((c) => field(c.name)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => field(row[c.name] ?? null)).join(','));
  return lines.map((l) => `${l}\r\n`).join('');
}

function field(value: ReportValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
