/**
 * How an alert finds its CI. Alert labels are hostile input: values are only looked up in
 * maps, never parsed as patterns or evaluated.
 */
export interface BindingOptions {
  /**
   * Alert labels tried in order; the first whose value names an existing CI wins. A value
   * names a CI as it is, or else with its port (or URL scheme and path) stripped:
   * `web-1:9100`, `[2001:db8::1]:9100` and `https://web-1/health` all name `web-1` / `2001:db8::1`.
   * @defaultValue ['ci', 'instance', 'host', 'service']
   */
  readonly bindLabels?: readonly string[];
  /**
   * CI labels whose values name the CI too, besides its id (CMDBs often key CIs by an opaque
   * id and keep the host name in an attribute). An id always wins over such a name, and a
   * name that several CIs share names none of them.
   * @defaultValue ['hostname', 'fqdn']
   */
  readonly aliasLabels?: readonly string[];
}

export const DEFAULT_BIND_LABELS: readonly string[] = ['ci', 'instance', 'host', 'service'];
export const DEFAULT_ALIAS_LABELS: readonly string[] = ['hostname', 'fqdn'];

const BRACKETED = /^\[([^\]]+)\](?::\d{1,5})?$/;
const HOST_PORT = /^([^:]+):\d{1,5}$/;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The host part of `host:port`, `[v6]:port`, `[v6]` or a URL; any other value as it is
 * (a bare host, a bare IPv6 address such as `::1`, a service name).
 */
export function hostOf(value: string): string {
  if (URL_LIKE.test(value)) {
    try {
      const host = new URL(value).hostname;
      if (host === '') return value;
      return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    } catch {
      return value;
    }
  }
  const bracketed = BRACKETED.exec(value);
  if (bracketed) return bracketed[1] as string;
  const hostPort = HOST_PORT.exec(value);
  return hostPort ? (hostPort[1] as string) : value;
}
