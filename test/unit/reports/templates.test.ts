import { describe, expect, it } from 'vitest';
import { listTemplates } from '../../../reports/index.ts';

describe('listTemplates', () => {
  it('lists the templates issue 6 names, each ending with the verification appendix', () => {
    const templates = listTemplates();
    expect(templates.map((t) => t.id)).toEqual([
      'eu/ai-act-pmm-quarterly',
      'eu/ai-act-annex-iv',
      'us-nyc/ll144-bias-audit',
      'us/adverse-impact-quarterly',
      'uk/atrs-record',
      'ca/aia-summary',
      'sg/ai-verify-summary',
      'governance-quarterly',
    ]);
    for (const t of templates) {
      expect(t.sections.at(-1)?.id).toBe('verification');
      expect(new Set(t.sections.map((s) => s.id)).size).toBe(t.sections.length);
    }
  });
});
