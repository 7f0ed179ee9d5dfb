/** Checks shared by every protocol's `aggregateShares`. */
import { HeError, HeErrorCode } from '../errors.ts';

/**
 * Throws unless `shares` is a non-empty array.
 *
 * @throws {HeError} `HE_ERR_PROTOCOL`.
 */
export function assertShares<T>(shares: readonly T[], what: string): void {
  if (!Array.isArray(shares)) throw new TypeError(`${what} must be an array`);
  if (shares.length === 0) throw new HeError(HeErrorCode.PROTOCOL, `cannot aggregate ${what}: no shares`);
}
