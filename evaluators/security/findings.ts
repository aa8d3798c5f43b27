export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  /** Where in the file (an entry name, a tensor, a byte offset). */
  location?: string;
}

export interface ScanLimits {
  /** Largest file read at all. */
  maxBytes: number;
  /** Largest total a compressed container may expand to. */
  maxUncompressedBytes: number;
  /** Largest compression ratio of a compressed stream (a zip entry, a gzip pickle) before it is called a bomb. */
  maxCompressionRatio: number;
  maxZipEntries: number;
  /** Largest tensor (in bytes) a shape may claim. */
  maxTensorBytes: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxBytes: 2 * 1024 ** 3,
  maxUncompressedBytes: 4 * 1024 ** 3,
  maxCompressionRatio: 200,
  maxZipEntries: 10_000,
  maxTensorBytes: 4 * 1024 ** 3,
};

/** Below this an expansion is too small to matter, whatever its ratio (a small pickle of zeros reaches 1000×). */
const SMALL_EXPANSION_BYTES = 1024 ** 2;

/**
 * The most one compressed stream of compressedBytes is read out to. A bomb is a matter of ratio, not size: a
 * joblib file of 500 MB expanding 4× is an ordinary large model, a 255 KB one expanding 1000× to 256 MB is an
 * attack, and an absolute cap low enough to stop the second cheaply would refuse the first. So the cap is
 * maxCompressionRatio times the compressed size (deflate itself tops out near 1030×), within the caller's
 * maxBytes and maxUncompressedBytes: the memory a stream costs, and the opcode walk over what it expands to, stay
 * proportional to the bytes on disk.
 */
export function expansionCap(compressedBytes: number, limits: ScanLimits): number {
  return Math.min(
    limits.maxBytes,
    limits.maxUncompressedBytes,
    Math.max(SMALL_EXPANSION_BYTES, compressedBytes * limits.maxCompressionRatio),
  );
}

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function worstSeverity(findings: Finding[]): Severity | null {
  let worst: Severity | null = null;
  for (const f of findings) if (worst === null || RANK[f.severity] > RANK[worst]) worst = f.severity;
  return worst;
}
