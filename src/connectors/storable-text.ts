import { itemAt } from '../domain/invariant';

/**
 * Where in a parsed JSON body a string holds what PostgreSQL cannot store: the NUL character
 * or a lone UTF-16 surrogate (JSON allows both as `\u` escapes). Such a request is refused
 * whole at the edge, naming the field, rather than accepted and then failing in a worker.
 * Returns the path (`alerts[0].labels.x`) of the first one, or undefined.
 *
 * The walk keeps its own stack, so any nesting JSON.parse accepts (it is not recursive either)
 * is walked in memory bounded by the body, and builds a path only for the one it reports.
 */
export function findUnstorableText(body: unknown): string | undefined {
  if (typeof body === 'string') return unstorable(body) ? '(body)' : undefined;
  const stack: Frame[] = [];
  const enter = (value: unknown): boolean => {
    if (typeof value === 'string') return unstorable(value);
    if (Array.isArray(value)) stack.push({ value, keys: undefined, next: 0 });
    else if (value !== null && typeof value === 'object') stack.push({ value, keys: Object.keys(value), next: 0 });
    return false;
  };
  enter(body);
  while (stack.length > 0) {
    const top = itemAt(stack, stack.length - 1, 'the innermost frame');
    const at = top.next++;
    if (top.keys === undefined) {
      const array = top.value as readonly unknown[];
      if (at >= array.length) stack.pop();
      else if (enter(array[at])) return pathOf(stack);
    } else {
      if (at >= top.keys.length) { stack.pop(); continue; }
      const key = itemAt(top.keys, at, 'the next key');
      if (unstorable(key) || enter((top.value as Record<string, unknown>)[key])) return pathOf(stack);
    }
  }
  return undefined;
}

/** An array or object being walked; `next` is the index of the element (or key) after the current one. */
interface Frame {
  readonly value: object;
  readonly keys: readonly string[] | undefined;
  next: number;
}

/** The path to the current element of the innermost frame. */
function pathOf(stack: readonly Frame[]): string {
  let path = '';
  for (const frame of stack) {
    const at = frame.next - 1;
    if (frame.keys === undefined) path += `[${at}]`;
    else {
      const key = itemAt(frame.keys, at, 'the current key');
      path += path ? `.${key}` : key;
    }
  }
  return path;
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
