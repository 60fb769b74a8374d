import { z } from 'zod';
import { RELATION_TYPES, RELATION_TYPE_NAMES, type CmdbDocument, type RelationType } from '../domain/cmdb';

/**
 * Limits of a CMDB document. Every process holds the topology in memory, so its size is
 * bounded; a byte limit is in UTF-8 bytes.
 */
export const CMDB_LIMITS = {
  cis: 500_000,
  relations: 2_000_000,
  idBytes: 255,
  typeBytes: 64,
  labelsPerCi: 64,
  labelNameBytes: 128,
  labelValueBytes: 1024,
  labelBytesPerCi: 16 * 1024,
} as const;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
/** Cheap first: a string of n UTF-16 units is at most 3n bytes. */
const over = (s: string, limit: number): boolean => s.length * 3 > limit && bytes(s) > limit;

/**
 * A string checked by one function returning the problem, if any. One check per string
 * rather than a chain of refinements: validating 100,000 CIs stays a fraction of a second.
 */
const checked = (problem: (s: string) => string | undefined) => z.string().superRefine((s, ctx) => {
  const p = problem(s);
  if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
});

const ID = /^[^\s\p{Cc}]+$/u;
/** A CI id: 1 to 255 bytes without whitespace or control characters (ids appear in paths and messages). */
const ciId = checked((s) => (s === '' ? 'expected a CI id'
  : !ID.test(s) ? 'expected no whitespace or control characters'
    : over(s, CMDB_LIMITS.idBytes) ? `expected at most ${CMDB_LIMITS.idBytes} bytes` : undefined));

const TYPE = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;
const ciType = checked((s) => (!TYPE.test(s) ? 'expected a type name such as host, switch, k8s.pod'
  : over(s, CMDB_LIMITS.typeBytes) ? `expected at most ${CMDB_LIMITS.typeBytes} bytes` : undefined));

/** Prometheus label names; `__` prefixes are reserved, as in Prometheus. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** JSON.parse keeps a `__proto__` key as an own property, which a plain object would then drop unseen. */
const noProtoKey = (v: unknown, ctx: z.RefinementCtx): unknown => {
  if (typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'expected a label name, not __proto__', path: ['__proto__'] });
  }
  return v;
};

const labels = z.preprocess(noProtoKey, z.record(z.string(), z.string()).superRefine((ls, ctx) => {
  const fail = (message: string, name?: string): void => {
    ctx.addIssue({ code: 'custom', message, path: name === undefined ? [] : [name] });
  };
  const names = Object.keys(ls);
  if (names.length > CMDB_LIMITS.labelsPerCi) {
    fail(`expected at most ${CMDB_LIMITS.labelsPerCi} labels, got ${names.length}`);
    return;
  }
  let total = 0;
  for (const name of names) {
    const value = ls[name] as string;
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      fail('expected a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)', name);
      return;
    }
    if (over(name, CMDB_LIMITS.labelNameBytes)) {
      fail(`expected a label name of at most ${CMDB_LIMITS.labelNameBytes} bytes`, name);
      return;
    }
    if (over(value, CMDB_LIMITS.labelValueBytes)) {
      fail(`expected at most ${CMDB_LIMITS.labelValueBytes} bytes`, name);
      return;
    }
    total += bytes(name) + bytes(value);
  }
  if (total > CMDB_LIMITS.labelBytesPerCi) {
    fail(`expected at most ${CMDB_LIMITS.labelBytesPerCi} bytes of label names and values, got ${total}`);
  }
}));

const ci = z.strictObject({
  id: ciId,
  /** Free-form kind of CI, e.g. host, switch, service. */
  type: ciType,
  /** @defaultValue {} */
  labels: labels.default({}),
});

const relation = z.strictObject({
  from: ciId,
  type: z.enum(RELATION_TYPE_NAMES as [RelationType, ...RelationType[]]),
  to: ciId,
});

/**
 * The CMDB document, JSON or YAML:
 *
 * @example
 * cis:
 *   - { id: sw-1, type: switch }
 *   - { id: web-1, type: host, labels: { owner: team-web, environment: prod } }
 *   - { id: checkout, type: service, labels: { assignment_group: payments } }
 * relations:
 *   - { from: web-1, type: connected_to, to: sw-1 }
 *   - { from: checkout, type: runs_on, to: web-1 }
 *
 * Besides the shapes, the whole document must hold together: CI ids are unique, every
 * relation names CIs of the document at both ends and two different ones, and no relation
 * is stated twice (`connected_to` either way round is the same relation). The first problem
 * is reported with its field, e.g. `relations[3].to: no CI "db-9"`. A `meta` object (what
 * `GET /api/v1/cmdb` adds) is ignored, so what GET returns can be PUT back.
 */
export const cmdbDocumentSchema = z.strictObject({
  cis: z.array(ci).max(CMDB_LIMITS.cis),
  relations: z.array(relation).max(CMDB_LIMITS.relations).default([]),
  meta: z.unknown().optional(),
}).superRefine((doc, ctx) => {
  const fail = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  const ids = new Map<string, number>();
  for (const [i, { id }] of doc.cis.entries()) {
    const first = ids.get(id);
    if (first !== undefined) {
      fail(['cis', i, 'id'], `duplicate CI id ${JSON.stringify(id)} (also cis[${first}])`);
      return;
    }
    ids.set(id, i);
  }
  const seen = new Map<string, number>();
  for (const [i, r] of doc.relations.entries()) {
    if (!ids.has(r.from)) { fail(['relations', i, 'from'], `no CI ${JSON.stringify(r.from)}`); return; }
    if (!ids.has(r.to)) { fail(['relations', i, 'to'], `no CI ${JSON.stringify(r.to)}`); return; }
    if (r.from === r.to) {
      fail(['relations', i, 'to'], `a CI cannot relate to itself (${JSON.stringify(r.to)})`);
      return;
    }
    const symmetric = RELATION_TYPES[r.type] === 'symmetric';
    const [a, b] = symmetric && r.to < r.from ? [r.to, r.from] : [r.from, r.to];
    const key = `${a}\n${r.type}\n${b}`;
    const first = seen.get(key);
    if (first !== undefined) { fail(['relations', i], `the same relation as relations[${first}]`); return; }
    seen.set(key, i);
  }
}).transform((doc): CmdbDocument => ({ cis: doc.cis, relations: doc.relations }));
