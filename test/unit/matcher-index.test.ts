import type { Labels } from '../../src/domain/alert';
import { MatcherIndex } from '../../src/domain/matcher-index';
import { matchesAll, parseMatcher } from '../../src/domain/matchers';
import { parseRuleFile } from '../../src/rules/rule-loader';
import { RuleSet } from '../../src/rules/rule-set';

const item = (id: string, ...matchers: string[]) => ({ id, matchers: matchers.map(parseMatcher) });

describe('MatcherIndex', () => {
  // Indexed on alertname, on another label, by a word alternation, and not indexable at all.
  const items = [
    item('regex-first', 'alertname=~"Disk.*"'),
    item('by-name', 'alertname="DiskFull"', 'env="prod"'),
    item('by-service', 'service="db"'),
    item('alternation', 'alertname=~"DiskFull|NodeDown"'),
    item('not-equal', 'env!="dev"'),
    item('catch-all'),
  ];
  const index = new MatcherIndex(items);
  const scan = (labels: Labels) => items.filter((i) => matchesAll(i.matchers, labels)).map((i) => i.id);

  test('first with accept: the first matching item it takes, in order; the items after it are not tried', () => {
    const labels = { alertname: 'DiskFull', env: 'prod', service: 'db' };
    const asked: string[] = [];
    const found = index.first(labels, (i) => { asked.push(i.id); return i.id === 'by-service'; });
    expect(found?.id).toBe('by-service');
    expect(asked).toEqual(['regex-first', 'by-name', 'by-service']);
    expect(index.first(labels, () => false)).toBeUndefined();
  });

  test.each([
    [{ alertname: 'DiskFull', env: 'prod', service: 'db' }],
    [{ alertname: 'DiskFull', env: 'dev', service: 'db' }],
    [{ alertname: 'NodeDown', env: 'dev' }],
    [{ alertname: 'Other', service: 'db', env: 'dev' }],
    [{ alertname: 'Other', env: 'dev' }],
    [{}],
  ])('finds what a scan finds, in item order: %j', (labels) => {
    expect([...index.matching(labels)].map((i) => i.id)).toEqual(scan(labels));
    expect(index.first(labels)?.id).toBe(scan(labels)[0]);
  });

  test('the first item in order wins, whether it is indexed or not', () => {
    expect(index.first({ alertname: 'DiskFull', env: 'prod' })?.id).toBe('regex-first'); // unindexed, before indexed
    expect(index.first({ alertname: 'DiskUsage', env: 'dev', service: 'db' })?.id).toBe('regex-first');
    // indexed, before unindexed
    expect(index.first({ alertname: 'X', env: 'dev', service: 'db' })?.id).toBe('by-service');
    expect(index.first({ alertname: 'NodeDown', env: 'dev' })?.id).toBe('alternation');
    expect(index.first({ alertname: 'X', env: 'dev' })?.id).toBe('catch-all');
  });

  test('an equality on the empty string is indexed like any value (a missing label is "")', () => {
    const i = new MatcherIndex([item('no-team', 'team=""'), item('other', 'team="x"')]);
    expect(i.first({})?.id).toBe('no-team');
    expect(i.first({ team: 'x' })?.id).toBe('other');
  });

  test('random rules and alerts: the index decides as a scan of every rule does', () => {
    let seed = 42;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const names = ['A', 'B', 'C', 'D'];
    const values = ['x', 'y', 'z', ''];
    const randomMatcher = (): string => {
      const label = ['alertname', 'svc', 'env'][rand(3)] as string;
      switch (rand(5)) {
        case 0: return `${label}="${label === 'alertname' ? names[rand(4)] : values[rand(4)]}"`;
        case 1: return `${label}=~"${names[rand(4)]}|${values[rand(3)]}"`;
        case 2: return `${label}!="${values[rand(4)]}"`;
        case 3: return `${label}=~".*${values[rand(3)]}"`;
        default: return `${label}!~"${names[rand(4)]}"`;
      }
    };
    const random = Array.from({ length: 300 }, (_, n) =>
      item(`r${n}`, ...Array.from({ length: rand(4) }, randomMatcher)));
    const randomIndex = new MatcherIndex(random);
    for (let n = 0; n < 1000; n++) {
      const labels: Record<string, string> = {};
      if (rand(5) > 0) labels['alertname'] = names[rand(4)] as string;
      if (rand(2) > 0) labels['svc'] = values[rand(4)] as string;
      if (rand(2) > 0) labels['env'] = names[rand(4)] as string;
      const expected = random.filter((i) => matchesAll(i.matchers, labels)).map((i) => i.id);
      expect([...randomIndex.matching(labels)].map((i) => i.id)).toEqual(expected);
    }
  });

  test('an alert tries only the items filed under its label values, and the unfiled ones', () => {
    let tried = 0;
    // A matcher that counts its evaluations: it is only ever asked about candidates.
    const regex = { test: () => { tried++; return false; } } as unknown as RegExp;
    const counting = { ...parseMatcher('env=~".*"'), regex };
    const many = [
      ...Array.from({ length: 1000 }, (_, n) => ({
        id: `a${n}`, matchers: [counting, parseMatcher(`alertname="A${n}"`)],
      })),
      { id: 'unfiled', matchers: [counting] },
    ];
    expect(new MatcherIndex(many).first({ alertname: 'A500' })).toBeUndefined();
    expect(tried).toBe(2);
  });
});

describe('RuleSet order', () => {
  test('the first rule in file order wins, with indexed and unindexed rules mixed', () => {
    const set = new RuleSet(parseRuleFile('r.yaml', `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: prod-disk
    matchers: ['alertname="DiskFull"', 'env="prod"']
  - name: any-critical
    matchers: ['severity=~"crit.*"']
  - name: disk
    matchers: ['alertname=~"DiskFull|DiskSlow"']
  - name: db
    matchers: ['service="db"']
  - name: default
`));
    const rule = (labels: Labels) => set.correlate(labels)?.rule;
    expect(rule({ alertname: 'DiskFull', env: 'prod', severity: 'critical' })).toBe('prod-disk');
    expect(rule({ alertname: 'DiskFull', env: 'dev', severity: 'critical' })).toBe('any-critical');
    expect(rule({ alertname: 'DiskFull', env: 'dev', service: 'db' })).toBe('disk');
    expect(rule({ alertname: 'Other', service: 'db', severity: 'critical' })).toBe('any-critical');
    expect(rule({ alertname: 'Other', service: 'db' })).toBe('db');
    expect(rule({ alertname: 'Other' })).toBe('default');
  });
});
