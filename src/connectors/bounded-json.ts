import { expectDefined } from '../domain/invariant';

/**
 * A JSON value as text of at most `maxChars` characters, or undefined when it nests deeper
 * than `maxDepth` (JSON.stringify recurses: a body nested 100,000 deep would overflow the
 * stack). The depth walk keeps its own stack. For free-form fields a connector keeps as an
 * annotation (PagerDuty's `custom_details`).
 */
export function boundedJson(value: unknown, maxDepth: number, maxChars: number): string | undefined {
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  while (stack.length > 0) {
    const { v, d } = expectDefined(stack.pop(), 'boundedJson: the top of a non-empty stack');
    if (v === null || typeof v !== 'object') continue;
    if (d >= maxDepth) return undefined;
    for (const child of Object.values(v)) stack.push({ v: child, d: d + 1 });
  }
  const text = typeof value === 'string' ? value : (JSON.stringify(value) as string | undefined) ?? '';
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}
