import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzHarness } from '../../test/support/fuzz-harness';
import { toJsonText } from '../../test/support/payload-mutator';
import { startSnsSigner } from '../../test/support/sns-signer';
import { createCloudwatchConnector } from './index';

/**
 * Fuzzing CloudWatch: every mutated message is signed (after the mutation) by a local stand-in
 * for SNS, so mutations reach the schema and the pipeline instead of all stopping at the
 * signature; the alarm inside `Message` is mutated as a structure, then written back as text.
 */
export async function fuzzHarness(): Promise<FuzzHarness> {
  const sns = await startSnsSigner(1024);
  const now = new Date().toISOString();
  const seeds = ['alarm.json', 'ok.json', 'insufficient-data.json', 'subscription-confirmation.json'].map((name) => {
    const m = JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')) as Record<string, unknown>;
    const message = m['Type'] === 'Notification' ? JSON.parse(m['Message'] as string) as unknown : m['Message'];
    const subscribe = m['SubscribeURL'] !== undefined ? { SubscribeURL: sns.subscribeUrl } : {};
    return { ...m, ...subscribe, Message: message, Timestamp: now, SigningCertURL: sns.certUrl };
  });
  return {
    connector: createCloudwatchConnector({ snsHost: sns.hostPattern, fetch: sns.fetch }),
    env: { QUELL_CONNECTOR_CLOUDWATCH_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:111122223333:cloudwatch-alarms' },
    seeds,
    request(payload): ReturnType<FuzzHarness['request']> {
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        return { body: toJsonText(payload), headers: {} };
      }
      const m = { ...payload as Record<string, unknown> };
      if (m['Message'] !== undefined && typeof m['Message'] !== 'string') m['Message'] = toJsonText(m['Message']);
      return { body: toJsonText(sns.signAsIs(m)), headers: { 'content-type': 'text/plain; charset=UTF-8' } };
    },
    close: () => sns.close(),
  };
}
