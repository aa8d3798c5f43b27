// Imports nothing, so that the CLI can check a key before sending it without loading the policy engine.

/** An Idempotency-Key: 1 to 255 printable ASCII characters (a structured-field string's, RFC 8941 §3.3.3). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
