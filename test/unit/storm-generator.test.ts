import { pairwiseScore } from '../quality/pairwise-score';
import { boundCi, generateStorm, type Storm } from '../quality/storm-generator';

const small = { racks: 8, faults: 40 } as const;

test('the same seed gives the same storm, another seed another', () => {
  const a = generateStorm({ seed: 7, ...small });
  const b = generateStorm({ seed: 7, ...small });
  const text = (s: Storm): string =>
    JSON.stringify({ cmdb: s.cmdb, alerts: s.alerts, events: s.events, faults: s.faults });
  expect(text(b)).toBe(text(a));
  expect(text(generateStorm({ seed: 8, ...small }))).not.toBe(text(a));
  // Only the start moves when the start moves.
  const later = generateStorm({ seed: 7, ...small, startMs: a.options.startMs + 3_600_000 });
  expect(later.alerts.map((x) => x.startsAtMs - 3_600_000)).toEqual(a.alerts.map((x) => x.startsAtMs));
});

test('the defaults make a storm of every kind of fault, with look-alike noise', () => {
  const s = generateStorm({ seed: 1 });
  const kinds = new Set(s.faults.map((f) => f.kind));
  expect([...kinds].sort())
    .toEqual(['database-slowdown', 'flapping', 'host-down', 'host-resource', 'noise', 'switch-outage']);
  expect(s.alerts.length).toBeGreaterThan(500);
  // Unrelated faults reuse the same alert names.
  const faultsPerName = new Map<string, Set<string>>();
  for (const a of s.alerts) {
    const name = a.labels['alertname']!;
    faultsPerName.set(name, (faultsPerName.get(name) ?? new Set()).add(a.fault));
  }
  for (const name of ['InstanceDown', 'HighLatency', 'HighErrorRate', 'DiskFull', 'HighCPU']) {
    expect(faultsPerName.get(name)!.size).toBeGreaterThan(5);
  }
});

test('the CMDB is well formed and every alert binds to one of its CIs', () => {
  const s = generateStorm({ seed: 3, ...small });
  const ids = new Set(s.cmdb.cis.map((c) => c.id));
  expect(ids.size).toBe(s.cmdb.cis.length);
  for (const r of s.cmdb.relations) {
    expect(ids.has(r.from) && ids.has(r.to)).toBe(true);
    expect(['depends_on', 'runs_on', 'connected_to']).toContain(r.type);
  }
  expect(new Set(s.cmdb.cis.map((c) => c.type))).toEqual(new Set(['rack', 'switch', 'host', 'database', 'service']));
  for (const a of s.alerts) expect(ids.has(boundCi(a.labels)!)).toBe(true);
});

test('the stream is Alertmanager-like: in order, each episode fires then resolves, no truth in labels', () => {
  const s = generateStorm({ seed: 4, ...small });
  for (let i = 1; i < s.events.length; i++) expect(s.events[i]!.atMs).toBeGreaterThanOrEqual(s.events[i - 1]!.atMs);
  const seen = s.alerts.map(() => [] as string[]);
  for (const e of s.events) seen[e.alert]!.push(e.status);
  for (const statuses of seen) expect(statuses).toEqual(['firing', 'resolved']);
  const faultIds = new Set(s.faults.map((f) => f.id));
  for (const a of s.alerts) {
    expect(a.endsAtMs).toBeGreaterThan(a.startsAtMs);
    expect(Object.values(a.labels).some((v) => faultIds.has(v))).toBe(false);
    expect(a.labels['alertname']).toBeTruthy();
    expect(a.labels['severity']).toMatch(/^(critical|warning)$/);
  }
  // Episodes of one label set never overlap (a fingerprint fires once at a time).
  const byLabels = new Map<string, { startsAtMs: number; endsAtMs: number }[]>();
  for (const a of s.alerts) {
    const key = JSON.stringify(Object.entries(a.labels).sort());
    byLabels.set(key, [...(byLabels.get(key) ?? []), a]);
  }
  for (const eps of byLabels.values()) {
    eps.sort((x, y) => x.startsAtMs - y.startsAtMs);
    for (let i = 1; i < eps.length; i++) expect(eps[i]!.startsAtMs).toBeGreaterThan(eps[i - 1]!.endsAtMs);
  }
});

test('every alert of a fault is on its root CI or at most three hops downstream of it', () => {
  const s = generateStorm({ seed: 5 });
  const targets = new Map<string, string[]>();
  for (const r of s.cmdb.relations) targets.set(r.from, [...(targets.get(r.from) ?? []), r.to]);
  const hopsUp = (from: string, to: string): number => {
    let frontier = [from];
    for (let hops = 0; hops <= 6; hops++) {
      if (frontier.includes(to)) return hops;
      frontier = frontier.flatMap((x) => targets.get(x) ?? []);
    }
    return Infinity;
  };
  const rootOf = new Map(s.faults.map((f) => [f.id, f.root]));
  for (const a of s.alerts) expect(hopsUp(boundCi(a.labels)!, rootOf.get(a.fault)!)).toBeLessThanOrEqual(3);
});

/**
 * The storm is fair: a correlator that sees only what Quell sees (labels, times, the CMDB)
 * recovers the truth. An alert joins an incident, active until 30 minutes after its last
 * alert ended, holding a CI upstream or downstream of the alert's CI (or the same one).
 */
function topologyOracle(s: Storm): number[] {
  const upstream = new Map<string, Set<string>>();
  const targets = new Map<string, string[]>();
  for (const r of s.cmdb.relations) targets.set(r.from, [...(targets.get(r.from) ?? []), r.to]);
  const up = (id: string): Set<string> => {
    let known = upstream.get(id);
    if (known) return known;
    known = new Set<string>();
    for (const t of targets.get(id) ?? []) { known.add(t); for (const u of up(t)) known.add(u); }
    upstream.set(id, known);
    return known;
  };
  const incidents: { cis: Set<string>; until: number }[] = [];
  const order = s.alerts.map((_, i) => i).sort((x, y) => s.alerts[x]!.startsAtMs - s.alerts[y]!.startsAtMs);
  const incidentOf: number[] = new Array<number>(s.alerts.length);
  for (const i of order) {
    const a = s.alerts[i]!;
    const ci = boundCi(a.labels)!;
    let n = incidents.findIndex((inc) => inc.until >= a.startsAtMs
      && [...inc.cis].some((x) => x === ci || up(ci).has(x) || up(x).has(ci)));
    if (n < 0) n = incidents.push({ cis: new Set(), until: 0 }) - 1;
    const inc = incidents[n]!;
    inc.cis.add(ci);
    inc.until = Math.max(inc.until, a.endsAtMs + 30 * 60_000);
    incidentOf[i] = n;
  }
  return incidentOf;
}

/** Alertmanager's `group_by: [alertname]` with a sliding one-hour window, for contrast. */
function byAlertname(s: Storm): string[] {
  const last = new Map<string, { n: number; at: number }>();
  const order = s.alerts.map((_, i) => i).sort((x, y) => s.alerts[x]!.startsAtMs - s.alerts[y]!.startsAtMs);
  const out: string[] = new Array<string>(s.alerts.length);
  let count = 0;
  for (const i of order) {
    const a = s.alerts[i]!;
    const name = a.labels['alertname']!;
    const g = last.get(name);
    const n = g !== undefined && a.startsAtMs - g.at <= 3_600_000 ? g.n : count++;
    last.set(name, { n, at: a.startsAtMs });
    out[i] = `${name}#${n}`;
  }
  return out;
}

test.each([1, 2, 3])('seed %i: topology recovers the truth (F1 1) where alert names alone score under 0.5', (seed) => {
  const s = generateStorm({ seed });
  const truth = s.alerts.map((a) => a.fault);
  expect(pairwiseScore(truth, topologyOracle(s)).f1).toBe(1);
  expect(pairwiseScore(truth, byAlertname(s)).f1).toBeLessThan(0.5);
});
