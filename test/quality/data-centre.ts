import type { Ci, CmdbDocument, Relation, RelationType } from '../../src/domain/cmdb';
import type { SeededRandom } from './seeded-random';

/**
 * A generated data centre and its CMDB, in the format `PUT /api/v1/cmdb` takes:
 * `{"cis":[{"id","type","labels"}],"relations":[{"from","type","to"}]}`. `A depends_on B` and
 * `A runs_on B` make B upstream of A; a host `depends_on` its top-of-rack switch (the switch is
 * upstream: Quell's `connected_to` is a symmetric link between peers). CI ids are what alert
 * labels carry, so an alert binds to a CI by `instance` with its port stripped (hosts, switches)
 * or by `service` (services).
 */
export type CiType = 'rack' | 'switch' | 'host' | 'database' | 'service';

/** The CMDB the data centre is described by: the format Quell's CMDB API takes. */
export type Cmdb = CmdbDocument;

export interface Rack {
  readonly id: string;
  readonly cluster: string;
  readonly switchId: string;
  readonly hosts: readonly string[];
}

export interface Host {
  readonly id: string;
  readonly rack: string;
  readonly cluster: string;
  readonly role: 'app' | 'db';
  /** Services with an instance on this host (app hosts). */
  readonly services: readonly string[];
  /** The database this host serves (db hosts). */
  readonly database?: string;
}

export interface Database {
  readonly id: string;
  readonly name: string;
  readonly engine: 'postgresql' | 'mysql';
  readonly host: string;
  readonly cluster: string;
}

export interface Service {
  readonly id: string;
  readonly tier: 'backend' | 'api' | 'edge';
  readonly team: string;
  readonly cluster: string;
  readonly hosts: readonly string[];
  /** Databases and services it calls. */
  readonly dependsOn: readonly string[];
}

export interface DataCentre {
  readonly cmdb: Cmdb;
  readonly clusters: readonly string[];
  readonly racks: readonly Rack[];
  readonly hosts: ReadonlyMap<string, Host>;
  readonly databases: ReadonlyMap<string, Database>;
  readonly services: ReadonlyMap<string, Service>;
  /** Services (and, for a database, services) that depend on the CI directly. */
  dependents(id: string): readonly string[];
  /** Every CI upstream of `id` (its relations' targets, transitively), not `id` itself. */
  upstream(id: string): ReadonlySet<string>;
}

export interface DataCentreOptions {
  readonly racks: number;
  readonly hostsPerRack: number;
}

const SERVICE_NAMES = [
  'checkout', 'cart', 'payments', 'catalog', 'search', 'inventory', 'shipping', 'pricing', 'recommendations',
  'reviews', 'auth', 'accounts', 'notifications', 'email', 'orders', 'invoicing', 'fraud', 'loyalty', 'media',
  'profile', 'session', 'ads', 'tax', 'currency', 'geo', 'wishlist', 'returns', 'ledger', 'reporting', 'audit',
];
const DATABASE_NAMES = [
  'orders', 'users', 'payments', 'inventory', 'catalog', 'sessions', 'billing', 'ledger', 'analytics', 'search',
  'shipping', 'reviews', 'audit', 'media', 'pricing', 'loyalty',
];
const TEAMS = ['shop', 'platform', 'payments', 'growth', 'fulfilment', 'identity'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Unique names from a pool: `checkout`, then `checkout-2` once the pool is used up. */
function namer(pool: readonly string[]): () => string {
  let i = 0;
  return () => {
    const base = pool[i % pool.length] as string;
    const round = Math.floor(i / pool.length);
    i++;
    return round === 0 ? base : `${base}-${round + 1}`;
  };
}

/**
 * Racks in clusters of about eight, a top-of-rack switch each, hosts behind it (a few serve
 * databases), and three tiers of services (edge -> api -> backend -> database), each service
 * with instances on two to four app hosts of its cluster, calling only within its cluster.
 */
export function buildDataCentre(opts: DataCentreOptions, rnd: SeededRandom): DataCentre {
  const cis: Ci[] = [];
  const relations: Relation[] = [];
  const relate = (from: string, type: RelationType, to: string): void => { relations.push({ from, type, to }); };
  const clusterCount = Math.max(1, Math.round(opts.racks / 8));
  const clusters = Array.from({ length: clusterCount }, (_, i) => `prod-eu${i + 1}`);
  const env = 'prod';

  // Racks, switches and host slots; databases take the first slots of racks in turn.
  const racks: { id: string; cluster: string; switchId: string; hosts: string[] }[] = [];
  for (let r = 0; r < opts.racks; r++) {
    const id = `r${pad2(r + 1)}`;
    const cluster = clusters[Math.floor((r * clusterCount) / opts.racks)] as string;
    racks.push({ id, cluster, switchId: `sw-${id}`, hosts: [] });
    const row = `row-${Math.floor(r / 6) + 1}`;
    cis.push({ id: `rack-${id}`, type: 'rack', labels: { rack: id, row, site: 'dc1' } });
    const model = rnd.pick(['7050SX', 'N9K-C93180']);
    cis.push({ id: `sw-${id}`, type: 'switch', labels: { rack: id, cluster, env, model } });
    relate(`sw-${id}`, 'runs_on', `rack-${id}`);
  }

  const databases = new Map<string, Database>();
  const hosts = new Map<string, Host & { services: string[] }>();
  const nextDatabase = namer(DATABASE_NAMES);
  for (const cluster of clusters) {
    const own = racks.filter((r) => r.cluster === cluster);
    const count = Math.max(2, Math.round(own.length * 0.75));
    for (let d = 0; d < count; d++) {
      const rack = own[d % own.length]!;
      const hostId = `db-${rack.id}-${pad2(rack.hosts.length + 1)}`;
      const name = nextDatabase();
      const engine = rnd.chance(0.7) ? 'postgresql' : 'mysql';
      const id = `${engine === 'postgresql' ? 'pg' : 'mysql'}-${name}`;
      rack.hosts.push(hostId);
      hosts.set(hostId, { id: hostId, rack: rack.id, cluster, role: 'db', services: [], database: id });
      databases.set(id, { id, name, engine, host: hostId, cluster });
    }
  }
  for (const rack of racks) {
    while (rack.hosts.length < opts.hostsPerRack) {
      const hostId = `app-${rack.id}-${pad2(rack.hosts.length + 1)}`;
      rack.hosts.push(hostId);
      hosts.set(hostId, { id: hostId, rack: rack.id, cluster: rack.cluster, role: 'app', services: [] });
    }
  }

  // Services, per cluster: backends call databases, api services call backends, edges call both.
  const services = new Map<string, Service>();
  const nextService = namer(SERVICE_NAMES);
  for (const cluster of clusters) {
    const own = racks.filter((r) => r.cluster === cluster);
    const appHosts = own.flatMap((r) => r.hosts).filter((h) => hosts.get(h)!.role === 'app');
    const dbs = [...databases.values()].filter((d) => d.cluster === cluster).map((d) => d.id);
    const total = own.length * 3;
    const byTier: Record<Service['tier'], string[]> = { backend: [], api: [], edge: [] };
    for (let s = 0; s < total; s++) {
      const tier: Service['tier'] = s < total * 0.4 ? 'backend' : s < total * 0.75 ? 'api' : 'edge';
      const id = nextService();
      const dependsOn = tier === 'backend' ? rnd.sample(dbs, rnd.chance(0.3) ? 2 : 1)
        : tier === 'api' ? rnd.sample(byTier.backend, rnd.int(1, 2))
          : rnd.sample([...byTier.api, ...byTier.backend], rnd.int(1, 3));
      const serviceHosts = rnd.sample(appHosts, rnd.int(2, 4));
      byTier[tier].push(id);
      services.set(id, { id, tier, team: rnd.pick(TEAMS), cluster, hosts: serviceHosts, dependsOn });
      for (const h of serviceHosts) hosts.get(h)!.services.push(id);
    }
  }

  for (const rack of racks) {
    for (const id of rack.hosts) {
      const h = hosts.get(id)!;
      const labels = { hostname: id, rack: rack.id, cluster: h.cluster, env, role: h.role, os: 'ubuntu-22.04' };
      cis.push({ id, type: 'host', labels });
      relate(id, 'runs_on', `rack-${rack.id}`);
      relate(id, 'depends_on', rack.switchId);
    }
  }
  for (const d of databases.values()) {
    cis.push({ id: d.id, type: 'database', labels: { engine: d.engine, database: d.name, cluster: d.cluster, env } });
    relate(d.id, 'runs_on', d.host);
  }
  for (const s of services.values()) {
    const labels = { service: s.id, tier: s.tier, team: s.team, cluster: s.cluster, env };
    cis.push({ id: s.id, type: 'service', labels });
    for (const h of s.hosts) relate(s.id, 'runs_on', h);
    for (const d of s.dependsOn) relate(s.id, 'depends_on', d);
  }

  const targets = new Map<string, string[]>();
  const dependentsOf = new Map<string, string[]>();
  for (const r of relations) {
    targets.set(r.from, [...(targets.get(r.from) ?? []), r.to]);
    if (r.type === 'depends_on') dependentsOf.set(r.to, [...(dependentsOf.get(r.to) ?? []), r.from]);
  }
  const upstreamMemo = new Map<string, ReadonlySet<string>>();
  const upstream = (id: string): ReadonlySet<string> => {
    const known = upstreamMemo.get(id);
    if (known) return known;
    const out = new Set<string>();
    for (const t of targets.get(id) ?? []) {
      out.add(t);
      for (const u of upstream(t)) out.add(u);
    }
    upstreamMemo.set(id, out);
    return out;
  };

  return {
    cmdb: { cis, relations },
    clusters,
    racks,
    hosts,
    databases,
    services,
    dependents: (id) => dependentsOf.get(id) ?? [],
    upstream,
  };
}
