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
  /** Largest compression ratio of one zip entry before it is called a bomb. */
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

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function worstSeverity(findings: Finding[]): Severity | null {
  let worst: Severity | null = null;
  for (const f of findings) if (worst === null || RANK[f.severity] > RANK[worst]) worst = f.severity;
  return worst;
}
