export { DEFAULT_RPC_TIMEOUT_MS, verifyBundle } from './verify-bundle.ts';
export type {
  AnchorCheck,
  VerificationCheck,
  VerificationFailure,
  VerificationReport,
  VerifyBundleOptions,
} from './verify-bundle.ts';
