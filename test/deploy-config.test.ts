/**
 * Validates the deployment files under deploy/ and the Dockerfile with the real
 * Prometheus/Alertmanager tooling (Debian packages `prometheus` and
 * `prometheus-alertmanager`, installed by .ci/run), plus structural checks on
 * docker-compose.yml that no tool here can run (there is no Docker daemon in CI).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { configSchema, loadConfig } from '../src/config';

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(__dirname, '..');
const deployDir = path.join(repoRoot, 'deploy');
const PROMTOOL = '/usr/bin/promtool';
const AMTOOL = '/usr/bin/amtool';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary and reports its exit code instead of throwing on non-zero. */
async function run(file: string, args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { cwd: repoRoot, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message?: string };
    if (typeof e.code !== 'number') throw err; // spawn failure (ENOENT...), not an exit status
    return { code: e.code, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}${e.message ?? ''}` };
  }
}

function expectSuccess(r: RunResult): void {
  // On failure, show the tool's own diagnostics in the assertion message.
  expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') });
  expect(r.stdout).toContain('SUCCESS');
}

type Obj = Record<string, unknown>;

function asObj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a mapping`);
  return v as Obj;
}

function readYaml(file: string): Obj {
  // merge: true enables `<<: *anchor`, which docker compose supports.
  return asObj(parse(fs.readFileSync(file, 'utf8'), { merge: true }), file);
}

/** A YAML scalar, as compose values are. */
type Scalar = string | number | boolean | null;

/** Compose `command` may be a string or a list; normalise to one string. */
function commandString(v: unknown): string {
  if (Array.isArray(v)) return v.map(String).join(' ');
  const s = v as Scalar | undefined;
  return String(s ?? '');
}

describe('deploy/ config files pass the real Prometheus/Alertmanager checkers', () => {
  let tmp: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quell-deploy-'));
  });

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('promtool check config deploy/prometheus.yml', async () => {
    // rule_files names the in-container path; promtool also loads rule files,
    // so point a copy at the repo's alert-rules.yml.
    const inContainer = '/etc/prometheus/alert-rules.yml';
    const original = fs.readFileSync(path.join(deployDir, 'prometheus.yml'), 'utf8');
    expect(original).toContain(inContainer);
    const copy = path.join(tmp, 'prometheus.yml');
    fs.writeFileSync(copy, original.split(inContainer).join(path.join(deployDir, 'alert-rules.yml')));

    const r = await run(PROMTOOL, ['check', 'config', copy]);
    expectSuccess(r);
    expect(r.stdout).toMatch(/1 rule files found/);
  });

  test('promtool check rules deploy/alert-rules.yml', async () => {
    const r = await run(PROMTOOL, ['check', 'rules', path.join(deployDir, 'alert-rules.yml')]);
    expectSuccess(r);
  });

  test('alert rules fire as intended (promtool test rules)', async () => {
    const rulesTest = {
      rule_files: [path.join(deployDir, 'alert-rules.yml')],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'up{job="quell-api",instance="quell-api:9280"}', values: '0x5' },
            { series: 'up{job="quell-worker",instance="10.0.0.5:9281"}', values: '1x5' },
            { series: 'quell_queue_jobs{queue="ingest",state="waiting"}', values: '20000x10' },
            { series: 'quell_rules_last_reload_successful{job="quell-worker",instance="10.0.0.5:9281"}',
              values: '1 1 0x8' },
          ],
          alert_rule_test: [
            {
              eval_time: '2m',
              alertname: 'QuellDown',
              exp_alerts: [
                {
                  exp_labels: { severity: 'critical', service: 'quell', job: 'quell-api', instance: 'quell-api:9280' },
                  exp_annotations: {
                    summary: 'Quell target quell-api:9280 (quell-api) is down',
                    description:
                      'Prometheus has failed to scrape quell-api at quell-api:9280 for more than a minute.',
                  },
                },
              ],
            },
            { eval_time: '3m', alertname: 'QuellWorkersAbsent', exp_alerts: [] },
            { eval_time: '3m', alertname: 'QuellIngestQueueBacklog', exp_alerts: [] },
            { eval_time: '5m', alertname: 'QuellRulesReloadFailing', exp_alerts: [] },
            {
              eval_time: '8m',
              alertname: 'QuellRulesReloadFailing',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'quell', job: 'quell-worker', instance: '10.0.0.5:9281' },
                  exp_annotations: {
                    summary: 'Quell 10.0.0.5:9281 cannot load its rule files',
                    description:
                      'The rule files on disk are invalid, so 10.0.0.5:9281 runs older rules;'
                      + ' its log (and quell rules lint) names each file:line:column.',
                  },
                },
              ],
            },
            {
              eval_time: '6m',
              alertname: 'QuellIngestQueueBacklog',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', service: 'quell', queue: 'ingest', state: 'waiting' },
                  exp_annotations: {
                    summary: 'Quell ingest queue backlog: 20000 jobs waiting',
                    description:
                      'More than 10000 ingest jobs have been waiting for 5 minutes; workers are not keeping up'
                      + ' (scale quell-worker or check Redis/PostgreSQL latency).',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const file = path.join(tmp, 'alert-rules.test.yml');
    fs.writeFileSync(file, JSON.stringify(rulesTest)); // JSON is valid YAML
    const r = await run(PROMTOOL, ['test', 'rules', file]);
    expectSuccess(r);
  });

  test('amtool check-config deploy/alertmanager.yml', async () => {
    // amtool does not open credentials_file (Alertmanager reads it per request),
    // so the file as shipped is checked unmodified.
    const r = await run(AMTOOL, ['check-config', path.join(deployDir, 'alertmanager.yml')]);
    expectSuccess(r);
  });
});

describe('deploy/docker-compose.yml and Dockerfile', () => {
  const compose = readYaml(path.join(deployDir, 'docker-compose.yml'));
  const services = asObj(compose.services, 'services');
  const service = (name: string): Obj => asObj(services[name], `service ${name}`);

  test('defines the whole stack', () => {
    for (const name of ['redis', 'postgres', 'migrate', 'quell-api', 'quell-worker', 'prometheus', 'alertmanager']) {
      expect(services).toHaveProperty([name]);
    }
  });

  test('redis is durable and never evicts BullMQ keys', () => {
    const cmd = commandString(service('redis').command);
    expect(cmd).toContain('appendonly yes');
    expect(cmd).toContain('noeviction');
  });

  test('the worker runs 2 replicas and exposes metrics where Prometheus looks', () => {
    const worker = service('quell-worker');
    expect(asObj(worker.deploy, 'quell-worker.deploy').replicas).toBe(2);
    expect(commandString(worker.command)).toBe('worker');
    const env = asObj(worker.environment, 'quell-worker.environment');
    expect(String(env.QUELL_METRICS_PORT)).toBe('9281');

    const prom = readYaml(path.join(deployDir, 'prometheus.yml'));
    const jobs = prom.scrape_configs as Obj[];
    const job = jobs.find((j) => j.job_name === 'quell-worker');
    expect(job).toBeDefined();
    const sd = (job?.dns_sd_configs as Obj[] | undefined)?.[0];
    expect(sd).toMatchObject({ names: ['quell-worker'], type: 'A', port: 9281 });
  });

  test('the api requires its tokens and waits for migrations', () => {
    const api = service('quell-api');
    expect(commandString(api.command)).toBe('api');
    expect(api.ports).toContain('9280:9280');
    const env = asObj(api.environment, 'quell-api.environment');
    expect(env.QUELL_INGEST_TOKEN).toMatch(/^\$\{QUELL_INGEST_TOKEN:\?set it [^$]*\}$/);
    expect(env.QUELL_API_TOKEN).toMatch(/^\$\{QUELL_API_TOKEN:\?set it [^$]*openssl rand -hex 24\}$/);
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.DATABASE_URL).toBe('postgres://quell:quell@postgres:5432/quell');
    expect(api.volumes).toContain('../rules:/app/rules:ro');
    const deps = asObj(api.depends_on, 'quell-api.depends_on');
    expect(asObj(deps.migrate, 'migrate dep').condition).toBe('service_completed_successfully');
    expect(deps).toHaveProperty(['redis']);
  });

  test('alertmanager gets the ingest token file that alertmanager.yml reads', () => {
    const am = readYaml(path.join(deployDir, 'alertmanager.yml'));
    const receivers = am.receivers as Obj[];
    const hook = (receivers[0]?.webhook_configs as Obj[] | undefined)?.[0];
    expect(hook).toMatchObject({
      url: 'http://quell-api:9280/ingest/alertmanager',
      send_resolved: true,
      max_alerts: 0,
      http_config: { authorization: { type: 'Bearer', credentials_file: '/etc/alertmanager/ingest-token' } },
    });
    expect(service('alertmanager').volumes).toContain('./ingest-token:/etc/alertmanager/ingest-token:ro');
    // No placeholder to copy: the header says how to make a real token, which passes validation.
    const header = fs.readFileSync(path.join(deployDir, 'docker-compose.yml'), 'utf8');
    expect(header).toContain('openssl rand -hex 24 > ingest-token');
    expect(fs.existsSync(path.join(deployDir, 'ingest-token.example'))).toBe(false);
    expect(() => loadConfig({ QUELL_INGEST_TOKEN: 'a'.repeat(48) })).not.toThrow(); // what openssl rand -hex 24 prints
  });

  test('every image but Quell\'s is pinned to an exact version', () => {
    for (const [name, raw] of Object.entries(services)) {
      const given = asObj(raw, name).image as Scalar | undefined;
      const image = String(given ?? '');
      if (image === 'quell:local') continue;
      expect(`${name}: ${image}`).toMatch(/:[^:]*\d+\.\d+(\.\d+)?$/);
    }
  });

  test('one image build, shared by migrate, api and worker; no restart loop on a configuration error', () => {
    const built = Object.entries(services).filter(([, v]) => asObj(v, 'service').build !== undefined).map(([k]) => k);
    expect(built).toEqual(['migrate']);
    for (const name of ['migrate', 'quell-api', 'quell-worker']) expect(service(name).image).toBe('quell:local');
    for (const name of ['quell-api', 'quell-worker']) expect(service(name).restart).toMatch(/^on-failure:\d+$/);
  });

  test('the worker\'s healthcheck probes /healthz', () => {
    const check = asObj(service('quell-worker').healthcheck, 'quell-worker.healthcheck');
    expect(commandString(check.test)).toContain("path:'/healthz'");
  });

  test('Grafana is provisioned with Prometheus and the Quell dashboard', () => {
    const grafana = service('grafana');
    expect(grafana.volumes).toEqual(expect.arrayContaining([
      './grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro',
    ]));
    const ds = readYaml(path.join(deployDir, 'grafana/provisioning/datasources/prometheus.yml'));
    expect((ds.datasources as Obj[])[0]).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' });
    const provider = readYaml(path.join(deployDir, 'grafana/provisioning/dashboards/quell.yml'));
    expect((provider.providers as Obj[])[0]).toMatchObject({ type: 'file',
      options: { path: '/var/lib/grafana/dashboards' } });
    const dashboard = JSON.parse(fs.readFileSync(path.join(deployDir, 'grafana/dashboards/quell.json'),
      'utf8')) as { uid: string; panels: { datasource: { uid: string } }[] };
    expect(dashboard.uid).toBe('quell-overview');
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe('prometheus');
  });

  test('every Quell service uses a real command and only settings Quell knows, valid as given', () => {
    const known = new Set(Object.keys(configSchema.shape));
    for (const name of ['migrate', 'quell-api', 'quell-worker']) {
      const svc = service(name);
      const command = ([] as unknown[]).concat(svc['command'] ?? []).join(' ');
      expect(['start', 'api', 'worker', 'migrate']).toContain(command);
      const env = (svc['environment'] ?? {}) as Record<string, Scalar>;
      const quellKeys = Object.keys(env)
        .filter((k) => k.startsWith('QUELL_') || k === 'REDIS_URL' || k === 'DATABASE_URL');
      for (const key of quellKeys) {
        expect(known.has(key as keyof typeof configSchema.shape) ? key : `unknown setting ${key} in ${name}`).toBe(key);
      }
      // Values compose fills in (${...}) are left to the operator; the rest must pass the schema.
      const literal = Object.fromEntries(Object.entries(env).filter(([, v]) => !String(v).includes('${'))
        .map(([k, v]) => [k, String(v)]));
      expect(() => loadConfig(literal)).not.toThrow();
    }
  });

  test('the Dockerfile runs the cli as a non-root user', () => {
    const dockerfile = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    const finalUser = users[users.length - 1];
    expect(['root', '0', '0:0', undefined]).not.toContain(finalUser);
    expect(dockerfile).toMatch(/^ENTRYPOINT\s+\[\s*"node",\s*"\/app\/dist\/src\/cli\.js"\s*\]/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK\b[\s\S]*\/healthz/m);
    // The current Node.js LTS (24), pinned; every stage on the same one (re2's addon is built in one, run in the
    // other).
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(new Set(bases)).toEqual(new Set([expect.stringMatching(/^node:24\.\d+\.\d+-bookworm-slim$/)]));
  });
});
