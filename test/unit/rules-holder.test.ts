import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';
import { RuleFileError } from '../../src/rules/rule-loader';
import { RULE_KINDS } from '../../src/rules/rule-kinds';
import { RulesHolder, type RulesHolderOptions } from '../../src/rules/rules-holder';
import { waitFor } from '../support/wait';

const HEADER = 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n';
const VALID = `${HEADER}  - name: first\n    matchers: ['alertname="A"']\n`;

let dir: string;
let registry: Registry;
let logs: Record<string, unknown>[];
const holders: RulesHolder[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quell-reload-'));
  writeFileSync(join(dir, 'rules.yaml'), VALID);
  registry = new Registry();
  logs = [];
});
afterEach(() => {
  for (const h of holders.splice(0)) h.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(opts: Partial<RulesHolderOptions> = {}): Promise<RulesHolder> {
  const stream = new Writable({
    write(chunk, _enc, done) { logs.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); },
  });
  const holder = await RulesHolder.open({ dir, registry, log: pino({ level: 'debug' }, stream), ...opts });
  holders.push(holder);
  return holder;
}

const ruleNames = (h: RulesHolder) => h.current().get(correlationRulesKind).rules.map((r) => r.name);
const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
const value = async (name: string) => (await metric(name))[0]?.value;

describe('rules holder', () => {
  test('a valid change is put in force by the file watch, without a restart', async () => {
    const holder = await open({ debounceMs: 50 });
    holder.watch();
    const before = holder.current();
    writeFileSync(join(dir, 'rules.yaml'), `${VALID}  - name: second\n`);
    await waitFor(async () => ruleNames(holder).length === 2, 5000, 'the new rule in force');
    expect(ruleNames(holder)).toEqual(['first', 'second']);
    expect(before.get(correlationRulesKind).rules).toHaveLength(1); // the old bundle is untouched
    expect(await value('quell_rules_reloads_total')).toBe(1);
    expect(await metric('quell_rules_loaded'))
      .toEqual(expect.arrayContaining([expect.objectContaining({ labels: { kind: 'CorrelationRules' }, value: 2 })]));
    expect(await metric('quell_rules_version_info'))
      .toEqual([expect.objectContaining({ labels: { hash: holder.current().version }, value: 1 })]);
    const reloaded = logs.find((l) => l['msg'] === 'rules reloaded');
    expect(reloaded).toMatchObject({
      trigger: 'watch', version: holder.current().version, previous: before.version,
      rules: expect.objectContaining({ CorrelationRules: 2 }),
    });
  });

  test('an invalid change keeps the rules in force, logs file:line:column and counts one failure', async () => {
    const holder = await open({ debounceMs: 50 });
    holder.watch();
    const before = holder.current();
    writeFileSync(join(dir, 'rules.yaml'), `${VALID}  - name: second\n    group_window: soon\n`);
    await waitFor(async () => (await value('quell_rules_reload_failures_total')) === 1, 5000, 'the failure counted');
    expect(holder.current()).toBe(before);
    expect(await value('quell_rules_last_reload_successful')).toBe(0);
    const failed = logs.find((l) => l['msg'] === 'rules reload failed; the rules in force stay');
    expect(failed).toMatchObject({ level: 50, trigger: 'watch', version: before.version });
    expect(failed!['errors'])
      .toEqual([`${join(dir, 'rules.yaml')}:7:19: rules.1.group_window: expected a duration such as 30s, 5m, 1h30m`]);

    // More events on the same broken files are not new failures; fixing them is a reload.
    utimesSync(join(dir, 'rules.yaml'), new Date(), new Date());
    await new Promise((r) => setTimeout(r, 300));
    expect(await value('quell_rules_reload_failures_total')).toBe(1);
    writeFileSync(join(dir, 'rules.yaml'), `${VALID}  - name: fixed\n`);
    await waitFor(async () => ruleNames(holder).includes('fixed'), 5000, 'the fixed rules in force');
    expect(await value('quell_rules_last_reload_successful')).toBe(1);
  });

  test('SIGHUP (an explicit reload) reloads, and reports a failure each time it is asked', async () => {
    const holder = await open();
    expect(await holder.reload('SIGHUP')).toEqual({ status: 'unchanged', version: holder.current().version });
    writeFileSync(join(dir, 'other.yaml'), `${HEADER}  - name: other\n`);
    expect(await holder.reload('SIGHUP')).toMatchObject({ status: 'reloaded' });
    expect(ruleNames(holder)).toEqual(['other', 'first']); // other.yaml sorts before rules.yaml
    writeFileSync(join(dir, 'other.yaml'), 'kind: Nope\n');
    const failed = await holder.reload('SIGHUP');
    const known = RULE_KINDS.map((k) => k.kind).join(', ');
    const unknown = `${join(dir, 'other.yaml')}:1:7: kind: unknown kind "Nope"; known kinds: ${known}`;
    expect(failed).toEqual({ status: 'failed', errors: [unknown] });
    expect((await holder.reload('SIGHUP')).status).toBe('failed');
    expect(await value('quell_rules_reload_failures_total')).toBe(2);
    expect(ruleNames(holder)).toEqual(['other', 'first']);
  });

  test('the periodic check finds a change that no file event announced', async () => {
    // The watcher's debounce is longer than the test: only the periodic check can reload in time.
    const holder = await open({ debounceMs: 60_000, pollMs: 100 });
    holder.watch();
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(join(dir, 'rules.yaml'), `${VALID}  - name: polled\n`);
    await waitFor(async () => ruleNames(holder).includes('polled'), 5000, 'the change found by the periodic check');
    expect(logs.find((l) => l['msg'] === 'rules reloaded')).toMatchObject({ trigger: 'poll' });
  });

  test('a directory that disappears is a failed reload; the rules in force stay', async () => {
    const holder = await open();
    rmSync(dir, { recursive: true, force: true });
    expect(await holder.reload('SIGHUP'))
      .toEqual({ status: 'failed', errors: [`rules directory ${dir} (QUELL_RULES_DIR): ENOENT`] });
    expect(ruleNames(holder)).toEqual(['first']);
  });

  test('invalid files at start-up stop it with every error', async () => {
    const text = `${HEADER}  - name: a\n    impact: huge\n  - name: b\n    group_window: soon\n`;
    writeFileSync(join(dir, 'rules.yaml'), text);
    await expect(open()).rejects.toThrow(RuleFileError);
    await expect(open()).rejects
      .toThrow(/rules\.yaml:5:13: rules\.0\.impact: .*\n.*rules\.yaml:7:19: rules\.1\.group_window/);
  });
});
