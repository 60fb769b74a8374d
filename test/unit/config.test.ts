import { ConfigError, loadConfig, redacted } from '../../src/config';
import { nearest } from '../../src/domain/edit-distance';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('defaults give the embedded mode', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ QUELL_PORT: 9280, QUELL_RULES_DIR: './rules', QUELL_WORKER_CONCURRENCY: 32 });
  expect(c.QUELL_MAX_CLOCK_SKEW_SECONDS).toBe(3600);
  expect(c.REDIS_URL).toBeUndefined();
  expect(c.DATABASE_URL).toBeUndefined();
});

test('a bad value names the variable', () => {
  expect(() => loadConfig({ QUELL_PORT: 'eighty' })).toThrow(ConfigError);
  expect(() => loadConfig({ QUELL_PORT: 'eighty' })).toThrow(/^QUELL_PORT: /);
  expect(() => loadConfig({ QUELL_INGEST_TOKEN: 'short' })).toThrow(/QUELL_INGEST_TOKEN: shorter than 16 characters; generate one with `openssl rand -hex 24`/);
});

test('a config file sets values; the environment wins', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'quell-config-')), 'quell.yaml');
  writeFileSync(file, 'QUELL_PORT: 9999\nQUELL_LOG_LEVEL: debug\n');
  expect(loadConfig({ QUELL_CONFIG: file, QUELL_LOG_LEVEL: 'warn' }))
    .toMatchObject({ QUELL_PORT: 9999, QUELL_LOG_LEVEL: 'warn' });
});

test('secrets are masked for logs', () => {
  const shown = JSON.stringify(redacted(loadConfig({ QUELL_INGEST_TOKEN: 'super-secret-token-123', DATABASE_URL: 'postgres://u:pw@h/db' })));
  expect(shown).not.toContain('super-secret');
  expect(shown).not.toContain('pw@');
});

test('CMDB binding settings are lists of label names', () => {
  expect(loadConfig({})).toMatchObject({
    QUELL_CMDB_BIND_LABELS: ['ci', 'instance', 'host', 'service'], QUELL_CMDB_ALIAS_LABELS: ['hostname', 'fqdn'],
  });
  expect(loadConfig({ QUELL_CMDB_BIND_LABELS: 'ci, node ,pod', QUELL_CMDB_ALIAS_LABELS: '' }))
    .toMatchObject({ QUELL_CMDB_BIND_LABELS: ['ci', 'node', 'pod'], QUELL_CMDB_ALIAS_LABELS: [] });
  expect(() => loadConfig({ QUELL_CMDB_BIND_LABELS: 'ci,in-stance' }))
    .toThrow(/^QUELL_CMDB_BIND_LABELS\.1: expected comma-separated label names/);
  const file = join(mkdtempSync(join(tmpdir(), 'quell-config-')), 'quell.yaml');
  writeFileSync(file, 'QUELL_CMDB_BIND_LABELS: [ci, instance]\n');
  expect(loadConfig({ QUELL_CONFIG: file }).QUELL_CMDB_BIND_LABELS).toEqual(['ci', 'instance']);
});

test('the nearest known key is suggested for a typo, none for a stranger', () => {
  const names = ['QUELL_PORT', 'QUELL_HOST', 'QUELL_WORKER_CONCURRENCY'];
  expect(nearest('QUELL_PROT', names)).toBe('QUELL_PORT');
  expect(nearest('quell_worker_concurency', names)).toBe('QUELL_WORKER_CONCURRENCY');
  expect(nearest('LISTEN_ADDRESS', names)).toBeUndefined();
});

test('URLs are masked to their host in what is printed', () => {
  const shown = redacted(loadConfig({ REDIS_URL: 'redis://:hunter2@cache:6379', DATABASE_URL: 'postgres://quell:pw@db:5432/quell' }));
  expect(shown).toMatchObject({ REDIS_URL: 'redis://:***@cache:6379', DATABASE_URL: 'postgres://quell:***@db:5432/quell' });
});
