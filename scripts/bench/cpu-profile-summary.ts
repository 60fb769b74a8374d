/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): self time by function and by package or
 * source folder, the idle share, the top entries. Where a worker's time goes at a steady load.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectDefined, itemAt } from '../../src/domain/invariant';
import { say } from './bench-kit';

interface ProfileNode {
  readonly id: number;
  readonly children?: number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile { readonly nodes: ProfileNode[]; readonly samples: number[]; readonly timeDeltas: number[] }

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idlePercent: number;
  readonly gcPercent: number;
  readonly byArea: { area: string; ms: number; percent: number }[];
  readonly byFunction: { fn: string; ms: number; percent: number }[];
  /** Time in native functions (socket writes...) by the package or source folder that called them. */
  readonly nativeCallers: { area: string; ms: number; percent: number }[];
}

/** dist/src/pipeline/stages/x.js -> src/pipeline/stages; node_modules/pg/... -> pg; node:internal -> node. */
function areaOf(url: string): string {
  if (url === '') return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return itemAt(nm, 1, 'package name');
  if (url.startsWith('node:')) return 'node';
  const src = /\/dist\/(.*)\/[^/]+$/.exec(url);
  return src ? itemAt(src, 1, 'source area') : url;
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const sample = itemAt(p.samples, i, 'profile sample');
    self.set(sample, (self.get(sample) ?? 0) + dt);
  }
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The first caller up the stack that is not native or Node's own: who asked for it. */
  const callerArea = (id: number): string => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const url = expectDefined(byId.get(at), 'profile node').callFrame.url;
      if (url !== '' && !url.startsWith('node:')) return areaOf(url);
    }
    return '(none)';
  };
  const callers = new Map<string, number>();
  const areas = new Map<string, number>(), fns = new Map<string, number>();
  let idle = 0, gc = 0;
  for (const [id, ms] of self) {
    const f = expectDefined(byId.get(id), 'profile node').callFrame;
    if (f.functionName === '(idle)') { idle += ms; continue; }
    if (f.functionName === '(garbage collector)') gc += ms;
    const area = areaOf(f.url);
    if (area === '(native)' && f.functionName !== '(garbage collector)' && f.functionName !== '(program)') {
      const by = callerArea(id);
      callers.set(by, (callers.get(by) ?? 0) + ms);
    }
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const fn = `${f.functionName || '(anonymous)'} ${area}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
  }
  const pct = (ms: number): number => Math.round((ms / total) * 1000) / 10;
  const list = <K extends string>(m: Map<string, number>, key: K) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, ms]) => ({ [key]: k, ms: Math.round(ms),
      percent: pct(ms) }) as Record<K, string> & { ms: number; percent: number });
  return { totalMs: Math.round(total), idlePercent: pct(idle), gcPercent: pct(gc), byArea: list(areas, 'area'),
    byFunction: list(fns, 'fn'), nativeCallers: list(callers, 'area') };
}

/**
 * Node options that profile a process into `<tmp>/cpu-prof/<name>.cpuprofile` (none when off), and the summaries
 * after.
 */
export function cpuProfiling(
  tmp: string, on: boolean,
): { args(name: string): string[]; summaries(): Record<string, ProfileSummary> } {
  const dir = join(tmp, 'cpu-prof');
  if (on) mkdirSync(dir, { recursive: true });
  return {
    args: (name) => (on ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
    summaries: () => (on ? Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => [f.replace('.cpuprofile', ''), summarizeProfile(join(dir, f))])) : {}),
  };
}

export function printProfiles(profiles: Record<string, ProfileSummary>): void {
  for (const [name, p] of Object.entries(profiles)) {
    say(`cpu profile of ${name} (whole run, ${Math.round(p.totalMs)} ms): idle ${p.idlePercent}%, gc ${p.gcPercent}%`);
    for (const a of p.byArea.slice(0, 10)) say(`  ${String(a.percent).padStart(5)}%  ${a.area}`);
    say('  top functions (self time):');
    for (const fn of p.byFunction.slice(0, 12)) say(`  ${String(fn.percent).padStart(5)}%  ${fn.fn}`);
    say('  native time (socket writes...) by caller:');
    for (const c of p.nativeCallers.slice(0, 6)) say(`  ${String(c.percent).padStart(5)}%  ${c.area}`);
  }
}
