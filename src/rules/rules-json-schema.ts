import { z } from 'zod';
import type { AnyRuleKind } from './rule-kind';

/**
 * A JSON Schema (draft-07, what editors' YAML plugins read) of rule documents of `kinds`, made
 * from the very zod schemas the loader checks documents with: each document must name a known
 * `kind` and `apiVersion`, and the body is checked with that version's schema (an if/then per
 * kind and version, so an editor reports the field at fault, not "matches none of 3 schemas").
 * Checks zod cannot express (an RE2 matcher compiling, unique rule names) remain the loader's:
 * run `quell rules lint`. Pure.
 */
export function rulesJsonSchema(kinds: readonly AnyRuleKind[], title: string) {
  const branches: Record<string, unknown>[] = [];
  for (const kind of kinds) {
    for (const [apiVersion, body] of Object.entries(kind.versions)) {
      if (!(body instanceof z.ZodObject)) throw new Error(`${kind.kind} ${apiVersion}: the schema is not an object`);
      const doc = body.extend({ apiVersion: z.literal(apiVersion), kind: z.literal(kind.kind) });
      const { $schema: _, ...schema } = z.toJSONSchema(doc, { io: 'input', target: 'draft-07' });
      branches.push({
        if: {
          properties: { kind: { const: kind.kind }, apiVersion: { const: apiVersion } },
          required: ['kind', 'apiVersion'],
        },
        then: schema,
      });
    }
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title,
    type: 'object',
    required: ['apiVersion', 'kind'],
    properties: {
      apiVersion: { enum: [...new Set(kinds.flatMap((k) => Object.keys(k.versions)))] },
      kind: { enum: kinds.map((k) => k.kind) },
    },
    allOf: branches,
  };
}
