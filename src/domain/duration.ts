const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** A Prometheus duration: `30s`, `5m`, `1h30m`, `2d` (schemas check it, editors show it). */
export const DURATION_PATTERN = /^(\d+(ms|s|m|h|d|w))+$/;

/** Parses a Prometheus duration (`30s`, `5m`, `1h30m`, `2d`) into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_PATTERN.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(n) * (UNIT_MS[unit as string] as number);
  return total;
}
