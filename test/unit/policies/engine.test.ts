import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildInputDocument,
  entrypointOf,
  hashInput,
  isStage,
  normalizeDecision,
  resolveOpaBinary,
} from '../../../policies/index.ts';

const violation = (rule: string) => ({
  rule,
  title: 't',
  regulation: [],
  severity: 'high',
  message: 'm',
  evidence_keys: [],
});

describe('normalizeDecision', () => {
  it('sorts the sets Rego returns so equal decisions are byte-identical', () => {
    const a = normalizeDecision({
      allow: false,
      deny: [violation('B'), violation('A')],
      warn: [],
      obligations: [],
      waived: [],
    });
    const b = normalizeDecision({
      allow: false,
      deny: [violation('A'), violation('B')],
      warn: [],
      obligations: [],
      waived: [],
    });
    expect(a).toEqual(b);
    expect(a!.deny.map((v) => v.rule)).toEqual(['A', 'B']);
  });

  it('refuses what is not a decision document', () => {
    expect(() => normalizeDecision(undefined)).toThrow(/returned no decision document/);
    expect(() => normalizeDecision({ deny: [] })).toThrow(/allow: /);
    expect(() => normalizeDecision({ allow: false, deny: 'SEC-FINDING' })).toThrow(/deny: /);
    expect(() => normalizeDecision({ allow: false, warn: [{ message: 'm' }] })).toThrow(/warn\.0\.rule: /);
    expect(() => normalizeDecision({ allow: false, waived: [violation('A')] })).toThrow(
      /waived\.0\.waiver_id: /,
    );
    expect(() => normalizeDecision({ allow: false, reasons: [] })).toThrow(/reasons/);
    expect(normalizeDecision({ allow: true })).toEqual({
      allow: true,
      deny: [],
      warn: [],
      obligations: [],
      waived: [],
    });
  });

  it('refuses an allow that an unwaived denial contradicts', () => {
    expect(() => normalizeDecision({ allow: true, deny: [violation('A')] })).toThrow(
      /allow: allow is true while deny lists unwaived denials/,
    );
    expect(normalizeDecision({ allow: false, deny: [violation('A')] }).allow).toBe(false);
  });
});

describe('buildInputDocument and hashInput', () => {
  const parts = {
    stage: 'deployment' as const,
    region: 'eu',
    now: new Date('2026-11-23T12:00:00+01:00'),
    subject: { model: 'm', version: '1' },
    evidence: { b: 1, a: 2 },
  };

  it('gives policies a UTC clock and empty defaults', () => {
    expect(buildInputDocument(parts)).toEqual({
      event: { stage: 'deployment', region: 'eu', now: '2026-11-23T11:00:00.000Z' },
      subject: { model: 'm', version: '1' },
      evidence: { b: 1, a: 2 },
      model_card: {},
      context: {},
      waivers: [],
      region: { id: 'eu' },
    });
  });

  it('hashes the RFC 8785 form, so key order does not matter', () => {
    const reordered = { ...parts, evidence: { a: 2, b: 1 } };
    expect(hashInput(buildInputDocument(parts))).toBe(hashInput(buildInputDocument(reordered)));
    expect(hashInput({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
    expect(hashInput(buildInputDocument(parts))).not.toBe(
      hashInput(buildInputDocument({ ...parts, region: 'us' })),
    );
  });
});

describe('stages', () => {
  it('maps each stage to its entrypoint', () => {
    expect(entrypointOf('monitoring')).toBe('arbiter/monitoring/decision');
    expect(isStage('training')).toBe(true);
    expect(isStage('retirement')).toBe(false);
  });
});

describe('resolveOpaBinary', () => {
  it('prefers an explicit path, then ARBITER_OPA, then the pinned .tools/bin/opa', () => {
    expect(resolveOpaBinary('/x/opa', { ARBITER_OPA: '/y/opa' })).toBe('/x/opa');
    expect(resolveOpaBinary(undefined, { ARBITER_OPA: '/y/opa' })).toBe('/y/opa');
    expect(resolveOpaBinary(undefined, {})).toBe(
      path.resolve(import.meta.dirname, '../../../.tools/bin/opa'),
    );
  });
});
