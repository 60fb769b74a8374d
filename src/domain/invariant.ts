/**
 * Reads that an invariant says cannot miss (an index taken from the same structure, a key set
 * just before): instead of a silent `!`, a miss throws an error naming what was expected, so a
 * broken invariant fails where it breaks. `what` is a fixed string (no cost on the hot path).
 */
export function itemAt<T>(items: ArrayLike<T>, index: number, what: string): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`${what}: no item at index ${index} (of ${items.length})`);
  return item;
}

/** `value`, which the caller's invariant says is defined (see itemAt). */
export function expectDefined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what}: missing (a broken invariant)`);
  return value;
}
