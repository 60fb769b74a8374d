import { createHash } from 'node:crypto';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { CmdbDocument } from '../domain/cmdb';
import { fieldPath } from '../domain/field-path';
import { itemAt } from '../domain/invariant';
import { offsetOf } from '../yaml-offset';
import { cmdbDocumentSchema } from './cmdb-schema';

export type CmdbFormat = 'json' | 'yaml';

/**
 * A CMDB document that cannot be loaded: `field` names what is wrong (`relations[3].to`, or
 * '' when the text does not parse), and for YAML the line and column. Not retryable: fix the
 * document. The topology in force stays.
 */
export class CmdbDocumentError extends Error {
  override name = 'CmdbDocumentError';
  readonly retryable = false;

  constructor(readonly field: string, readonly reason: string, readonly position?: { line: number; column: number }) {
    const where = position ? ` (line ${position.line}, column ${position.column})` : '';
    super(`${field ? `${field}: ` : ''}${reason}${where}`);
  }
}

/** A validated document and its hash (equal documents, equal hashes, JSON or YAML: see hashCmdb). */
export interface ParsedCmdb {
  readonly doc: CmdbDocument;
  readonly hash: string;
}

/** The format a file name implies: `.json` is JSON, anything else YAML (which JSON also is). */
export function formatOfFile(path: string): CmdbFormat {
  return /\.json$/i.test(path) ? 'json' : 'yaml';
}

/** Parses and validates a CMDB document; throws CmdbDocumentError naming the first problem. */
export function parseCmdb(text: string, format: CmdbFormat): ParsedCmdb {
  let value: unknown;
  let yaml: ReturnType<typeof readYaml> | undefined;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CmdbDocumentError('', `not valid JSON: ${(err as Error).message}`);
    }
  } else {
    value = jsonInYaml(text);
    if (value === undefined) {
      yaml = readYaml(text);
      value = yaml.value;
    }
  }
  const parsed = cmdbDocumentSchema.safeParse(value);
  if (!parsed.success) {
    const issue = itemAt(parsed.error.issues, 0, 'issues of a failed parse');
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const field = fieldPath(path);
    const pos = yaml ? yaml.lines.linePos(offsetOf(yaml.doc, path)) : undefined;
    throw new CmdbDocumentError(field || 'document', issue.message, pos && { line: pos.line, column: pos.col });
  }
  const doc = parsed.data;
  return { doc, hash: hashCmdb(doc) };
}

/**
 * JSON is YAML, and JSON.parse is some 20 times faster than the YAML parser on a large
 * topology: a YAML text that is a JSON object is read as JSON. Undefined when it is not.
 */
function jsonInYaml(text: string): object | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function readYaml(text: string): { value: unknown; doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  let doc: Document;
  let value: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      return fail(first.message.split('\n')[0] as string, { line: pos.line, column: pos.col });
    }
    // Aliases are expanded at most 100 times (the yaml package's guard against "billion laughs").
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof CmdbDocumentError) throw err;
    return fail((err as Error).message);
  }
  return { value, doc, lines };
}

function fail(reason: string, position?: { line: number; column: number }): never {
  throw new CmdbDocumentError('', `not valid YAML: ${reason}`, position);
}

/**
 * The sha256 of a document's canonical form: CIs and relations in document order, labels in
 * name order (PostgreSQL's jsonb reorders keys, and so would an editor: same labels, same hash).
 */
export function hashCmdb(doc: CmdbDocument): string {
  const hash = createHash('sha256');
  for (const ci of doc.cis) {
    const names = Object.keys(ci.labels).sort();
    hash.update(JSON.stringify([ci.id, ci.type, names.map((n) => [n, ci.labels[n]])]));
  }
  hash.update('\n');
  for (const r of doc.relations) hash.update(JSON.stringify([r.from, r.type, r.to]));
  return hash.digest('hex');
}
