import { canonicalJson, sha256Hex } from './canonical.ts';
import { ReportError } from './errors.ts';
import type { ReportInput } from './types.ts';

/** The ledger entry that records a generated report; the caller appends it to the region's log. */
export interface ReportGeneratedEntry {
  readonly type: 'report.generated';
  readonly region: string;
  readonly template: string;
  readonly period: string;
  readonly pdf_sha256: string;
  readonly data_sha256: string;
  readonly generated_at: string;
}

export interface ReportHashes {
  readonly pdf_sha256: string;
  readonly data_sha256: string;
}

/**
 * sha256 of the PDF bytes and of the report's data. `data` is the report's input (hashed in its RFC 8785
 * form) or that form already serialized as a string.
 */
export function hashReport(pdf: Uint8Array, data: ReportInput | string): ReportHashes {
  return {
    pdf_sha256: sha256Hex(pdf),
    data_sha256: sha256Hex(typeof data === 'string' ? data : canonicalJson(data)),
  };
}

/** The `report.generated` entry for a report rendered from `input` whose bytes hash to `hashes`. */
export function reportGeneratedEntry(input: ReportInput, hashes: ReportHashes): ReportGeneratedEntry {
  return {
    type: 'report.generated',
    region: input.region.id,
    template: input.template,
    period: input.period,
    pdf_sha256: hashes.pdf_sha256,
    data_sha256: hashes.data_sha256,
    generated_at: new Date(input.generated_at).toISOString(),
  };
}

/**
 * Checks that `pdf` is the report a `report.generated` entry recorded.
 * @throws ReportError `REPORT_HASH_MISMATCH` when it is not.
 */
export function verifyReportFile(
  pdf: Uint8Array,
  entry: Pick<ReportGeneratedEntry, 'type' | 'pdf_sha256'>,
): void {
  if (entry.type !== 'report.generated')
    throw new TypeError(`entry type is ${entry.type}, not report.generated`);
  const actual = sha256Hex(pdf);
  if (actual !== entry.pdf_sha256) {
    throw new ReportError(
      'REPORT_HASH_MISMATCH',
      `the PDF hashes to ${actual}, the ledger recorded ${entry.pdf_sha256}`,
    );
  }
}
