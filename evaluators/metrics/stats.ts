// Numerical building blocks shared by the metric families: rates that are null when undefined, special
// functions for p-values, and a seeded random source (results must be reproducible byte for byte).

/** n / d, or null when the rate is undefined (0/0 and x/0), never 0 and never NaN. */
export function rate(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Complementary error function (Numerical Recipes erfcc, fractional error below 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const coefficients = [
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
    -0.82215223, 0.17087277,
  ];
  let poly = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) poly = coefficients[k]! + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** Two-sided p-value of a standard normal statistic. */
export function normalTwoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

function logGamma(x: number): number {
  // Lanczos coefficients of Numerical Recipes' gammln, rounded to the nearest double.
  const c = [
    76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.001208650973866179,
    -0.000005395239384953,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const coefficient of c) ser += coefficient / ++y;
  return -tmp + Math.log((2.5066282746310007 * ser) / x);
}

/** Regularized upper incomplete gamma Q(a, x) (series for x < a + 1, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const gln = logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - gln);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - gln) * h;
}

/** Survival function of the chi-square distribution. */
export function chiSquareSf(statistic: number, df: number): number {
  return gammaQ(df / 2, statistic / 2);
}

export type KsMethod = 'exact' | 'asymptotic';

/**
 * The exact distribution costs one step per cell of the (n+1) × (m+1) lattice: it is used up to this many
 * cells (3,160 values on each side, or 999 against 9,999), and the asymptotic form above, where the samples
 * are large enough for it to be close. scipy's ks_2samp goes exact up to 10,000 values on each side (10^8
 * cells); the bound here keeps each drift feature's cost to ten million steps.
 */
export const KS_EXACT_MAX_CELLS = 10_000_000;

/**
 * Two-sided p-value of the two-sample Kolmogorov–Smirnov statistic `d` of samples of n and m values, and how it
 * was found: exact for samples small enough (KS_EXACT_MAX_CELLS), where the asymptotic form is
 * anti-conservative (n = m = 10, D = 0.6: 0.031 against the exact 0.052), as scipy.stats.ks_2samp's default
 * method='auto' does; asymptotic otherwise.
 */
export function ksPValue(d: number, n: number, m: number): { p_value: number; method: KsMethod } {
  return (n + 1) * (m + 1) <= KS_EXACT_MAX_CELLS
    ? { p_value: ksExactPValue(d, n, m), method: 'exact' }
    : { p_value: ksAsymptoticPValue(d, n, m), method: 'asymptotic' };
}

/**
 * Exact two-sided p-value of the two-sample KS statistic under the null (both samples from one continuous
 * distribution): the share of the C(n+m, n) equally likely orders of the pooled values whose path from (0, 0)
 * to (n, m) touches |i/n − j/m| ≥ d. With g = gcd(n, m), the statistic is h / lcm(n, m) for an integer h
 * (rounded as scipy rounds it, so that a d a float ulp below the lattice value is not missed), and the
 * boundary is |i·(m/g) − j·(n/g)| ≥ h, in integers. The recursion carries probabilities, not path counts
 * (which overflow past n + m ≈ 1,000): the chance that a random order reaches (i, j) without touching the
 * boundary; the p-value is the sum of the chances of first touching it, with no 1 − x cancellation, so that
 * small p-values keep their digits.
 */
export function ksExactPValue(d: number, n: number, m: number): number {
  const g = gcd(n, m);
  const ng = n / g;
  const mg = m / g;
  const h = Math.round(d * ng * m);
  if (h <= 0) return 1;
  // reach[j]: the chance of reaching (i, j) inside the band, for the row i being filled.
  const reach = new Float64Array(m + 1);
  let outside = 0;
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      let p: number;
      if (i === 0 && j === 0) p = 1;
      else {
        // From (i−1, j) the next value is the first sample's with chance (n−i+1)/(n+m−i−j+1); from (i, j−1),
        // the second's with chance (m−j+1)/(n+m−i−j+1). reach[j] still holds row i−1 until overwritten.
        const left = n + m - i - j + 1;
        p =
          (i > 0 ? (reach[j]! * (n - i + 1)) / left : 0) + (j > 0 ? (reach[j - 1]! * (m - j + 1)) / left : 0);
      }
      if (Math.abs(i * mg - j * ng) >= h) {
        outside += p;
        p = 0;
      }
      reach[j] = p;
    }
  }
  return Math.min(1, outside);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Asymptotic p-value of the two-sample Kolmogorov–Smirnov statistic (Stephens' small-sample correction): the
 * Kolmogorov distribution's survival function Q(λ). Its usual alternating series converges slowly for small λ
 * (truncated, it reads near-identical samples as drifted), so below λ = 1.18 the Jacobi-theta form is used,
 * which converges fast there: Q(λ) = 1 − √(2π)/λ · Σ exp(−(2j−1)²π²/(8λ²)).
 */
export function ksAsymptoticPValue(d: number, n: number, m: number): number {
  const en = Math.sqrt((n * m) / (n + m));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  if (lambda <= 0) return 1;
  let q: number;
  if (lambda < 1.18) {
    let sum = 0;
    for (let j = 1; j <= 20; j++) {
      const term = Math.exp((-((2 * j - 1) ** 2) * Math.PI ** 2) / (8 * lambda * lambda));
      sum += term;
      if (term < 1e-17 * sum || term === 0) break;
    }
    q = 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum;
  } else {
    let sum = 0;
    for (let j = 1; j <= 100; j++) {
      const term = (j % 2 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
      sum += term;
      if (Math.abs(term) < 1e-17) break;
    }
    q = 2 * sum;
  }
  return Math.min(1, Math.max(0, q));
}

/** numpy's default ("linear") percentile of an ascending-sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const t = h - lo;
  const diff = b - a;
  // Values of opposite sign near ±1.8e308 differ by more than a double holds; weighting each end does not
  // overflow. Everywhere else numpy's _lerp, for the same bits: it interpolates from the nearer end, from b
  // when t >= 0.5, so that a drift bin edge lands where numpy's does.
  if (!Number.isFinite(diff)) return a * (1 - t) + b * t;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Present (non-NaN) values in ascending order; labels[i] (when asked for) is the label of values[i]. */
export interface SortedValues<L extends Int8Array | null = Int8Array | null> {
  values: Float64Array;
  labels: L;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
const MAX_DIGIT_BITS = 11;
// Up to this many varying bits, and with no labels to carry, values are counted rather than moved.
const MAX_COUNTING_BITS = 16;

/**
 * The present values in ascending order, each with its label when labels are given: the same array that
 * copying them and calling Float64Array#sort gives (−0 before +0), by least-significant-digit radix sort.
 * IEEE-754 doubles order as unsigned 64-bit keys once negatives have every bit flipped and positives only
 * the sign bit, and only the span of bits that differ between the values needs sorting, 11 bits a pass:
 * small integers such as ages take one pass, float32-derived scores three or four. About twice as fast as
 * the comparison sort on a million values, which was most of the metrics' time.
 */
export function sortPresent(values: ArrayLike<number>): SortedValues<null>;
export function sortPresent(values: ArrayLike<number>, labels: Int8Array): SortedValues<Int8Array>;
export function sortPresent(values: ArrayLike<number>, labels?: Int8Array): SortedValues {
  // Sized for every value and cut to the present ones after, which saves a counting pass.
  const all = new Float64Array(values.length);
  // While sorting, the words hold keys (lo, hi per value), not doubles.
  const keys = new Uint32Array(all.buffer);
  const allTags = labels ? new Int8Array(values.length) : null;
  let n = 0;
  let orLo = 0;
  let andLo = -1;
  let orHi = 0;
  let andHi = -1;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) continue;
    all[n] = x;
    let l = keys[2 * n + LO]!;
    let h = keys[2 * n + HI]!;
    if (h >>> 31) {
      h = ~h;
      l = ~l;
    } else h |= 0x80000000;
    keys[2 * n + LO] = l;
    keys[2 * n + HI] = h;
    orLo |= l;
    andLo &= l;
    orHi |= h;
    andHi &= h;
    if (allTags) allTags[n] = labels![i]!;
    n++;
  }
  const out = all.subarray(0, n);
  let tags = allTags && allTags.subarray(0, n);
  // Key bits 0–31 are lo, 32–63 hi; lowest..highest is the span of bits that are not the same in all.
  const varyLo = (orLo ^ andLo) >>> 0;
  const varyHi = (orHi ^ andHi) >>> 0;
  if (varyLo === 0 && varyHi === 0) return { values: restore(out, keys), labels: tags };
  const lowest = varyLo ? 31 - Math.clz32(varyLo & -varyLo) : 63 - Math.clz32(varyHi & -varyHi);
  const highest = varyHi ? 63 - Math.clz32(varyHi) : 31 - Math.clz32(varyLo);
  const span = highest - lowest + 1;
  if (!tags && span <= MAX_COUNTING_BITS)
    return { values: countingSort(out, keys, lowest, span, andLo, andHi), labels: null };
  const passes = Math.ceil(span / MAX_DIGIT_BITS);
  const bits = Math.ceil(span / passes);
  const starts = new Int32Array(passes << bits);
  for (let i = 0; i < n; i++) {
    const l = keys[2 * i + LO]!;
    const h = keys[2 * i + HI]!;
    for (let p = 0; p < passes; p++) starts[(p << bits) + digitOf(l, h, lowest + p * bits, bits)]!++;
  }
  let src = keys;
  let dst = new Uint32Array(2 * n);
  let tags2 = tags ? new Int8Array(n) : null;
  for (let p = 0; p < passes; p++) {
    const base = p << bits;
    const shift = lowest + p * bits;
    for (let b = base, sum = 0; b < base + (1 << bits); b++) {
      const c = starts[b]!;
      starts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const l = src[2 * i + LO]!;
      const h = src[2 * i + HI]!;
      const at = starts[base + digitOf(l, h, shift, bits)]!++;
      dst[2 * at + LO] = l;
      dst[2 * at + HI] = h;
      if (tags) tags2![at] = tags[i]!;
    }
    [src, dst, tags, tags2] = [dst, src, tags2, tags];
  }
  if (src !== keys) keys.set(src);
  return { values: restore(out, keys), labels: tags };
}

/**
 * Sorts by counting each digit value (the span of varying bits) and writing each value out as many times
 * as it occurs: a key is the bits every key shares (andLo, andHi) with the digit in the span.
 */
function countingSort(
  out: Float64Array,
  keys: Uint32Array,
  lowest: number,
  span: number,
  andLo: number,
  andHi: number,
): Float64Array {
  const counts = new Int32Array(1 << span);
  for (let i = 0; i < out.length; i++) counts[digitOf(keys[2 * i + LO]!, keys[2 * i + HI]!, lowest, span)]!++;
  const one = new Float64Array(1);
  const key = new Uint32Array(one.buffer);
  for (let d = 0, at = 0; d < counts.length; d++) {
    if (counts[d] === 0) continue;
    key[LO] = andLo | (lowest >= 32 ? 0 : d << lowest);
    key[HI] = andHi | (lowest >= 32 ? d << (lowest - 32) : (d >>> (31 - lowest)) >>> 1);
    restore(one, key);
    out.fill(one[0]!, at, at + counts[d]!);
    at += counts[d]!;
  }
  return out;
}

/** The `bits` bits of the key hi:lo from bit `shift` on (a digit may straddle the two words). */
function digitOf(lo: number, hi: number, shift: number, bits: number): number {
  const d = shift >= 32 ? hi >>> (shift - 32) : (lo >>> shift) | ((hi << (31 - shift)) << 1);
  return d & ((1 << bits) - 1);
}

/** Turns the keys in `keys` (the words of `out`, from the start) back into the doubles they were made from. */
function restore(out: Float64Array, keys: Uint32Array): Float64Array {
  for (let i = 0; i < out.length; i++) {
    const h = keys[2 * i + HI]!;
    if (h >>> 31) keys[2 * i + HI] = h & 0x7fffffff;
    else {
      keys[2 * i + HI] = ~h;
      keys[2 * i + LO] = ~keys[2 * i + LO]!;
    }
  }
  return out;
}

export type Rng = () => number;

/** sfc32 seeded through splitmix32: small, fast, and the same sequence on every platform. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

export function normal(rng: Rng): number {
  let u = rng();
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * Poisson sample: multiplication method for small means, Hörmann's PTRS (transformed rejection with
 * squeeze, 1993; as numpy's random_poisson_ptrs) above. O(1) expected time for any mean.
 */
export function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda < 10) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let product = rng();
    while (product > limit) {
      k++;
      product *= rng();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng() - 0.5;
    const v = rng();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (
      Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
      -lambda + k * loglam - logGamma(k + 1)
    )
      return k;
  }
}
