import type { Migration } from 'kysely';
import * as waivers from './2026_11_23_0400_policies_waivers.ts';
import * as decisions from './2026_11_23_0401_policies_decisions.ts';
import * as decisionReceipt from './2026_12_01_0402_policies_decision_receipt.ts';
import * as waiverLedger from './2026_12_02_0403_policies_waiver_ledger.ts';
import * as waiverRequestLapses from './2026_12_04_0404_policies_waiver_request_lapses.ts';
import * as waiverRevocation from './2026_12_04_0405_policies_waiver_revocation.ts';
import * as rejectionEntries from './2026_12_04_0406_policies_rejection_entries.ts';
import * as waiverVersion from './2026_12_05_0407_policies_waiver_version.ts';
import * as activationEntries from './2026_12_05_0408_policies_activation_entries.ts';
import * as decisionIdempotency from './2026_12_06_0409_policies_decision_idempotency.ts';

/**
 * The policy module's tables (waivers, recorded decisions and their idempotency keys, recorded refusals and
 * activations), for the server's one migration set.
 */
export const policyMigrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_23_0400_policies_waivers': waivers,
  '2026_11_23_0401_policies_decisions': decisions,
  '2026_12_01_0402_policies_decision_receipt': decisionReceipt,
  '2026_12_02_0403_policies_waiver_ledger': waiverLedger,
  '2026_12_04_0404_policies_waiver_request_lapses': waiverRequestLapses,
  '2026_12_04_0405_policies_waiver_revocation': waiverRevocation,
  '2026_12_04_0406_policies_rejection_entries': rejectionEntries,
  '2026_12_05_0407_policies_waiver_version': waiverVersion,
  '2026_12_05_0408_policies_activation_entries': activationEntries,
  '2026_12_06_0409_policies_decision_idempotency': decisionIdempotency,
});
