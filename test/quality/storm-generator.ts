import { buildDataCentre, type Cmdb, type Database, type DataCentre, type Host, type Service } from './data-centre';
import { seededRandom, type SeededRandom } from './seeded-random';

/**
 * A seeded alert storm in a generated data centre, with its ground truth: which fault each
 * alert belongs to. Pure (no I/O, no clock): the same options give the same storm.
 *
 * Faults, overlapping in time:
 * - `switch-outage`: a top-of-rack switch dies; its SNMP target, every host behind it, the
 *   service instances and databases on them go down; services with instances there, services
 *   calling them and services calling a database there raise error rates.
 * - `database-slowdown`: slow queries (and often too many connections) on one database; the
 *   services that call it, and some of their callers, get slow or fail.
 * - `host-down`: one host reboots: its node exporter and its service instances are down.
 * - `host-resource`: a disk filling up, a CPU or memory exhausted on one host: one to three
 *   alerts with the same names as everyone else's (`DiskFull`, `HighCPU`, ...).
 * - `flapping`: one alert firing and resolving over and over (6 to 12 episodes).
 * - `noise`: a lone look-alike alert (a service's `HighLatency`, a host's `DiskFull`, ...),
 *   its own fault of one alert; more than half start near another fault's start.
 *
 * The truth is kept fair, so that a perfect engine can score 1: every alert of a fault binds
 * (see {@link boundCi}) to the fault's root CI or a CI at most three hops downstream of it,
 * the root alerts first, and no two faults within {@link CONCURRENCY_MARGIN_MS} of each other
 * touch related CIs (the same CI, or one upstream of the other). Two unrelated faults on
 * sibling hosts behind one healthy switch do overlap: telling those apart is the point.
 */
export type FaultKind = 'switch-outage' | 'database-slowdown' | 'host-down' | 'host-resource' | 'flapping' | 'noise';

export type Labels = Readonly<Record<string, string>>;

export interface StormOptions {
  readonly seed: number;
  /** @defaultValue 24 (three clusters of eight) */
  readonly racks?: number;
  /** @defaultValue 16 */
  readonly hostsPerRack?: number;
  /** Faults other than noise. @defaultValue 120 */
  readonly faults?: number;
  /** Lone look-alike alerts. @defaultValue twice `faults` */
  readonly noise?: number;
  /** Faults start within this many minutes. @defaultValue 480 */
  readonly spanMinutes?: number;
  /** Time of the storm's start, ms since the epoch. @defaultValue 2026-01-01T00:00:00Z */
  readonly startMs?: number;
}

/** One alert episode: a label set firing from `startsAtMs` until `endsAtMs`. */
export interface StormAlert {
  readonly labels: Labels;
  readonly startsAtMs: number;
  readonly endsAtMs: number;
  /** Ground truth: the fault it belongs to. Never sent. */
  readonly fault: string;
}

/** What a sender sees: an alert episode firing or resolved at `atMs`. */
export interface StormEvent {
  readonly atMs: number;
  /** Index in {@link Storm.alerts}. */
  readonly alert: number;
  readonly status: 'firing' | 'resolved';
}

export interface Fault {
  readonly id: string;
  readonly kind: FaultKind;
  /** The CI its first alert binds to (the switch, the database's host, the host, ...). */
  readonly root: string;
  readonly alerts: number;
}

export interface Storm {
  readonly options: Required<StormOptions>;
  readonly dataCentre: DataCentre;
  readonly cmdb: Cmdb;
  readonly alerts: readonly StormAlert[];
  /** In time order. */
  readonly events: readonly StormEvent[];
  readonly faults: readonly Fault[];
  /** Faults (noise included) that found no place free of related faults, and were left out. */
  readonly dropped: number;
}

export const STORM_DEFAULTS = {
  racks: 24, hostsPerRack: 16, faults: 120, spanMinutes: 480, startMs: Date.UTC(2026, 0, 1),
} as const;

/** Faults this close in time (one's end to the other's start) touch no related CIs (see above). */
export const CONCURRENCY_MARGIN_MS = 60 * 60_000;

const FAULT_WEIGHTS = {
  'switch-outage': 0.06, 'database-slowdown': 0.18, 'host-down': 0.16, 'host-resource': 0.42, flapping: 0.18,
} as const;
const PLACEMENT_TRIES = 50;

/**
 * The CI an alert is about, by the labels monitoring puts on it: `instance` with its port
 * stripped (node exporter, database exporters, service targets, SNMP), else `service`
 * (a service's own alerts). The generator's truth rests on this binding.
 */
export function boundCi(labels: Labels): string | undefined {
  const instance = labels['instance'];
  if (instance) return instance.replace(/:\d+$/, '');
  return labels['service'] || undefined;
}

const sec = (n: number): number => n * 1000;
const min = (n: number): number => n * 60_000;

interface Episode { readonly labels: Labels; readonly start: number; readonly end: number }
interface Draft { readonly kind: FaultKind; readonly root: string; readonly episodes: readonly Episode[] }

/** Label sets as Prometheus rules over node_exporter, database exporters and services make them. */
const alertLabels = {
  common: (cluster: string) => ({ cluster, env: 'prod' }),
  node: (h: Host, alertname: string, severity: string, extra: Labels = {}): Labels =>
    ({ alertname, instance: `${h.id}:9100`, job: 'node', severity, ...extra, ...alertLabels.common(h.cluster) }),
  target: (h: Host, s: Service): Labels =>
    ({
      alertname: 'InstanceDown', instance: `${h.id}:8080`, job: s.id, service: s.id, severity: 'critical',
      ...alertLabels.common(h.cluster),
    }),
  service: (s: Service, alertname: string, severity: string): Labels =>
    ({ alertname, service: s.id, job: s.id, namespace: s.team, severity, ...alertLabels.common(s.cluster) }),
  database: (d: Database, kind: 'down' | 'slow' | 'connections'): Labels => {
    const pg = d.engine === 'postgresql';
    const alertname = kind === 'down' ? 'InstanceDown'
      : pg ? (kind === 'slow' ? 'PostgresqlSlowQueries' : 'PostgresqlTooManyConnections')
        : (kind === 'slow' ? 'MysqlSlowQueries' : 'MysqlTooManyConnections');
    return {
      alertname, instance: `${d.host}:${pg ? 9187 : 9104}`, job: pg ? 'postgres' : 'mysql',
      ...(pg && kind === 'slow' ? { datname: d.name } : {}),
      severity: kind === 'connections' ? 'warning' : 'critical', ...alertLabels.common(d.cluster),
    };
  },
  switch: (rack: { readonly switchId: string; readonly cluster: string }): Labels =>
    ({
      alertname: 'InstanceDown', instance: rack.switchId, job: 'snmp', severity: 'critical',
      ...alertLabels.common(rack.cluster),
    }),
};

const FILESYSTEMS: readonly Labels[] = [
  { device: '/dev/sda1', mountpoint: '/', fstype: 'ext4' },
  { device: '/dev/sdb1', mountpoint: '/var/lib/docker', fstype: 'xfs' },
  { device: '/dev/sda3', mountpoint: '/var/log', fstype: 'ext4' },
  { device: '/dev/nvme0n1p1', mountpoint: '/data', fstype: 'xfs' },
];

const labelKey = (l: Labels): string => JSON.stringify(Object.keys(l).sort().map((k) => [k, l[k]]));

interface EpisodeSet {
  /** Adds an episode; a label set the fault already has keeps its first episode. */
  add(labels: Labels, start: number, end: number): void;
  /** The fault's start plus `lo` to `hi` seconds. */
  at(lo: number, hi: number): number;
  /** The fault's end plus `lo` to `hi` seconds. */
  until(lo: number, hi: number): number;
  list(): Episode[];
}

/** What a fault builder works with: the data centre, the dice, the start, and its episodes. */
interface FaultScope {
  readonly rnd: SeededRandom;
  readonly dc: DataCentre;
  readonly t0: number;
  /** The episodes of a fault from t0 to `end`. */
  episodes(end: number): EpisodeSet;
  /** Labels of a service's own alert, by the service's id. */
  service(id: string, alertname: string, severity: string): Labels;
}

function faultScope(rnd: SeededRandom, dc: DataCentre, t0: number): FaultScope {
  return {
    rnd, dc, t0,
    episodes(end) {
      const byKey = new Map<string, Episode>();
      return {
        add(labels, start, stop) {
          const key = labelKey(labels);
          if (!byKey.has(key)) byKey.set(key, { labels, start, end: Math.max(stop, start + sec(30)) });
        },
        at: (lo, hi) => t0 + sec(rnd.int(lo, hi)),
        until: (lo, hi) => end + sec(rnd.int(lo, hi)),
        list: () => [...byKey.values()],
      };
    },
    service: (id, alertname, severity) => alertLabels.service(serviceOf(dc, id), alertname, severity),
  };
}

type Builder = (scope: FaultScope) => Draft;

const serviceOf = (dc: DataCentre, id: string): Service => dc.services.get(id)!;
const hostOf = (dc: DataCentre, id: string): Host => dc.hosts.get(id)!;

const BUILDERS: Readonly<Record<FaultKind, Builder>> = {
  'switch-outage'({ rnd, dc, t0, episodes, service }) {
    const rack = rnd.pick(dc.racks);
    const e = episodes(t0 + min(rnd.int(8, 40)));
    const { at, until } = e;
    e.add(alertLabels.switch(rack), at(0, 30), until(0, 60));
    const affected: string[] = [];
    const databases: string[] = [];
    for (const id of rack.hosts) {
      const h = hostOf(dc, id);
      e.add(alertLabels.node(h, 'InstanceDown', 'critical'), at(30, 90), until(10, 120));
      for (const s of h.services) {
        e.add(alertLabels.target(h, serviceOf(dc, s)), at(30, 90), until(10, 120));
        if (!affected.includes(s)) affected.push(s);
      }
      if (h.database) {
        e.add(alertLabels.database(dc.databases.get(h.database)!, 'down'), at(30, 90), until(10, 120));
        databases.push(h.database);
      }
    }
    // Three hops at most: switch -> host -> service -> caller, switch -> host -> database -> caller.
    for (const s of affected) {
      const svc = serviceOf(dc, s);
      if (rnd.chance(0.7)) e.add(alertLabels.service(svc, 'HighErrorRate', 'critical'), at(60, 180), until(60, 240));
      if (rnd.chance(0.3)) e.add(alertLabels.service(svc, 'HighLatency', 'warning'), at(60, 240), until(60, 240));
      for (const caller of dc.dependents(s)) {
        if (rnd.chance(0.25)) e.add(service(caller, 'HighErrorRate', 'warning'), at(120, 300), until(60, 300));
      }
    }
    for (const d of databases) {
      for (const caller of dc.dependents(d)) {
        if (rnd.chance(0.9)) e.add(service(caller, 'HighErrorRate', 'critical'), at(60, 240), until(60, 240));
      }
    }
    return { kind: 'switch-outage', root: rack.switchId, episodes: e.list() };
  },

  'database-slowdown'({ rnd, dc, t0, episodes, service }) {
    const db = rnd.pick([...dc.databases.values()]);
    const e = episodes(t0 + min(rnd.int(10, 45)));
    const { at, until } = e;
    e.add(alertLabels.database(db, 'slow'), at(0, 30), until(0, 120));
    if (rnd.chance(0.5)) e.add(alertLabels.database(db, 'connections'), at(60, 300), until(0, 120));
    if (rnd.chance(0.3)) e.add(alertLabels.node(hostOf(dc, db.host), 'HighCPU', 'warning'), at(30, 120), until(0, 120));
    // db host -> database -> caller -> caller's caller.
    for (const caller of dc.dependents(db.id)) {
      const svc = serviceOf(dc, caller);
      if (rnd.chance(0.9)) e.add(alertLabels.service(svc, 'HighLatency', 'warning'), at(60, 240), until(60, 300));
      if (rnd.chance(0.4)) e.add(alertLabels.service(svc, 'HighErrorRate', 'critical'), at(90, 300), until(60, 300));
      for (const next of dc.dependents(caller)) {
        if (rnd.chance(0.5)) e.add(service(next, 'HighLatency', 'warning'), at(120, 420), until(60, 300));
      }
    }
    return { kind: 'database-slowdown', root: db.host, episodes: e.list() };
  },

  'host-down'({ rnd, dc, t0, episodes, service }) {
    // A host that serves something (a host serving nothing going down is like noise).
    const h = rnd.pick([...dc.hosts.values()].filter((x) => x.services.length > 0 || x.database !== undefined));
    const e = episodes(t0 + min(rnd.int(3, 20)));
    const { at, until } = e;
    e.add(alertLabels.node(h, 'InstanceDown', 'critical'), at(0, 15), until(0, 60));
    for (const s of h.services) e.add(alertLabels.target(h, serviceOf(dc, s)), at(0, 45), until(0, 60));
    if (h.database) {
      const db = dc.databases.get(h.database)!;
      e.add(alertLabels.database(db, 'down'), at(0, 45), until(0, 60));
      for (const caller of dc.dependents(db.id)) {
        if (rnd.chance(0.8)) e.add(service(caller, 'HighErrorRate', 'critical'), at(60, 240), until(30, 180));
      }
    }
    return { kind: 'host-down', root: h.id, episodes: e.list() };
  },

  'host-resource'({ rnd, dc, t0, episodes }) {
    const h = hostOf(dc, rnd.pick([...dc.hosts.keys()]));
    const end = t0 + min(rnd.int(10, 60));
    const e = episodes(end);
    const { at, until } = e;
    const what = rnd.pick(['disk', 'disk', 'cpu', 'memory'] as const);
    if (what === 'disk') {
      for (const fs of rnd.sample(FILESYSTEMS, rnd.chance(0.3) ? 2 : 1)) {
        if (rnd.chance(0.5)) e.add(alertLabels.node(h, 'DiskFillingUp', 'warning', fs), t0, end);
        e.add(alertLabels.node(h, 'DiskFull', 'critical', fs), t0 + min(rnd.int(1, 8)), end + sec(rnd.int(0, 120)));
      }
    } else if (what === 'cpu') {
      e.add(alertLabels.node(h, 'HighCPU', 'warning'), t0, end);
      if (rnd.chance(0.6)) e.add(alertLabels.node(h, 'HighLoad', 'warning'), at(30, 180), until(0, 120));
    } else {
      e.add(alertLabels.node(h, 'HighMemory', 'warning'), t0, end);
      if (rnd.chance(0.5)) {
        const oom = t0 + min(rnd.int(2, 8));
        e.add(alertLabels.node(h, 'OOMKillDetected', 'warning'), oom, oom + min(rnd.int(1, 5)));
      }
    }
    return { kind: 'host-resource', root: h.id, episodes: e.list() };
  },

  flapping({ rnd, dc, t0 }) {
    const what = rnd.pick(['cpu', 'latency', 'target'] as const);
    let labels: Labels;
    if (what === 'latency') {
      labels = alertLabels.service(rnd.pick([...dc.services.values()]), 'HighLatency', 'warning');
    } else {
      const candidates = [...dc.hosts.values()].filter((h) => what === 'cpu' || h.services.length > 0);
      const h = rnd.pick(candidates);
      labels = what === 'cpu'
        ? alertLabels.node(h, 'HighCPU', 'warning')
        : alertLabels.target(h, serviceOf(dc, rnd.pick(h.services)));
    }
    const episodes: Episode[] = [];
    let t = t0;
    for (let n = rnd.int(6, 12); n > 0; n--) {
      const end = t + sec(rnd.int(60, 300));
      episodes.push({ labels, start: t, end });
      t = end + sec(rnd.int(60, 360));
    }
    return { kind: 'flapping', root: boundCi(labels)!, episodes };
  },

  noise({ rnd, dc, t0 }) {
    const end = t0 + min(rnd.int(2, 25));
    const h = hostOf(dc, rnd.pick([...dc.hosts.keys()]));
    const svc = rnd.pick([...dc.services.values()]);
    const what = rnd.pick(['latency', 'errors', 'disk', 'cpu', 'memory', 'node-down', 'target-down'] as const);
    const labels = what === 'latency' ? alertLabels.service(svc, 'HighLatency', 'warning')
      : what === 'errors' ? alertLabels.service(svc, 'HighErrorRate', rnd.pick(['warning', 'critical']))
        : what === 'disk' ? alertLabels.node(h, 'DiskFull', 'critical', rnd.pick(FILESYSTEMS))
          : what === 'cpu' ? alertLabels.node(h, 'HighCPU', 'warning')
            : what === 'memory' ? alertLabels.node(h, 'HighMemory', 'warning')
              : what === 'node-down' || svc.hosts.length === 0 ? alertLabels.node(h, 'InstanceDown', 'critical')
                : alertLabels.target(hostOf(dc, rnd.pick(svc.hosts)), svc);
    return { kind: 'noise', root: boundCi(labels)!, episodes: [{ labels, start: t0, end }] };
  },
};

/** `total` faults shared among the kinds by weight (largest remainder), so every seed has the same mix. */
function faultCounts(total: number): [FaultKind, number][] {
  const kinds = Object.entries(FAULT_WEIGHTS) as [Exclude<FaultKind, 'noise'>, number][];
  const counts = kinds.map(([kind, w]) => ({ kind, n: Math.floor(total * w), rest: (total * w) % 1 }));
  let left = total - counts.reduce((a, c) => a + c.n, 0);
  for (const c of [...counts].sort((a, b) => b.rest - a.rest)) if (left-- > 0) c.n++;
  return counts.map((c) => [c.kind, c.n]);
}

interface Placed {
  readonly draft: Draft;
  readonly from: number;
  readonly to: number;
  readonly cis: ReadonlySet<string>;
}

function placement(draft: Draft): Placed {
  const cis = new Set<string>([draft.root]);
  for (const ep of draft.episodes) cis.add(boundCi(ep.labels) as string);
  return {
    draft, cis,
    from: Math.min(...draft.episodes.map((ep) => ep.start)),
    to: Math.max(...draft.episodes.map((ep) => ep.end)),
  };
}

/** Whether `a` and `b` are close in time and touch the same CI or CIs one upstream of the other. */
function clash(dc: DataCentre, a: Placed, b: Placed): boolean {
  if (a.from - CONCURRENCY_MARGIN_MS >= b.to || b.from - CONCURRENCY_MARGIN_MS >= a.to) return false;
  for (const x of a.cis) {
    const up = dc.upstream(x);
    for (const y of b.cis) if (x === y || up.has(y) || dc.upstream(y).has(x)) return true;
  }
  return false;
}

export function generateStorm(options: StormOptions): Storm {
  const faults = options.faults ?? STORM_DEFAULTS.faults;
  const opts: Required<StormOptions> = {
    seed: options.seed,
    racks: options.racks ?? STORM_DEFAULTS.racks,
    hostsPerRack: options.hostsPerRack ?? STORM_DEFAULTS.hostsPerRack,
    faults,
    noise: options.noise ?? 2 * faults,
    spanMinutes: options.spanMinutes ?? STORM_DEFAULTS.spanMinutes,
    startMs: options.startMs ?? STORM_DEFAULTS.startMs,
  };
  if (opts.racks < 1 || opts.hostsPerRack < 4) throw new Error('a storm needs at least 1 rack of 4 hosts');
  const rnd = seededRandom(opts.seed);
  const dc = buildDataCentre({ racks: opts.racks, hostsPerRack: opts.hostsPerRack }, rnd);

  const span = min(opts.spanMinutes);
  const placed: Placed[] = [];
  let dropped = 0;
  const place = (kind: FaultKind, near: () => number): void => {
    for (let i = 0; i < PLACEMENT_TRIES; i++) {
      const t0 = Math.max(0, Math.min(span, near()));
      const candidate = placement(BUILDERS[kind](faultScope(rnd, dc, t0)));
      if (!placed.some((p) => clash(dc, p, candidate))) { placed.push(candidate); return; }
    }
    dropped++;
  };
  const anywhere = (): number => sec(rnd.int(0, span / 1000));
  // Kinds take turns, so that no kind finds the data centre already taken.
  const counts = faultCounts(opts.faults);
  for (let round = 0; counts.some(([, n]) => n > round); round++) {
    for (const [kind, n] of counts) if (n > round) place(kind, anywhere);
  }
  const real = placed.length;
  for (let i = 0; i < opts.noise; i++) {
    // Look-alikes mostly start near a real fault, when it is hardest to tell them apart.
    place('noise', () => (real > 0 && rnd.chance(0.6)
      ? (placed[rnd.int(0, real - 1)] as Placed).from + sec(rnd.int(-600, 900))
      : anywhere()));
  }

  const alerts: StormAlert[] = [];
  const faultList: Fault[] = [];
  const perKind = new Map<FaultKind, number>();
  for (const p of [...placed].sort((a, b) => a.from - b.from)) {
    const n = (perKind.get(p.draft.kind) ?? 0) + 1;
    perKind.set(p.draft.kind, n);
    const id = `${p.draft.kind}-${n}`;
    faultList.push({ id, kind: p.draft.kind, root: p.draft.root, alerts: p.draft.episodes.length });
    for (const ep of p.draft.episodes) {
      const startsAtMs = opts.startMs + ep.start;
      alerts.push({ labels: ep.labels, startsAtMs, endsAtMs: opts.startMs + ep.end, fault: id });
    }
  }
  const known = new Set(dc.cmdb.cis.map((ci) => ci.id));
  const unbound = alerts.find((a) => !known.has(boundCi(a.labels) ?? ''));
  if (unbound) throw new Error(`storm generator: alert binds to no CI: ${JSON.stringify(unbound.labels)}`);
  const events: StormEvent[] = alerts.flatMap((a, i): StormEvent[] => [
    { atMs: a.startsAtMs, alert: i, status: 'firing' },
    { atMs: a.endsAtMs, alert: i, status: 'resolved' },
  ]);
  events.sort((a, b) => a.atMs - b.atMs || a.alert - b.alert || (a.status === 'firing' ? -1 : 1));
  return { options: opts, dataCentre: dc, cmdb: dc.cmdb, alerts, events, faults: faultList, dropped };
}
