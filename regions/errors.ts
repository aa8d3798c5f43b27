export type RegionErrorCode = 'REGION_CONFIG_INVALID' | 'REGION_UNKNOWN';

/** A region folder that cannot be loaded, or a region id nobody configured. */
export class RegionError extends Error {
  override readonly name = 'RegionError';
  readonly code: RegionErrorCode;

  constructor(code: RegionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
