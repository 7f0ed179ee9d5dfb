/**
 * RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing with SHA-256: leaves and interior
 * nodes carry distinct one-byte prefixes (0x00, 0x01) so that no leaf can be
 * passed off as a node (second-preimage resistance of the tree).
 */
import { createHash } from 'node:crypto';
import { assertBytes } from '../assert.ts';

/**
 * Bytes of a SHA-256 digest, the size of every hash in the log.
 *
 * @example
 * ```ts
 * assertBytes(root, 'root', HASH_SIZE);
 * ```
 */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * The hash of the empty tree, `MTH({}) = SHA-256()` (RFC 9162 §2.1.1); a
 * fresh copy on every call.
 *
 * @throws never
 * @example
 * ```ts
 * Buffer.from(emptyRoot()).toString('hex'); // 'e3b0c442…b855'
 * ```
 */
export function emptyRoot(): Uint8Array {
  return sha256();
}

/**
 * SHA-256 over the concatenation of `parts`.
 *
 * @throws never for byte arrays
 * @example
 * ```ts
 * const d = sha256(new TextEncoder().encode('abc'));
 * ```
 */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * The leaf hash `SHA-256(0x00 ‖ data)` of one log entry (RFC 9162 §2.1.1).
 *
 * @throws {TypeError} `data` is not a `Uint8Array`
 * @example
 * ```ts
 * const leaf = hashLeaf(new Uint8Array(0)); // 6e340b9c…a01d
 * ```
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return sha256(LEAF_PREFIX, data);
}

/**
 * The interior node hash `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 §2.1.1).
 *
 * @throws {TypeError} an argument is not a `Uint8Array`
 * @example
 * ```ts
 * const node = hashChildren(hashLeaf(a), hashLeaf(b));
 * ```
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes(left, 'left');
  assertBytes(right, 'right');
  return sha256(NODE_PREFIX, left, right);
}

/**
 * The Merkle Tree Hash `MTH(D[n])` of a list of leaf hashes, computed
 * recursively exactly as RFC 9162 §2.1.1 defines it. Meant as an independent
 * reference (tests, small trees), not for large logs.
 *
 * @throws {TypeError} `leafHashes` is not an array of `Uint8Array`
 * @example
 * ```ts
 * const root = rootOfLeafHashes(entries.map(hashLeaf));
 * ```
 */
export function rootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(leafHashes)) throw new TypeError('leafHashes must be an array');
  const mth = (lo: number, hi: number): Uint8Array => {
    const n = hi - lo;
    if (n === 0) return emptyRoot();
    if (n === 1) {
      const leaf = leafHashes[lo];
      assertBytes(leaf, `leafHashes[${lo}]`);
      return leaf;
    }
    const k = largestPowerOfTwoBelow(n);
    return hashChildren(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

/**
 * The largest power of two strictly less than `n` (`n > 1`), the split point
 * `k` of RFC 9162 §2.1.1. Safe for every safe integer (no 32-bit bit tricks).
 *
 * @throws {RangeError} `n < 2`
 * @example
 * ```ts
 * largestPowerOfTwoBelow(7); // 4
 * ```
 */
export function largestPowerOfTwoBelow(n: number): number {
  if (!(n > 1)) throw new RangeError(`n must be > 1, got ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
