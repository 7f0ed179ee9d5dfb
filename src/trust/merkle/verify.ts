/**
 * Standalone verification of RFC 9162 inclusion (§2.1.3.2) and consistency
 * (§2.1.4.2) proofs. Pure functions over hashes: an auditor needs nothing else
 * of hedge (no storage, no keys) to run them.
 *
 * Sizes and indices are safe integers; the RFC's bit operations are done with
 * arithmetic so that trees beyond 2^32 leaves verify correctly.
 */
import { assertArray, assertBytes, assertIndex } from '../assert.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import { equalBytes } from '../bytes.ts';
import { HASH_SIZE, hashChildren } from './hash.ts';

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

function invalid(op: string, reason: string): TrustError {
  return new TrustError(TrustErrorCode.PROOF_INVALID, `cannot verify ${op}: ${reason}`);
}

function checkProofShape(proof: readonly Uint8Array[], op: string): void {
  assertArray(proof, 'proof');
  proof.forEach((p, i) => {
    assertBytes(p, `proof[${i}]`);
    if (p.length !== HASH_SIZE) throw invalid(op, `proof[${i}] is ${p.length} bytes, not ${HASH_SIZE}`);
  });
}

/**
 * Recomputes the root that an inclusion proof commits to (RFC 9162 §2.1.3.2,
 * steps 1–5 without the final comparison).
 *
 * @throws {TypeError} an argument has the wrong type
 * @throws {RangeError} `index` or `size` is negative or not a safe integer
 * @throws {TrustError} `TRUST_ERR_PROOF_INVALID`: index beyond size, wrong hash length, wrong proof length
 * @example
 * ```ts
 * const root = rootFromInclusionProof(3, 7, hashLeaf(d3), proof);
 * ```
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  assertIndex(index, 'index');
  assertIndex(size, 'size');
  assertBytes(leafHash, 'leafHash');
  checkProofShape(proof, 'inclusion');
  if (index >= size) throw invalid('inclusion', `index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw invalid('inclusion', `leaf hash is ${leafHash.length} bytes, not ${HASH_SIZE}`);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw invalid('inclusion', 'proof is longer than the path to the root');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw invalid('inclusion', 'proof is shorter than the path to the root');
  return r;
}

/**
 * Verifies that the leaf with hash `leafHash` is entry `index` of the tree of
 * `size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
 *
 * @throws {TypeError} an argument has the wrong type
 * @throws {RangeError} `index` or `size` is negative or not a safe integer
 * @throws {TrustError} `TRUST_ERR_PROOF_INVALID` when the proof does not verify
 * @example
 * ```ts
 * verifyInclusion(0, 7, hashLeaf(d0), [b, i, l], root7);
 * ```
 */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  assertBytes(root, 'root');
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalBytes(computed, root)) throw invalid('inclusion', 'computed root does not match the given root');
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree
 * of `size1` leaves with root `root1` (RFC 9162 §2.1.4.2): the log only
 * appended. A proof from the empty tree is refused as meaningless
 * (transparency-dev/merkle behaviour): start trusting from a non-empty checkpoint.
 *
 * @throws {TypeError} an argument has the wrong type
 * @throws {RangeError} a size is negative or not a safe integer
 * @throws {TrustError} `TRUST_ERR_PROOF_INVALID` when the proof does not verify
 * @example
 * ```ts
 * verifyConsistency(4, 7, [l], root4, root7);
 * ```
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  assertIndex(size1, 'size1');
  assertIndex(size2, 'size2');
  assertBytes(root1, 'root1');
  assertBytes(root2, 'root2');
  checkProofShape(proof, 'consistency');
  if (size2 < size1) throw invalid('consistency', `size2 ${size2} is below size1 ${size1}`);
  if (size1 === 0) throw invalid('consistency', 'a proof from the empty tree proves nothing');
  if (size1 === size2) {
    if (proof.length !== 0) throw invalid('consistency', 'equal sizes need an empty proof');
    if (!equalBytes(root1, root2)) throw invalid('consistency', 'equal sizes with different roots');
    return;
  }
  if (proof.length === 0) throw invalid('consistency', 'empty proof for different sizes');
  // Step 2: when size1 is a power of two the old root is itself the first node.
  let fn = size1 - 1;
  let sn = size2 - 1;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  // Step 4: skip the levels where the old tree's last leaf is a right child.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw invalid('consistency', 'proof is longer than needed');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw invalid('consistency', 'proof is shorter than needed');
  if (!equalBytes(fr, root1)) throw invalid('consistency', 'proof does not reproduce the old root');
  if (!equalBytes(sr, root2)) throw invalid('consistency', 'proof does not reproduce the new root');
}

/**
 * Whether `n` is a positive power of two (safe for every safe integer).
 *
 * @throws never
 * @example
 * ```ts
 * isPowerOfTwo(4); // true
 * ```
 */
export function isPowerOfTwo(n: number): boolean {
  if (!(n >= 1) || !Number.isInteger(n)) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
