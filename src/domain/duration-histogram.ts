/**
 * Durations (times to acknowledge and resolve) kept as counts per log-scale bucket, so that
 * percentiles over a year of incidents are read from a few thousand counts, not a million rows
 * (the reports' daily roll-up stores these counts; see src/reports/incident-stats.ts).
 *
 * Bucket 0 holds durations under a second; bucket i >= 1 holds [γ^(i-1), γ^i) seconds, with
 * γ = 1.0408. A percentile is read as its bucket's estimate 2γ^i / (γ + 1), which is within
 * {@link RELATIVE_ERROR} (2 %) of the true value (the DDSketch construction), at any scale:
 * 30 s ± 0.6 s, 8 h ± 10 min. Ten years of seconds take about 490 buckets.
 *
 * The SQL side computes the same bucket ({@link bucketSql}); both must agree.
 */
export const RELATIVE_ERROR = 0.02;
export const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LN_GAMMA = Math.log(GAMMA);

/** The bucket of a duration in seconds (negative ones, from clock skew, count as 0). */
export function bucketOf(seconds: number): number {
  return seconds < 1 ? 0 : Math.floor(Math.log(seconds) / LN_GAMMA) + 1;
}

/** A bucket's representative value, in seconds. */
export function bucketValue(bucket: number): number {
  return bucket <= 0 ? 0 : (2 * GAMMA ** bucket) / (GAMMA + 1);
}

/** The SQL expression of {@link bucketOf} over a duration in seconds (a `float8` expression). */
export function bucketSql(secondsExpr: string): string {
  return `(case when ${secondsExpr} < 1 then 0 else floor(ln(${secondsExpr}) / ${LN_GAMMA})::int + 1 end)`;
}

/** Counts per bucket. */
export type Histogram = ReadonlyMap<number, number>;

/**
 * The `p`-th percentile (0 < p <= 1) by nearest rank: the smallest value with at least p of all
 * values at or below it, as its bucket's value rounded to the second; null for no values.
 */
export function percentile(histogram: Histogram, p: number): number | null {
  let total = 0;
  for (const n of histogram.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket) as number;
    if (seen >= rank) return Math.round(bucketValue(bucket));
  }
  throw new Error('unreachable: the rank is within the total');
}

/** Adds `n` to a bucket of a histogram being built. */
export function addTo(histogram: Map<number, number>, bucket: number, n: number): void {
  histogram.set(bucket, (histogram.get(bucket) ?? 0) + n);
}
