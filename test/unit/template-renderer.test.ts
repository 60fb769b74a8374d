import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePathTemplate, parseTemplate, renderTemplate, TemplateSyntaxError } from '../../src/domain/text-template';
import { StepError } from '../../src/runbooks/runbook-action';
import { createSecretStore } from '../../src/runbooks/secret-store';
import { createTemplateRenderer, parseRunbookTemplate } from '../../src/runbooks/template-renderer';

const t = parseRunbookTemplate;
const scope = {
  labels: {
    instance: 'web-1:8080', note: "{{ secret.TOKEN }} $(id) `id`", path: '../../admin?x=1#f',
    dash: '--output=/etc/passwd', nl: 'a\r\nX-Evil: 1',
  },
  alert: { alertname: 'WebDown' },
  ci: { id: 'ci-7', type: 'service' },
  incident: { id: 42, title: 'Web down', priority: 2, status: 'open', root_cause: null },
  steps: { repair: { status: 204, body: 'fixed', ok: true } },
};
const secrets = createSecretStore({ env: { QUELL_SECRET_TOKEN: 's3cr"et', QUELL_SECRET_HOOK: 'https://hooks.example/T1/B2' } });

describe('path templates', () => {
  test('dotted paths parse into parts; title templates still name one label', () => {
    expect(parsePathTemplate('x {{ steps.repair.status }} y'))
      .toEqual(['x ', { path: ['steps', 'repair', 'status'] }, ' y']);
    expect(parseTemplate('{{ instance }}!')).toEqual([{ path: ['instance'] }, '!']);
    expect(renderTemplate(parseTemplate('{{ instance }}'), { instance: 'a' })).toBe('a');
    expect(() => parseTemplate('{{ a.b }}')).toThrow(/one label/);
  });

  test.each([
    '{{ process.env }}', '{{ labels }}', '{{ steps.x }}', '{{ incident.constructor }}', '{{ secret.a-b }}',
    '{{ labels.a b }}', '{{ labels[0] }}', '{{ a', '{{ labels.x | upper }}',
  ])(
    '%s is refused at load time', (text) => {
      expect(() => t(text)).toThrow(TemplateSyntaxError);
    });
});

describe('the run renderer', () => {
  const r = createTemplateRenderer(scope, secrets);

  test('text: values as they are, never parsed again; missing values are ""', () => {
    expect(r.text(t('{{ labels.note }}|{{ labels.missing }}|{{ labels.constructor }}|{{ steps.repair.status }}'
      + '|{{ steps.nope.x }}|{{ incident.root_cause }}|{{ ci.id }}')))
      .toBe("{{ secret.TOKEN }} $(id) `id`|||204|||ci-7");
  });

  test('url: a value fills a host in the authority, is percent-encoded elsewhere', () => {
    expect(r.url(t('http://{{ labels.instance }}/x/{{ labels.path }}?q={{ labels.note }}')))
      .toBe(`http://web-1:8080/x/${encodeURIComponent('../../admin?x=1#f')}?q=${encodeURIComponent("{{ secret.TOKEN }} $(id) `id`")}`);
    expect(() => r.url(t('http://{{ labels.path }}/'))).toThrow(/not a host name/);
    expect(() => r.url(t('{{ labels.instance }}/x'))).toThrow(/scheme/);
    expect(r.url(t('{{ secret.HOOK }}'))).toBe('https://hooks.example/T1/B2');
  });

  test('arg: one argument; a value may not begin it with "-"', () => {
    expect(r.arg(t('--target={{ labels.dash }}'))).toBe('--target=--output=/etc/passwd');
    expect(() => r.arg(t('{{ labels.dash }}'))).toThrow(StepError);
    expect(r.arg(t('{{ labels.note }}'))).toBe("{{ secret.TOKEN }} $(id) `id`");
  });

  test('header: CR/LF refused', () => {
    expect(r.header(t('Bearer {{ secret.TOKEN }}'))).toBe('Bearer s3cr"et');
    expect(() => r.header(t('x {{ labels.nl }}'))).toThrow(/CR, LF/);
  });

  test('mask: every secret value rendered, in its JSON and URL forms', () => {
    const m = createTemplateRenderer(scope, secrets);
    expect(m.mask('s3cr"et')).toBe('s3cr"et'); // not rendered yet: nothing to mask
    m.text(t('{{ secret.TOKEN }}'));
    expect(m.mask(`a s3cr"et b ${JSON.stringify('s3cr"et')} ${encodeURIComponent('s3cr"et')}`))
      .toBe('a *** b "***" ***');
  });

  test('a secret that is not set is a StepError, not ""', () => {
    expect(() => r.text(t('{{ secret.NOPE }}'))).toThrow(/secret NOPE is not set/);
  });
});

describe('secret store', () => {
  test('environment first, then the file (trailing newline dropped); names cannot leave the directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quell-secrets-'));
    writeFileSync(join(dir, 'JIRA'), 'from-file\n');
    writeFileSync(join(dir, 'BOTH'), 'file');
    const store = createSecretStore({ env: { QUELL_SECRET_BOTH: 'env' }, dir });
    expect(store.get('JIRA')).toBe('from-file');
    expect(store.get('BOTH')).toBe('env');
    expect(store.get('MISSING')).toBeUndefined();
    expect(store.get('../etc/passwd')).toBeUndefined();
  });
});
