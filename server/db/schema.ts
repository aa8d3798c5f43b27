import type { Generated } from 'kysely';

/** The model inventory: what Arbiter governs. Versions are content-addressed by the model file's sha256. */
export interface ModelTable {
  name: string;
  owner: string;
  intended_purpose: string;
  risk_tier: 'minimal' | 'limited' | 'high' | 'unacceptable';
  description: string | null;
  created_at: Generated<Date>;
  created_by: string;
}

export type Role = 'admin' | 'ci' | 'compliance_officer' | 'auditor';

/** Local API tokens (the embedded default's credentials). Only the secret's sha256 is stored. */
export interface ApiTokenTable {
  id: string;
  secret_sha256: string;
  role: Role;
  name: string;
  created_at: Generated<Date>;
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export interface ServerTables {
  model: ModelTable;
  api_token: ApiTokenTable;
}

/**
 * Every table Arbiter stores: the server's own and each module's. The service hands each module's store the
 * one kysely instance typed with that module's tables only.
 */
export type Database = ServerTables;
