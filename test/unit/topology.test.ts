import { hostOf } from '../../src/domain/ci-binding';
import type { Ci, CmdbDocument, Relation, RelationType } from '../../src/domain/cmdb';
import { Topology } from '../../src/domain/topology';
import { generateDataCentre } from '../support/cmdb-generator';

const ci = (id: string, type = 'host', labels: Record<string, string> = {}): Ci => ({ id, type, labels });
const rel = (from: string, type: RelationType, to: string): Relation => ({ from, type, to });

/**
 *            core
 *          /      \            (connected_to)
 *      tor-a      tor-b
 *      /   \         \
 *    h1     h2        h3        h1, h2 part_of rack-1
 *    |      |         |
 *    db     api       web       db runs_on h1, api runs_on h2, web runs_on h3
 *           api depends_on db, web depends_on api
 */
const DC: CmdbDocument = {
  cis: [
    ci('core', 'switch'), ci('tor-a', 'switch'), ci('tor-b', 'switch'), ci('rack-1', 'rack'),
    ci('h1', 'host', { hostname: 'h1.example', owner: 'team-db' }), ci('h2', 'host', { hostname: 'h2.example' }),
    ci('h3', 'host', { hostname: 'shared.example' }), ci('h4', 'host', { hostname: 'shared.example' }),
    ci('db', 'database', { owner: 'dba' }), ci('api', 'service'), ci('web', 'service'),
    ci('db:5432', 'endpoint'),
  ],
  relations: [
    rel('tor-a', 'connected_to', 'core'), rel('core', 'connected_to', 'tor-b'),
    rel('h1', 'connected_to', 'tor-a'), rel('tor-a', 'connected_to', 'h2'), rel('h3', 'connected_to', 'tor-b'),
    rel('h1', 'part_of', 'rack-1'), rel('h2', 'part_of', 'rack-1'),
    rel('db', 'runs_on', 'h1'), rel('api', 'runs_on', 'h2'), rel('web', 'runs_on', 'h3'),
    rel('api', 'depends_on', 'db'), rel('web', 'depends_on', 'api'),
  ],
};
const t = Topology.build(DC);

describe('binding an alert to its CI', () => {
  test.each([
    ['web-1:9100', 'web-1'], ['10.0.0.5:9100', '10.0.0.5'], ['[::1]:9100', '::1'], ['[2001:db8::1]', '2001:db8::1'],
    ['::1', '::1'], ['2001:db8::1', '2001:db8::1'], ['web-1', 'web-1'], ['web-1:http', 'web-1:http'],
    ['https://shop.example:8443/health', 'shop.example'], ['http://[::1]:80/', '::1'], ['a:b:c', 'a:b:c'], ['', ''],
  ])('hostOf(%j) is %j', (value, host) => {
    expect(hostOf(value)).toBe(host);
  });

  test('the ci label first, then instance with its port stripped, then host, then service', () => {
    expect(t.bind({ ci: 'db', instance: 'h1:9100' })).toMatchObject({ ci: { id: 'db' }, label: 'ci', value: 'db' });
    expect(t.bind({ instance: 'h1:9100', service: 'api' }))
      .toMatchObject({ ci: { id: 'h1' }, label: 'instance', value: 'h1:9100' });
    expect(t.bind({ instance: '[h2]:9100' })?.ci.id).toBe('h2');
    expect(t.bind({ instance: 'unknown:9100', host: 'h3', service: 'api' })?.ci.id).toBe('h3');
    expect(t.bind({ ci: 'nope', instance: 'nope:1', service: 'api' })?.ci.id).toBe('api');
    expect(t.bind({ alertname: 'X', job: 'node' })).toBeUndefined();
    expect(t.bind({ ci: '' , service: 'web' })?.ci.id).toBe('web');
  });

  test('a value that names a CI as it is wins over its stripped form', () => {
    expect(t.bind({ instance: 'db:5432' })?.ci.id).toBe('db:5432');
    expect(t.bind({ instance: 'db:5433' })?.ci.id).toBe('db');
  });

  test('alias labels name a CI; an id wins over an alias; a shared alias names no CI', () => {
    expect(t.bind({ instance: 'h1.example:9100' })?.ci.id).toBe('h1');
    expect(t.bind({ instance: 'https://h2.example/metrics' })?.ci.id).toBe('h2');
    expect(t.bind({ instance: 'shared.example:9100' })).toBeUndefined();
    const own = Topology.build({ cis: [ci('a', 'host', { hostname: 'b' }), ci('b')], relations: [] });
    expect(own.bind({ host: 'b' })?.ci.id).toBe('b');
  });

  test('the label order and alias labels are configurable', () => {
    const custom = Topology.build(DC, { bindLabels: ['service', 'instance'], aliasLabels: ['owner'] });
    expect(custom.bind({ instance: 'h1:9100', service: 'api' })?.ci.id).toBe('api');
    expect(custom.bind({ instance: 'dba' })?.ci.id).toBe('db');
    expect(custom.bind({ instance: 'h1.example:9100' })).toBeUndefined();
  });

  test('hostile values are only looked up', () => {
    expect(t.bind({ instance: '__proto__' })).toBeUndefined();
    expect(t.bind({ instance: 'constructor:80' })).toBeUndefined();
    expect(t.bind({ instance: `${'a'.repeat(100_000)}:9100` })).toBeUndefined();
  });
});

describe('adjacency and hops', () => {
  test('relations of a CI by direction and type', () => {
    expect(t.relationsOf('api', { direction: 'upstream' }))
      .toEqual([rel('api', 'runs_on', 'h2'), rel('api', 'depends_on', 'db')]);
    expect(t.relationsOf('api', { direction: 'downstream' })).toEqual([rel('web', 'depends_on', 'api')]);
    expect(t.relationsOf('h1', { relationTypes: ['connected_to'] })).toEqual([rel('h1', 'connected_to', 'tor-a')]);
    // symmetric: upstream and downstream both
    expect(t.relationsOf('tor-a', { direction: 'upstream' })).toHaveLength(3);
    expect(t.relationsOf('nope')).toEqual([]);
  });

  test('within: every CI in reach with its hops', () => {
    expect(Object.fromEntries(t.within('web', { maxHops: 2, direction: 'upstream', relationTypes: ['depends_on'] })))
      .toEqual({ web: 0, api: 1, db: 2 });
    expect(Object.fromEntries(t.within('db', { maxHops: 1 }))).toEqual({ db: 0, h1: 1, api: 1 });
    expect(t.within('db', { maxHops: 0 }).size).toBe(1);
  });

  test('related: hops either way, bounded, along chosen types', () => {
    expect(t.related('h1', 'h2', { maxHops: 2 })).toBe(2);
    expect(t.related('h1', 'h3', { maxHops: 4 })).toBe(4);
    expect(t.related('h1', 'h3', { maxHops: 3 })).toBeUndefined();
    expect(t.related('web', 'db', { maxHops: 2, relationTypes: ['depends_on'] })).toBe(2);
    expect(t.related('web', 'db', { maxHops: 5, relationTypes: ['part_of'] })).toBeUndefined();
    expect(t.related('h1', 'h1', { maxHops: 0 })).toBe(0);
    expect(t.related('h1', 'nope', { maxHops: 9 })).toBeUndefined();
  });

  test('related with directed paths: cascades, not siblings', () => {
    expect(t.related('web', 'db', { maxHops: 2, paths: 'directed' })).toBe(2);
    expect(t.related('db', 'web', { maxHops: 2, paths: 'directed' })).toBe(2);
    // h1 and h2 share rack-1: siblings, related only either way
    expect(t.related('h1', 'h2', { maxHops: 2, relationTypes: ['part_of'] })).toBe(2);
    expect(t.related('h1', 'h2', { maxHops: 2, relationTypes: ['part_of'], paths: 'directed' })).toBeUndefined();
    // a symmetric relation goes both ways in either mode
    expect(t.related('h1', 'h2', { maxHops: 2, relationTypes: ['connected_to'], paths: 'directed' })).toBe(2);
  });
});

describe('related groups', () => {
  test('hosts behind one switch are one group within 2 hops, not within 1 unless the switch is in the set', () => {
    expect(t.relatedGroups(['h1', 'h2', 'h3'], { maxHops: 2 })).toEqual([['h1', 'h2'], ['h3']]);
    expect(t.relatedGroups(['h1', 'h2'], { maxHops: 1 })).toEqual([['h1'], ['h2']]);
    expect(t.relatedGroups(['h1', 'tor-a', 'h2'], { maxHops: 1 })).toEqual([['h1', 'tor-a', 'h2']]);
  });

  test('groups are transitive, in input order; unknown ids and repeats', () => {
    // web-api 1, api-db 1, db-h1 1: one chain
    const opts = { maxHops: 1, relationTypes: ['depends_on', 'runs_on'] } as const;
    expect(t.relatedGroups(['h3', 'web', 'db', 'nope', 'api', 'h1', 'web'], opts))
      .toEqual([['h3', 'web', 'db', 'api', 'h1'], ['nope']]);
    expect(t.relatedGroups([], { maxHops: 3 })).toEqual([]);
  });

  test('relation types filter; directed keeps siblings apart unless their upstream is in the set', () => {
    expect(t.relatedGroups(['h1', 'h2'], { maxHops: 2, relationTypes: ['depends_on'] })).toEqual([['h1'], ['h2']]);
    expect(t.relatedGroups(['h1', 'h2'], { maxHops: 2, relationTypes: ['part_of'], paths: 'directed' }))
      .toEqual([['h1'], ['h2']]);
    expect(t.relatedGroups(['h1', 'h2', 'rack-1'], { maxHops: 1, relationTypes: ['part_of'], paths: 'directed' }))
      .toEqual([['h1', 'h2', 'rack-1']]);
  });

  test('matches pairwise searches on random graphs (the nearest-source search is exact)', () => {
    let seed = 7;
    const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return (seed >>> 8) % n; };
    const types: RelationType[] = ['depends_on', 'runs_on', 'part_of', 'connected_to'];
    for (let round = 0; round < 40; round++) {
      const n = 30 + random(40);
      const cis = Array.from({ length: n }, (_, i) => ci(`c${i}`));
      const seen = new Set<string>();
      const relations: Relation[] = [];
      for (let k = 0; k < n * 1.3; k++) {
        const a = random(n); const b = random(n); const type = types[random(4)]!;
        const key = [Math.min(a, b), Math.max(a, b)].join('-');
        if (a === b || seen.has(key)) continue;
        seen.add(key);
        relations.push(rel(`c${a}`, type, `c${b}`));
      }
      const topo = Topology.build({ cis, relations });
      const members = [...new Set(Array.from({ length: 3 + random(10) }, () => `c${random(n)}`))];
      for (const paths of ['any', 'directed'] as const) {
        const opts = { maxHops: 1 + random(4), paths, relationTypes: round % 3 === 0 ? types.slice(0, 3) : types };
        expect(normalise(topo.relatedGroups(members, opts))).toEqual(normalise(bruteForce(topo, members, opts)));
      }
    }
  });
});

function bruteForce(topo: Topology, members: readonly string[], opts: Parameters<Topology['related']>[2]): string[][] {
  const group = new Map(members.map((m) => [m, m]));
  const find = (m: string): string => (group.get(m) === m ? m : find(group.get(m)!));
  for (const a of members) {
    for (const b of members) if (topo.related(a, b, opts) !== undefined) group.set(find(b), find(a));
  }
  const out = new Map<string, string[]>();
  for (const m of members) out.set(find(m), [...(out.get(find(m)) ?? []), m]);
  return [...out.values()];
}

const normalise = (groups: string[][]): string[] => groups.map((g) => [...g].sort().join(',')).sort();

describe('root cause', () => {
  test('the most upstream CI with an alert, and each path to it with its relations', () => {
    const rc = t.rootCause(['web', 'api', 'db'], { relationTypes: ['depends_on'] })!;
    expect(rc.root.id).toBe('db');
    expect(rc.paths).toEqual([
      {
        ci: 'web', path: ['web', 'api', 'db'],
        relations: [rel('web', 'depends_on', 'api'), rel('api', 'depends_on', 'db')],
      },
      { ci: 'api', path: ['api', 'db'], relations: [rel('api', 'depends_on', 'db')] },
      { ci: 'db', path: ['db'], relations: [] },
    ]);
  });

  test('through CIs without an alert, across relation types', () => {
    const rc = t.rootCause(['web', 'h1'])!;
    expect(rc.root.id).toBe('h1');
    expect(rc.paths.find((p) => p.ci === 'web')!.path).toEqual(['web', 'api', 'db', 'h1']);
  });

  test('a switch rather than one of its hosts (symmetric links: the CI the others reach in fewest hops)', () => {
    expect(t.rootCause(['h1', 'h2', 'tor-a'], { relationTypes: ['connected_to'] })!.root.id).toBe('tor-a');
    expect(t.rootCause(['h1', 'tor-a'], { relationTypes: ['connected_to'] })!.root.id).toBe('tor-a');
    const dc = Topology.build(generateDataCentre(2000));
    const hosts = Array.from({ length: 40 }, (_, h) => `host-3-${h}`);
    expect(dc.rootCause([...hosts, 'tor-3'])!.root.id).toBe('tor-3');
    const paths = dc.rootCause([...hosts.slice(0, 20), 'tor-3', ...hosts.slice(20)])!.paths;
    expect(paths.find((p) => p.ci === 'host-3-7')).toEqual({
      ci: 'host-3-7', path: ['host-3-7', 'tor-3'], relations: [rel('host-3-7', 'connected_to', 'tor-3')],
    });
  });

  test('siblings without their upstream alerting: a path either way; unrelated: null', () => {
    const rc = t.rootCause(['h1', 'h2', 'h3'], { relationTypes: ['part_of'], maxHops: 3 })!;
    expect(rc.root.id).toBe('h1'); // a tie: the smallest id
    expect(rc.paths).toEqual([
      { ci: 'h1', path: ['h1'], relations: [] },
      {
        ci: 'h2', path: ['h2', 'rack-1', 'h1'],
        relations: [rel('h2', 'part_of', 'rack-1'), rel('h1', 'part_of', 'rack-1')],
      },
      { ci: 'h3', path: null, relations: [] },
    ]);
  });

  test('cycles end: the member of the cycle the others reach soonest', () => {
    const cyc = Topology.build({
      cis: [ci('x'), ci('y'), ci('z'), ci('w')],
      relations: [
        rel('x', 'depends_on', 'y'), rel('y', 'depends_on', 'x'),
        rel('z', 'depends_on', 'x'), rel('w', 'depends_on', 'z'),
      ],
    });
    expect(cyc.rootCause(['w', 'z', 'x', 'y'])!.root.id).toBe('x');
    expect(cyc.rootCause(['y', 'x'])!.root.id).toBe('x');
    expect(cyc.rootCause(['w', 'z'])!.root.id).toBe('z');
  });

  test('unknown ids are ignored; none known: undefined', () => {
    expect(t.rootCause(['nope'])).toBeUndefined();
    expect(t.rootCause([])).toBeUndefined();
    expect(t.rootCause(['nope', 'db'])!.paths).toEqual([{ ci: 'db', path: ['db'], relations: [] }]);
  });
});

describe('building', () => {
  test('an unvalidated document that names unknown CIs is refused', () => {
    expect(() => Topology.build({ cis: [ci('a')], relations: [rel('a', 'runs_on', 'b')] })).toThrow(/relations\[0\]/);
    expect(() => Topology.build({ cis: [ci('a'), ci('a')], relations: [] })).toThrow(/cis\[1\]\.id/);
  });

  test('100,000 CIs build in well under two seconds; a storm of bindings and searches stays cheap', () => {
    const doc = generateDataCentre(100_000);
    let start = performance.now();
    const big = Topology.build(doc);
    const buildMs = performance.now() - start;
    expect(big.ciCount).toBeGreaterThan(99_000);

    start = performance.now();
    let bound = 0;
    for (let i = 0; i < 100_000; i++) {
      if (big.bind({ alertname: 'NodeDown', instance: `host-${i % 1000}-${i % 40}.example:9100` })) bound++;
    }
    const bindMs = performance.now() - start;
    expect(bound).toBe(100_000);

    const hosts = Array.from({ length: 2000 }, (_, i) => `host-${i % 1000}-${i % 40}`);
    start = performance.now();
    const groups = big.relatedGroups(hosts, { maxHops: 2 });
    const groupMs = performance.now() - start;
    expect(groups).toHaveLength(1000);
    start = performance.now();
    const rc = big.rootCause(['tor-7', ...Array.from({ length: 40 }, (_, h) => `host-7-${h}`), 'svc-7-3']);
    const rootMs = performance.now() - start;
    expect(rc!.root.id).toBe('tor-7');
    process.stdout.write(`topology: ${big.ciCount} CIs, ${big.relationCount} relations `
      + `built in ${buildMs.toFixed(0)} ms; `
      + `100,000 bindings in ${bindMs.toFixed(0)} ms; 2,000 CIs grouped in ${groupMs.toFixed(0)} ms; `
      + `root cause of 42 in ${rootMs.toFixed(0)} ms\n`);
    expect(buildMs).toBeLessThan(2000);
  });
});
