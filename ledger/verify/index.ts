export { verifyBundle } from './verify-bundle.ts';
export type {
  VerificationCheck,
  VerificationFailure,
  VerificationReport,
  VerifyBundleOptions,
} from './verify-bundle.ts';
