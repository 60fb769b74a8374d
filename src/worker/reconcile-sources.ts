import { ConfigError, type Config } from '../config';
import type { Connector } from '../connectors/connector';
import { pollTarget } from '../connectors/poll-target';
import type { ReconcileSource } from './reconcile';

/**
 * The sources to reconcile: each connector with a `poll` hook whose URL is set. Read from
 * QUELL_RECONCILE_<ID>_URL / _TOKEN for now; they move to the connector's own settings schema
 * once connectors have one.
 */
export function reconcileSourcesOf(config: Config, connectors: readonly Connector[]): ReconcileSource[] {
  const targets: Readonly<Record<string, { url: string | undefined; token: string | undefined }>> = {
    alertmanager: { url: config.QUELL_RECONCILE_ALERTMANAGER_URL, token: config.QUELL_RECONCILE_ALERTMANAGER_TOKEN },
    grafana: { url: config.QUELL_RECONCILE_GRAFANA_URL, token: config.QUELL_RECONCILE_GRAFANA_TOKEN },
    zabbix: { url: config.QUELL_RECONCILE_ZABBIX_URL, token: config.QUELL_RECONCILE_ZABBIX_TOKEN },
  };
  const out: ReconcileSource[] = [];
  for (const connector of connectors) {
    const t = Object.hasOwn(targets, connector.id) ? targets[connector.id] : undefined;
    if (t?.url === undefined) continue;
    if (connector.poll === undefined) {
      throw new ConfigError(`QUELL_RECONCILE_${connector.id.toUpperCase()}_URL: the ${connector.id} connector `
        + 'cannot be reconciled yet (no poll: its API does not answer the identity its webhook alerts are '
        + 'fingerprinted by); unset it');
    }
    out.push({ connector, target: pollTarget({ url: t.url, token: t.token }) });
  }
  return out;
}
