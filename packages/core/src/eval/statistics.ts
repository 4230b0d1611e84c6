// Uncertainty for every figure: a seeded percentile bootstrap over items (the same seed gives the
// same interval), paired differences on the same items, and the exact McNemar test.
import type { Estimate } from "@reviewtune/contracts";

/** mulberry32: small, fast and deterministic; statistical quality is ample for resampling. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapOptions {
  samples?: number;
  seed?: number;
}

export const DEFAULT_BOOTSTRAP = { samples: 1000, seed: 17 } as const;

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/**
 * `statistic` over all n items, with the 2.5% and 97.5% percentiles of the statistic over
 * resamples of the items (drawn with replacement). Resamples where the statistic is undefined
 * (null: e.g. no item of a class drawn) are left out of the percentiles.
 */
export function bootstrap(n: number, statistic: (indices: readonly number[]) => number | null, options: BootstrapOptions = {}): Estimate {
  const all = Array.from({ length: n }, (_, index) => index);
  const value = n === 0 ? null : statistic(all);
  if (value === null) return { value: null, low: null, high: null, n };
  const random = seededRandom(options.seed ?? DEFAULT_BOOTSTRAP.seed);
  const values: number[] = [];
  const indices = new Array<number>(n);
  for (let sample = 0; sample < (options.samples ?? DEFAULT_BOOTSTRAP.samples); sample += 1) {
    for (let index = 0; index < n; index += 1) indices[index] = Math.floor(random() * n);
    const result = statistic(indices);
    if (result !== null && Number.isFinite(result)) values.push(result);
  }
  values.sort((a, b) => a - b);
  return { value, low: values.length ? quantile(values, 0.025) : null, high: values.length ? quantile(values, 0.975) : null, n };
}

/** Mean of per-item values, with its bootstrap interval. */
export function meanEstimate(values: readonly number[], options: BootstrapOptions = {}): Estimate {
  return bootstrap(values.length, (indices) => indices.reduce((sum, index) => sum + values[index]!, 0) / indices.length, options);
}

/** Two-sided exact McNemar p-value from the discordant counts (b: only a right, c: only b right). */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // Binomial(n, 1/2) lower tail in log space, so large n does not underflow.
  const logChoose = (m: number, r: number) => logFactorial(m) - logFactorial(r) - logFactorial(m - r);
  let tail = 0;
  for (let i = 0; i <= k; i += 1) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

function logFactorial(m: number): number {
  let sum = 0;
  for (let i = 2; i <= m; i += 1) sum += Math.log(i);
  return sum;
}

/** p50/p95 and friends of raw values (no interval: latency is reported as measured). */
export function percentile(values: readonly number[], q: number): number {
  return quantile([...values].sort((a, b) => a - b), q);
}
