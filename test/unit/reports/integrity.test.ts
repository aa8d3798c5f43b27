import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  hashReport,
  ReportError,
  reportGeneratedEntry,
  verifyReportFile,
} from '../../../reports/index.ts';
import { makeReportInput } from './fixture.ts';

describe('report integrity', () => {
  const input = makeReportInput({ template: 'governance-quarterly' });
  const pdf = new TextEncoder().encode('%PDF-1.7 fake bytes');

  it('hashes the PDF bytes and the RFC 8785 form of the data', () => {
    const h = hashReport(pdf, input);
    expect(h.pdf_sha256).toMatch(/^[0-9a-f]{64}$/);
    // Key order does not matter: the canonical form sorts keys.
    const reordered = Object.fromEntries(Object.entries(input).reverse()) as typeof input;
    expect(hashReport(pdf, reordered).data_sha256).toBe(h.data_sha256);
    expect(hashReport(pdf, canonicalJson(input))).toEqual(h);
  });

  it('builds the report.generated entry and verifies a file against it', () => {
    const entry = reportGeneratedEntry(input, hashReport(pdf, input));
    expect(entry).toEqual({
      type: 'report.generated',
      region: 'us-nyc',
      template: 'governance-quarterly',
      period: '2026-Q3',
      pdf_sha256: hashReport(pdf, input).pdf_sha256,
      data_sha256: hashReport(pdf, input).data_sha256,
      generated_at: '2026-10-01T10:00:00.000Z',
    });
    expect(() => verifyReportFile(pdf, entry)).not.toThrow();
    const tampered = new Uint8Array(pdf);
    tampered[3] ^= 1;
    expect(() => verifyReportFile(tampered, entry)).toThrow(ReportError);
    try {
      verifyReportFile(tampered, entry);
    } catch (err) {
      expect((err as ReportError).code).toBe('REPORT_HASH_MISMATCH');
    }
  });
});
