import type { RuleSetUnderTest, RunResult } from './quality-run';
import type { Storm } from './storm-generator';

const f2 = (n: number): string => n.toFixed(2);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Columns padded to their widest cell; `groups` name runs of columns on a line above them
 * (the first `lead` columns belong to no group).
 */
function formatTable(
  lead: number, groups: readonly { name: string; span: number }[], rows: readonly string[][],
): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)) + 2);
  const width = (from: number, to: number): number => widths.slice(from, to).reduce((a, b) => a + b, 0);
  let at = lead;
  for (const g of groups) { // a group's columns are at least as wide as its name
    widths[at + g.span - 1]! += Math.max(0, g.name.length + 2 - width(at, at + g.span));
    at += g.span;
  }
  at = lead;
  let over = ' '.repeat(width(0, lead));
  for (const g of groups) {
    over += g.name.padEnd(width(at, at + g.span));
    at += g.span;
  }
  const lines = [over, ...rows.map((r) => r.map((v, i) => v.padEnd(widths[i]!)).join(''))];
  return lines.map((l) => l.trimEnd()).join('\n');
}

/** Per seed and rule set: incidents, alerts in none, P, R, F1; then the means. */
export function scoreTable(
  storms: readonly Storm[], rules: readonly RuleSetUnderTest[], results: readonly RunResult[],
): string {
  const find = (seed: number, c: RuleSetUnderTest): RunResult =>
    results.find((r) => r.seed === seed && r.configuration === c.name)!;
  const perRules = ['incidents', 'alone', 'P', 'R', 'F1'];
  const rows: string[][] = [['seed', 'alerts', 'faults', 'noise', ...rules.flatMap(() => perRules)]];
  for (const s of storms) {
    const real = s.faults.filter((f) => f.kind !== 'noise').length;
    rows.push([String(s.options.seed), String(s.alerts.length), String(real), String(s.faults.length - real),
      ...rules.flatMap((c) => {
        const r = find(s.options.seed, c);
        return [String(r.incidents), String(r.unlinked), f2(r.score.precision), f2(r.score.recall), f2(r.score.f1)];
      })]);
  }
  rows.push(['mean', String(Math.round(mean(storms.map((s) => s.alerts.length)))), '', '', ...rules.flatMap((c) => {
    const rs = storms.map((s) => find(s.options.seed, c));
    const m = (f: (r: RunResult) => number): number => mean(rs.map(f));
    return [String(Math.round(m((r) => r.incidents))), String(Math.round(m((r) => r.unlinked))),
      f2(m((r) => r.score.precision)), f2(m((r) => r.score.recall)), f2(m((r) => r.score.f1))];
  })]);
  return formatTable(4, rules.map((c) => ({ name: c.name, span: perRules.length })), rows);
}

/** Recall within each kind of fault, pooled over the seeds: where a rule set loses the pairs. */
export function kindTable(
  storms: readonly Storm[], rules: readonly RuleSetUnderTest[], results: readonly RunResult[],
): string {
  const kinds = [...new Set(storms.flatMap((s) => s.faults.map((f) => f.kind)))].filter((k) => k !== 'noise');
  const rows: string[][] = [['fault kind', 'faults', 'alerts', 'pairs', ...rules.map(() => 'recall')]];
  for (const kind of kinds) {
    const faults = storms.flatMap((s) => s.faults.filter((f) => f.kind === kind));
    const pooled = (c: RuleSetUnderTest): { found: number; all: number } => {
      let found = 0, all = 0;
      for (const r of results.filter((x) => x.configuration === c.name)) {
        const k = r.recallByKind[kind];
        if (k) { found += k.recall * k.truePairs; all += k.truePairs; }
      }
      return { found, all };
    };
    rows.push([kind, String(faults.length), String(faults.reduce((a, f) => a + f.alerts, 0)),
      String(pooled(rules[0]!).all),
      ...rules.map((c) => { const p = pooled(c); return p.all === 0 ? '-' : f2(p.found / p.all); })]);
  }
  return formatTable(4, rules.map((c) => ({ name: c.name, span: 1 })), rows);
}

/**
 * Where a run's pairs go wrong, worst first: incidents that hold alerts of several faults
 * (the wrong pairs they claim: precision) and faults whose alerts are spread over several
 * incidents or none (the true pairs missed: recall). Each line names the faults, their kinds
 * and how many alerts each has in each incident, with its alerts' names and the times
 * (minutes into the storm) they start.
 */
export function errorReport(storm: Storm, incidentOf: readonly (number | undefined)[], limit = 8): string[] {
  const pairs = (n: number): number => (n * (n - 1)) / 2;
  const kindOf = new Map(storm.faults.map((f) => [f.id, f.kind]));
  const t0 = storm.options.startMs;
  const describe = (idx: readonly number[]): string => idx.map((i) => {
    const a = storm.alerts[i]!;
    const minutes = Math.round((a.startsAtMs - t0) / 60_000);
    return `${a.labels['alertname']}@${a.labels['instance'] ?? a.labels['service']}+${minutes}m`;
  }).join(' ');
  const byIncident = new Map<number, number[]>();
  const byFault = new Map<string, number[]>();
  storm.alerts.forEach((a, i) => {
    const inc = incidentOf[i];
    if (inc !== undefined) byIncident.set(inc, [...(byIncident.get(inc) ?? []), i]);
    byFault.set(a.fault, [...(byFault.get(a.fault) ?? []), i]);
  });
  const groupBy = <K>(idx: readonly number[], key: (i: number) => K): Map<K, number[]> => {
    const m = new Map<K, number[]>();
    for (const i of idx) m.set(key(i), [...(m.get(key(i)) ?? []), i]);
    return m;
  };
  const merges = [...byIncident].map(([id, idx]) => {
    const parts = groupBy(idx, (i) => storm.alerts[i]!.fault);
    const wrong = pairs(idx.length) - [...parts.values()].reduce((s, p) => s + pairs(p.length), 0);
    return { id, wrong, parts };
  }).filter((m) => m.wrong > 0).sort((a, b) => b.wrong - a.wrong);
  const splits = [...byFault].map(([fault, idx]) => {
    const parts = groupBy(idx, (i) => incidentOf[i] ?? `none#${i}`);
    const together = [...parts].reduce((s, [k, p]) => s + (typeof k === 'string' ? 0 : pairs(p.length)), 0);
    const missed = pairs(idx.length) - together;
    return { fault, missed, parts };
  }).filter((s) => s.missed > 0).sort((a, b) => b.missed - a.missed);
  const lines: string[] = [];
  const wrongAll = merges.reduce((s, m) => s + m.wrong, 0);
  const missedAll = splits.reduce((s, x) => s + x.missed, 0);
  lines.push(`  merges: ${merges.length} incidents, ${wrongAll} wrong pairs; worst:`);
  for (const m of merges.slice(0, limit)) {
    lines.push(`    incident ${m.id}: ${m.wrong} wrong pairs`);
    for (const [fault, idx] of m.parts) {
      lines.push(`      ${fault} (${kindOf.get(fault)}) x${idx.length}: ${describe(idx.slice(0, 6))}`);
    }
  }
  lines.push(`  splits: ${splits.length} faults, ${missedAll} missed pairs; worst:`);
  for (const s of splits.slice(0, limit)) {
    lines.push(`    ${s.fault} (${kindOf.get(s.fault)}): ${s.missed} missed pairs`);
    for (const [inc, idx] of s.parts) {
      const where = typeof inc === 'string' ? 'no incident' : `incident ${inc}`;
      lines.push(`      ${where} x${idx.length}: ${describe(idx.slice(0, 6))}`);
    }
  }
  return lines;
}
