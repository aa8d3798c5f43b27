// Integer helpers for tree sizes. Sizes and indexes are JS numbers; bitwise operators would truncate them to
// 32 bits, so everything here is plain arithmetic and valid up to Number.MAX_SAFE_INTEGER.

export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** k = the largest power of two strictly smaller than n (n >= 2), and log2 k. RFC 6962 §2.1's split point. */
export function splitPoint(n: number): { k: number; level: number } {
  let k = 1;
  let level = 0;
  while (k * 2 < n) {
    k *= 2;
    level++;
  }
  return { k, level };
}

export function pow2(level: number): number {
  return 2 ** level;
}
