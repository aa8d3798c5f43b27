import { canonicalJson } from './canonical.ts';
import { hashReport, reportGeneratedEntry, type ReportGeneratedEntry } from './integrity.ts';
import type { PdfRenderer } from './pdf.ts';
import { renderHtml } from './render-html.ts';
import type { ReportInput } from './types.ts';

export interface GeneratedReport {
  readonly pdf: Uint8Array;
  /** The RFC 8785 form of the input: store it beside the PDF; its sha256 is the entry's `data_sha256`. */
  readonly data_json: string;
  /** To append to the region's ledger. */
  readonly entry: ReportGeneratedEntry;
}

/**
 * Input → HTML → PDF → hashes → `report.generated` entry. All or nothing: a failing template or print throws
 * a ReportError before any bytes or entry exist, so a caller that stores only what this returns stores nothing.
 */
export async function generateReport(input: ReportInput, renderer: PdfRenderer): Promise<GeneratedReport> {
  const html = await renderHtml(input);
  const pdf = await renderer.render(html);
  const data_json = canonicalJson(input);
  return { pdf, data_json, entry: reportGeneratedEntry(input, hashReport(pdf, data_json)) };
}
