/** Printing and writing a scenario's results: a side-by-side table, JSON to BENCH_OUT. */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { itemAt } from '../../src/domain/invariant';
import { say } from './bench-kit';

export const f0 = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a');
export const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
export const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

/** Rows of cells, columns padded to their widest cell. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = itemAt(rows, 0, 'table header').map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)) + 3);
  for (const r of rows) say(r.map((cell, c) => cell.padEnd(itemAt(widths, c, 'column width'))).join('').trimEnd());
}

/** Quell's figure, the peer's, and their ratio (quell / peer), as table cells. */
export function versus(
  quell: number, peer: number | undefined, fmt: (n: number) => string = f0,
): [string, string, string] {
  return peer === undefined ? [fmt(quell), 'skipped', ''] : [fmt(quell), fmt(peer), f2(quell / peer)];
}

/** Writes `results` (and the machine's load) as JSON to `out`, when set. */
export function writeResults(out: string | undefined, results: Record<string, unknown>): void {
  if (out === undefined) return;
  const doc = { ...results, at: new Date().toISOString(), loadavg: loadAverage() };
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  say(`results written to ${out}`);
}

/** The 1, 5 and 15 minute load averages: absolute figures from a busy machine are noisy. */
export function loadAverage(): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100);
}
