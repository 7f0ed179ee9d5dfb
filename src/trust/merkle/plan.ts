/**
 * Which subtree hashes make up an RFC 9162 proof. A proof is a list of
 * Merkle Tree Hashes of leaf ranges `[lo, hi)`; this file computes the ranges
 * (no hashing, no storage), and how a range splits into complete, aligned
 * subtrees — the nodes a log stores.
 */
import { largestPowerOfTwoBelow } from './hash.ts';

/** A half-open range of leaf indices `[lo, hi)` whose Merkle Tree Hash is one proof element. */
export interface LeafRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * A complete subtree of `2^level` leaves starting at leaf `index * 2^level`;
 * the unit a log stores. Level 0 is a leaf hash.
 */
export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

/**
 * The ranges of the audit path `PATH(m, D[n])` of RFC 9162 §2.1.3.1, in proof
 * order (leaf side first). Requires `0 ≤ index < size` (checked by the caller).
 *
 * @throws never for valid sizes
 * @example
 * ```ts
 * inclusionRanges(0, 7); // [[1,2), [2,4), [4,7)] → proof [b, i, l] of C2SP merkle-tree
 * ```
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
    }
  }
  return out.reverse();
}

/**
 * The ranges of the consistency proof `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)`
 * of RFC 9162 §2.1.4.1, in proof order. Requires `0 < m < n`.
 *
 * @throws never for valid sizes
 * @example
 * ```ts
 * consistencyRanges(4, 7); // [[4,7)] → proof [l]
 * ```
 */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = n;
  let whole = true; // the `b` flag of SUBPROOF: still on the left spine of the old tree
  for (;;) {
    if (m === hi) {
      if (!whole) out.push({ lo, hi });
      break;
    }
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m <= lo + k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
      whole = false;
    }
  }
  return out.reverse();
}

/**
 * Splits a proof range into the complete aligned subtrees it consists of,
 * largest first. For every range produced by {@link inclusionRanges} and
 * {@link consistencyRanges} the Merkle Tree Hash of the range is the right fold
 * `H(n0, H(n1, … nk))` of these nodes' hashes.
 *
 * @throws {RangeError} the range is empty or not of the shape proofs produce
 * @example
 * ```ts
 * rangeNodes({ lo: 4, hi: 7 }); // [{level 1, index 2}, {level 0, index 6}]
 * ```
 */
export function rangeNodes(range: LeafRange): NodeKey[] {
  const { lo, hi } = range;
  if (!(lo < hi)) throw new RangeError(`range [${lo}, ${hi}) is empty`);
  const out: NodeKey[] = [];
  let at = lo;
  let previous = Infinity;
  while (at < hi) {
    let width = 1;
    while (at % (width * 2) === 0 && at + width * 2 <= hi) width *= 2;
    if (width >= previous) throw new RangeError(`range [${lo}, ${hi}) is not a right-edge subtree`);
    out.push({ level: Math.log2(width), index: at / width });
    previous = width;
    at += width;
  }
  return out;
}

/**
 * The complete subtrees of the binary decomposition of a tree of `size`
 * leaves, largest (leftmost) first: the frontier from which the next leaves
 * are appended and whose right fold is the root.
 *
 * @throws never for valid sizes
 * @example
 * ```ts
 * frontierNodes(7); // [{2,0}, {1,2}, {0,6}]
 * ```
 */
export function frontierNodes(size: number): NodeKey[] {
  return size === 0 ? [] : rangeNodes({ lo: 0, hi: size });
}
