import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaDir, schemaFiles } from '../../scripts/rules-schema';
import { RULE_KINDS } from '../../src/rules/rule-kinds';
import { rulesJsonSchema } from '../../src/rules/rules-json-schema';

describe('JSON Schema for editors', () => {
  test('the committed schemas are what the rule kinds generate (run `npm run rules:schema`)', () => {
    for (const [name, content] of Object.entries(schemaFiles())) {
      expect(readFileSync(join(schemaDir(), name), 'utf8')).toBe(content);
    }
  });

  test('one branch per kind and version, from the schema the loader checks with', () => {
    const schema = rulesJsonSchema(RULE_KINDS, 'Quell rule file');
    expect(schema.properties.kind.enum).toEqual(RULE_KINDS.map((k) => k.kind));
    const branch = schema.allOf.find((b) => (b['if'] as { properties: { kind: { const: string } } })
      .properties.kind.const === 'CorrelationRules');
    const then = branch?.['then'] as { additionalProperties: boolean; required: string[]; properties: any };
    expect(then.additionalProperties).toBe(false);
    expect(then.required).toEqual(expect.arrayContaining(['apiVersion', 'kind', 'rules']));
    const rule = then.properties.rules.items;
    expect(rule.required).toEqual(['name']);
    expect(rule.properties.group_window).toMatchObject({ default: '1h', pattern: '^(\\d+(ms|s|m|h|d|w))+$' });
    expect(rule.properties.impact.enum).toEqual(['high', 'medium', 'low']);
  });
});
