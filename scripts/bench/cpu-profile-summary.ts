/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): self time by function and by package or
 * source folder, the idle share, the top entries. Where a worker's time goes at a steady load.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile { readonly nodes: ProfileNode[]; readonly samples: number[]; readonly timeDeltas: number[] }

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idlePercent: number;
  readonly gcPercent: number;
  readonly byArea: { area: string; ms: number; percent: number }[];
  readonly byFunction: { fn: string; ms: number; percent: number }[];
}

/** dist/src/pipeline/stages/x.js -> src/pipeline/stages; node_modules/pg/... -> pg; node:internal -> node. */
function areaOf(url: string): string {
  if (url === '') return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node';
  const src = /\/dist\/(.*)\/[^/]+$/.exec(url);
  return src ? src[1]! : url;
}

export function summarizeProfile(path: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  const areas = new Map<string, number>(), fns = new Map<string, number>();
  let idle = 0, gc = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') { idle += ms; continue; }
    if (f.functionName === '(garbage collector)') gc += ms;
    const area = areaOf(f.url);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const fn = `${f.functionName || '(anonymous)'} ${area}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
  }
  const pct = (ms: number): number => Math.round((ms / total) * 1000) / 10;
  const list = <K extends string>(m: Map<string, number>, key: K) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, ms]) => ({ [key]: k, ms: Math.round(ms), percent: pct(ms) }) as Record<K, string> & { ms: number; percent: number });
  return { totalMs: Math.round(total), idlePercent: pct(idle), gcPercent: pct(gc), byArea: list(areas, 'area'), byFunction: list(fns, 'fn') };
}
