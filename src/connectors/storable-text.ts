/**
 * Where in a parsed JSON body a string holds what PostgreSQL cannot store: the NUL character
 * or a lone UTF-16 surrogate (JSON allows both as `\u` escapes). Such a request is refused
 * whole at the edge, naming the field, rather than accepted and then failing in a worker.
 * Returns the path (`alerts[0].labels.x`) of the first one, or undefined.
 */
export function findUnstorableText(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return unstorable(value) ? path || '(body)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (unstorable(key)) return at;
      const found = findUnstorableText(inner, at);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Whether a raw JSON body may hold such text. JSON can carry a NUL or a surrogate only as a
 * `\u` escape, so a body without `\u0000` or `\uD800`-`\uDFFF` escapes needs no walk.
 * (An escaped backslash before `u` gives a harmless false positive.)
 */
export function mayHoldUnstorableText(raw: Buffer): boolean {
  for (let i = raw.indexOf('\\u'); i !== -1; i = raw.indexOf('\\u', i + 2)) {
    const hex = raw.toString('latin1', i + 2, i + 6).toLowerCase();
    if (hex === '0000' || /^d[89a-f]/.test(hex)) return true;
  }
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function unstorable(s: string): boolean {
  return s.includes('\u0000') || LONE_SURROGATE.test(s);
}
