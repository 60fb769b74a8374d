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

/** Milliseconds as a Prometheus duration, to the second, largest units first: `1h5m`, `45s`, `0s`. */
export function formatDuration(ms: number): string {
  let rest = Math.floor(Math.max(0, ms) / 1000);
  let out = '';
  for (const [unit, secs] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / secs);
    if (n > 0) { out += `${n}${unit}`; rest -= n * secs; }
  }
  return out === '' ? '0s' : out;
}
