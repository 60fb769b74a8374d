/** A validation issue's path as a reader writes it: `alerts[3].startsAt`, `cis[0].labels.owner`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '',
  );
}
