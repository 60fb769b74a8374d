import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CmdbDocumentError, formatOfFile, hashCmdb, parseCmdb } from '../../src/cmdb/cmdb-document';
import { CMDB_LIMITS } from '../../src/cmdb/cmdb-schema';
import { Topology } from '../../src/domain/topology';

const GOOD = {
  cis: [
    { id: 'db-1', type: 'host', labels: { hostname: 'db-1.example' } },
    { id: 'orders-db', type: 'database', labels: { owner: 'dba' } },
    { id: 'checkout', type: 'service' },
  ],
  relations: [
    { from: 'orders-db', type: 'runs_on', to: 'db-1' },
    { from: 'checkout', type: 'depends_on', to: 'orders-db' },
  ],
};

/** The error `parseCmdb` throws for `doc` (as JSON). */
function errorOf(doc: unknown, format: 'json' | 'yaml' = 'json'): CmdbDocumentError {
  try {
    parseCmdb(typeof doc === 'string' ? doc : JSON.stringify(doc), format);
  } catch (err) {
    if (err instanceof CmdbDocumentError) return err;
    throw err;
  }
  throw new Error('expected the document to be refused');
}

const withCis = (...cis: unknown[]) => ({ ...GOOD, cis: [...GOOD.cis, ...cis] });
const withRelations = (...relations: unknown[]) => ({ ...GOOD, relations: [...GOOD.relations, ...relations] });
const hostWith = (labels: Record<string, unknown>) => withCis({ id: 'x', type: 'host', labels });
const manyLabels = (n: number, value: string) => {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, value]));
};

describe('a CMDB document', () => {
  test('JSON and YAML of the same document: the same validated document and hash; labels default to {}', () => {
    const json = parseCmdb(JSON.stringify(GOOD), 'json');
    const yaml = parseCmdb([
      'cis:',
      '  - { id: db-1, type: host, labels: { hostname: db-1.example } }',
      '  - id: orders-db',
      '    type: database',
      '    labels: { owner: dba }',
      '  - { id: checkout, type: service }',
      'relations:',
      '  - { from: orders-db, type: runs_on, to: db-1 }',
      '  - { from: checkout, type: depends_on, to: orders-db }',
    ].join('\n'), 'yaml');
    expect(yaml).toEqual(json);
    expect(json.doc.cis[2]).toEqual({ id: 'checkout', type: 'service', labels: {} });
    expect(json.hash).toBe(hashCmdb(json.doc));
    expect(parseCmdb(JSON.stringify({ cis: [] }), 'json').doc).toEqual({ cis: [], relations: [] });
  });

  test('the hash ignores the order of label names (PostgreSQL reorders them), not anything else', () => {
    const withLabels = (labels: Record<string, string>) => ({
      ...GOOD, cis: [{ id: 'db-1', type: 'host', labels }, ...GOOD.cis.slice(1)],
    });
    const hashOf = (doc: unknown) => parseCmdb(JSON.stringify(doc), 'json').hash;
    const hash = parseCmdb(JSON.stringify(withLabels({ hostname: 'db-1.example', owner: 'dba' })), 'json').hash;
    const reordered = withLabels({ owner: 'dba', hostname: 'db-1.example' });
    expect(parseCmdb(JSON.stringify(reordered), 'json').hash).toBe(hash);
    const swapped = withLabels({ hostname: 'db-1.example', owner: 'dba' });
    swapped.cis.reverse();
    expect(parseCmdb(JSON.stringify(swapped), 'json').hash).not.toBe(hash);
    expect(hashOf(withLabels({ hostname: 'db-1.example', owner: 'dbb' }))).not.toBe(hash);
    expect(hashOf(withLabels({ hostname: 'db-1.example', owner: '', dba: '' }))).not.toBe(hash);
  });

  test('a YAML text that is JSON is read as JSON (fast); flow-style YAML is still YAML', () => {
    const json = JSON.stringify(GOOD);
    expect(parseCmdb(json, 'yaml')).toEqual(parseCmdb(json, 'json'));
    expect(parseCmdb('{cis: [{id: a, type: host}]}', 'yaml').doc.cis[0]!.id).toBe('a');
  });

  test('GET output (with meta) can be PUT back', () => {
    const hash = parseCmdb(JSON.stringify(GOOD), 'json').hash;
    expect(parseCmdb(JSON.stringify({ meta: { version: 3 }, ...GOOD }), 'json').hash).toBe(hash);
  });

  test.each([
    ['a dangling relation end', withRelations({ from: 'checkout', type: 'depends_on', to: 'db-9' }),
      'relations[2].to', 'no CI "db-9"'],
    ['a dangling relation start', withRelations({ from: 'x', type: 'depends_on', to: 'db-1' }),
      'relations[2].from', 'no CI "x"'],
    ['a duplicate CI id', withCis({ id: 'db-1', type: 'host' }), 'cis[3].id', 'duplicate CI id "db-1" (also cis[0])'],
    ['a relation to itself', withRelations({ from: 'db-1', type: 'connected_to', to: 'db-1' }),
      'relations[2].to', 'itself'],
    ['a relation stated twice', withRelations({ from: 'checkout', type: 'depends_on', to: 'orders-db' }),
      'relations[2]', 'relations[1]'],
    ['a symmetric relation both ways round', withRelations({ from: 'db-1', type: 'connected_to', to: 'checkout' },
      { from: 'checkout', type: 'connected_to', to: 'db-1' }), 'relations[3]', 'the same relation as relations[2]'],
    ['an unknown relation type', withRelations({ from: 'checkout', type: 'depend_on', to: 'db-1' }),
      'relations[2].type', 'depends_on'],
    ['a missing type', withCis({ id: 'x' }), 'cis[3].type', 'expected string'],
    ['an unknown key', withCis({ id: 'x', type: 'host', lables: {} }), 'cis[3]', 'lables'],
    ['an id with a space', withCis({ id: 'web 1', type: 'host' }), 'cis[3].id', 'whitespace'],
    ['an empty id', withCis({ id: '', type: 'host' }), 'cis[3].id', 'expected a CI id'],
    ['an id over 255 bytes', withCis({ id: 'é'.repeat(128), type: 'host' }), 'cis[3].id', 'at most 255 bytes'],
    ['a bad type name', withCis({ id: 'x', type: 'a host' }), 'cis[3].type', 'type name'],
    ['a number as label value', hostWith({ rack: 12 }), 'cis[3].labels.rack', 'expected string'],
    ['a bad label name', hostWith({ 'team-name': 'a' }), 'cis[3].labels.team-name', 'label name'],
    ['a reserved label name', hostWith({ __name__: 'a' }), 'cis[3].labels.__name__', 'not starting with __'],
    ['a label value over 1024 bytes', hostWith({ note: '€'.repeat(342) }), 'cis[3].labels.note', 'at most 1024 bytes'],
    ['too many labels', hostWith(manyLabels(65, 'v')), 'cis[3].labels', 'at most 64 labels'],
    ['too many label bytes', hostWith(manyLabels(20, 'v'.repeat(1000))), 'cis[3].labels', 'at most 16384 bytes'],
    ['no cis', { relations: [] }, 'cis', 'expected array'],
    ['not an object', [1, 2], 'document', 'expected object'],
  ])('%s is refused, naming the field', (_what, doc, field, reason) => {
    const err = errorOf(doc);
    expect(err.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).toContain(reason);
    expect(err.retryable).toBe(false);
  });

  test('a __proto__ label key is refused, not dropped unseen', () => {
    const doc = '{"cis":[{"id":"a","type":"host","labels":{"__proto__":"x"}}]}';
    expect(errorOf(doc).field).toBe('cis[0].labels.__proto__');
  });

  test('a label value of exactly 1024 bytes is fine', () => {
    expect(() => parseCmdb(JSON.stringify(hostWith({ note: '€'.repeat(341) + 'a' })), 'json')).not.toThrow();
  });

  test('size limits: more CIs than the limit', () => {
    const cis = Array.from({ length: CMDB_LIMITS.cis + 1 }, (_, i) => ({ id: `c${i}`, type: 'host' }));
    expect(errorOf({ cis }).message).toMatch(/^cis: .*500000/);
  });

  test('text that does not parse: JSON says so; YAML with its line and column', () => {
    expect(errorOf('{"cis": [', 'json'))
      .toMatchObject({ field: '', message: expect.stringMatching(/^not valid JSON: /) });
    const yaml = errorOf('cis:\n  - id: a\n    id: b\n', 'yaml');
    expect(yaml.field).toBe('');
    expect(yaml.message).toMatch(/^not valid YAML: .*\(line 3, column 5\)$/);
  });

  test('YAML errors point at the field in the file', () => {
    const text = 'cis:\n  - id: a\n    type: host\nrelations:\n  - from: a\n    type: runs_on\n    to: db-9\n';
    const err = errorOf(text, 'yaml');
    expect(err.message).toBe('relations[0].to: no CI "db-9" (line 7, column 9)');
    expect(err.position).toEqual({ line: 7, column: 9 });
  });

  test('YAML alias bombs are refused', () => {
    const ten = (ref: string) => `[${Array(10).fill(ref).join(',')}]`;
    const bomb = [`a: &a ${ten('x')}`, `b: &b ${ten('*a')}`, `c: &c ${ten('*b')}`, `d: &d ${ten('*c')}`]
      .concat(`cis: ${ten('*d')}`).join('\n');
    expect(errorOf(bomb, 'yaml')).toMatchObject({ field: '', message: expect.stringMatching(/^not valid YAML: .*alias/) });
  });

  test('the format follows the file name', () => {
    expect(formatOfFile('/etc/quell/cmdb.json')).toBe('json');
    expect(formatOfFile('/etc/quell/cmdb.yaml')).toBe('yaml');
    expect(formatOfFile('/etc/quell/cmdb')).toBe('yaml');
  });

  test('deploy/cmdb.example.yaml is valid and its root causes read right', () => {
    const { doc } = parseCmdb(readFileSync(resolve(__dirname, '../../deploy/cmdb.example.yaml'), 'utf8'), 'yaml');
    const t = Topology.build(doc);
    expect(t.bind({ instance: 'db-1.fra1.example.com:9100' })?.ci.id).toBe('db-1');
    expect(t.rootCause(['storefront', 'checkout', 'orders-db'])?.root.id).toBe('orders-db');
    expect(t.rootCause(['web-1', 'web-2', 'db-1', 'tor-a1'])?.root.id).toBe('tor-a1');
  });
});
