import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RULE_KINDS } from '../src/rules/rule-kinds';
import { rulesJsonSchema } from '../src/rules/rules-json-schema';
import { ruleTestsKind } from '../src/tooling/rule-tests-kind';

/** Where the editors' schemas are kept (committed: editors read them from the repository). */
export function schemaDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'rules/schema');
}

/** Every schema file and its content; test/unit/rules-json-schema.test.ts checks the committed ones equal these. */
export function schemaFiles(): Record<string, string> {
  const text = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;
  return {
    'quell-rules.schema.json': text(rulesJsonSchema(RULE_KINDS, 'Quell rule file')),
    'quell-rule-tests.schema.json': text(rulesJsonSchema([ruleTestsKind], 'Quell rule test file (quell rules test)')),
  };
}

if (require.main === module) {
  for (const [name, content] of Object.entries(schemaFiles())) {
    writeFileSync(join(schemaDir(), name), content);
    process.stdout.write(`wrote rules/schema/${name}\n`);
  }
}
