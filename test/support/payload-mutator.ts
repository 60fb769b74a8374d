import type { SeededRandom } from '../quality/seeded-random';

/**
 * Mutates JSON payloads the way hostile or broken senders do, deterministically from a seeded
 * generator: fields dropped, wrong types, nulls, huge strings, odd unicode (NUL and lone
 * surrogates included), deep nesting, duplicated elements and duplicate keys, odd numbers and
 * times, prototype-ish keys. `toJsonText` writes the result, nesting included, without
 * recursing as deep as the nesting (JSON.stringify would overflow the stack).
 */

/** A value wrapped in `depth` arrays (or objects), written without deep recursion. */
class Deep {
  constructor(readonly depth: number, readonly kind: 'array' | 'object', readonly inner: unknown) {}
}
/** Keys an object repeats in its JSON text (the last one wins in JSON.parse). */
const DUPLICATES = Symbol('duplicates');

type Json = unknown;
type Container = Record<string | symbol, unknown> | unknown[];

const ODD_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\udfffy', '😀🔥', '\u202eevil', 'e\u0301\u0301\u0301', '\uffff',
  'null', 'true', '0', '-1', 'NaN', '__proto__', 'constructor', '{{ secret.X }}', '$(rm -rf /)', '<script>',
  '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2026-13-45T25:61:61Z', '2026-11-25T08:41:13.383+0000',
  '1970-01-01T00:00:00Z', '2999-01-01T00:00:00Z', 'yesterday', 'ALARM', 'OK', 'firing', 'resolved', 'trigger',
];
const ODD_NUMBERS = [0, -0, -1, 1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, -1e308, 5e-324];

export function oddValue(r: SeededRandom): Json {
  switch (r.int(0, 8)) {
    case 0: return null;
    case 1: return r.pick(ODD_NUMBERS);
    case 2: return r.chance(0.5);
    case 3: return r.pick(ODD_STRINGS);
    case 4: return 'x'.repeat(r.pick([256, 1025, 4097, 16_385, 70_000]));
    case 5: return [];
    case 6: return {};
    case 7: return [r.pick(ODD_STRINGS), null, 1];
    default: return { a: r.pick(ODD_STRINGS), '': null };
  }
}

/** Every container in the value, with the path to it (for a random pick). */
function containers(root: Json): Container[] {
  const out: Container[] = [];
  const stack: Json[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || v instanceof Deep) continue;
    out.push(v as Container);
    for (const child of Object.values(v)) stack.push(child);
  }
  return out;
}

/** A value as text; an object whose own `toString` a mutation replaced by data has none. */
function textOf(v: unknown): string {
  try { return String(v); } catch { return '[object]'; }
}

/** One random change somewhere in `root` (which it changes); returns the new root. */
export function mutateOnce(root: Json, r: SeededRandom): Json {
  const all = containers(root);
  if (all.length === 0 || r.chance(0.03)) return oddValue(r); // the whole body replaced
  const c = r.pick(all);
  const keys = Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c);
  // Defined, not assigned: `__proto__` becomes a key, as JSON.parse makes it, not the prototype.
  const set = (k: string | number, v: unknown): void => {
    Object.defineProperty(c, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  if (keys.length === 0) { set(Array.isArray(c) ? 0 : r.pick(ODD_STRINGS), oddValue(r)); return root; }
  const k = r.pick<string | number>(keys);
  const current = (c as Record<string | number, unknown>)[k];
  switch (r.int(0, 9)) {
    case 0: case 1: // drop the field / element
      if (Array.isArray(c)) c.splice(k as number, 1); else Reflect.deleteProperty(c, k);
      break;
    case 2: case 3: set(k, oddValue(r)); break; // wrong type, null, odd text, huge string
    case 4: set(k, new Deep(r.pick([3, 40, 1000, 30_000]), r.chance(0.5) ? 'array' : 'object', current)); break;
    case 5: // duplicates: an element many times, or a key twice in the text
      if (Array.isArray(c)) c.push(...Array.from({ length: r.int(1, 60) }, () => structuredClone(current)));
      else (c as Record<symbol, unknown>)[DUPLICATES] = [[k, oddValue(r)]];
      break;
    case 6: set(k, typeof current === 'string' ? current + r.pick(ODD_STRINGS) : textOf(current)); break;
    case 7: set(k, typeof current === 'number' ? r.pick(ODD_NUMBERS) : r.pick(ODD_NUMBERS)); break;
    case 8: if (!Array.isArray(c)) set(r.pick(['__proto__', 'constructor', 'toString', '']), oddValue(r)); break;
    default: // a list where a value was, or shorter
      set(k, Array.isArray(current) ? current.slice(0, r.int(0, 1)) : [current]); break;
  }
  return root;
}

/** A mutated copy of `seed`: one to four changes. */
export function mutate(seed: Json, r: SeededRandom): Json {
  let v = structuredClone(seed);
  for (let n = r.int(1, 4); n > 0; n--) v = mutateOnce(v, r);
  return v;
}

/** JSON text of a (mutated) value: Deep written iteratively, duplicate keys repeated. */
export function toJsonText(value: Json): string {
  if (value instanceof Deep) {
    const [open, close] = value.kind === 'array' ? ['[', ']'] : ['{"d":', '}'];
    return open.repeat(value.depth) + toJsonText(value.inner) + close.repeat(value.depth);
  }
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    return text ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`);
  for (const [k, v] of ((value as Record<symbol, unknown>)[DUPLICATES] as [string, unknown][] | undefined) ?? []) {
    entries.push(`${JSON.stringify(k)}:${toJsonText(v)}`);
  }
  return `{${entries.join(',')}}`;
}
