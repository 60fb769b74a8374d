import type { Labels } from '../domain/alert';

/**
 * A label set in Prometheus's series notation, `NodeDown{cluster="eu1",instance="a:9100"}`:
 * the `alertname` before the braces, the other labels sorted by name, values quoted as JSON
 * strings. How rule tests name alerts and how their diffs print them.
 */
export function formatSeries(labels: Labels): string {
  const name = Object.hasOwn(labels, 'alertname') ? labels['alertname'] as string : '';
  const rest = Object.keys(labels).filter((k) => k !== 'alertname').sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  const bare = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
  if (name !== '' && !bare) rest.unshift(`alertname=${JSON.stringify(name)}`);
  return `${bare ? name : ''}{${rest.join(',')}}`;
}

const NAME = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{/;
const PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*")\s*(,|\})/y;

/**
 * The labels of `NodeDown{instance="a:9100"}`, `{alertname="NodeDown"}` or a bare `NodeDown`;
 * undefined when the text is not in that notation. Only `=` (a label set, not matchers).
 */
export function parseSeries(text: string): Labels | undefined {
  const bareName = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text);
  if (bareName) return { alertname: bareName[1] as string };
  const head = NAME.exec(text);
  if (!head) return undefined;
  const labels: [string, string][] = head[1] !== undefined ? [['alertname', head[1]]] : [];
  let at = head[0].length;
  if (/^\s*\}\s*$/.test(text.slice(at))) return Object.fromEntries(labels);
  for (;;) {
    PAIR.lastIndex = at;
    const m = PAIR.exec(text);
    if (!m) return undefined;
    let value: unknown;
    try { value = JSON.parse(m[2] as string); } catch { return undefined; }
    if (labels.some(([n]) => n === m[1])) return undefined;
    labels.push([m[1] as string, value as string]);
    at = PAIR.lastIndex;
    if (m[3] === '}') return /^\s*$/.test(text.slice(at)) ? Object.fromEntries(labels) : undefined;
  }
}
