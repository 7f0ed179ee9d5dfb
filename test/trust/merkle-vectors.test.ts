/**
 * RFC 6962 / RFC 9162 proofs against the published transparency-dev/merkle
 * vectors in ../shared/vectors/rfc6962 (every inclusion and consistency case,
 * happy and corrupted) and the C2SP merkle-tree worked examples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashLeaf, hashChildren, rootOfLeafHashes, emptyRoot } from '../../src/trust/merkle/hash.ts';
import { verifyInclusion, verifyConsistency } from '../../src/trust/merkle/verify.ts';
import { inclusionRanges, consistencyRanges, rangeNodes } from '../../src/trust/merkle/plan.ts';
import { TrustError, TrustErrorCode } from '../../src/trust/errors.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vectors = path.resolve(repoRoot, '../shared/vectors/rfc6962');

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? jsonFiles(p) : name.endsWith('.json') ? [p] : [];
  });
}

/**
 * Runs `fn`; `true` when it verified, `false` when it threw a verification
 * error. Some corrupted vectors flip high bits of a uint64 index: beyond
 * Number.MAX_SAFE_INTEGER the verifier answers RangeError, which is a refusal too.
 */
function verdict(fn: () => void, numbers: number[]): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof RangeError && numbers.some((n) => !Number.isSafeInteger(n))) return false;
    assert.ok(e instanceof TrustError, `expected a TrustError, got ${String(e)}`);
    assert.equal(e.code, TrustErrorCode.PROOF_INVALID);
    return false;
  }
}

interface InclusionCase { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyCase { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

test('every rfc6962 inclusion vector gives the expected verdict', () => {
  const files = jsonFiles(path.join(vectors, 'testdata/inclusion'));
  assert.ok(files.length > 60, `found only ${files.length} inclusion vectors`);
  let happy = 0;
  for (const file of files) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
    // Go's nil slice: JSON null is an empty proof.
    const proof = (c.proof ?? []).map(b64);
    const ok = verdict(() => verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), proof, b64(c.root)), [c.leafIdx, c.treeSize]);
    assert.equal(ok, !c.wantErr, `${path.relative(vectors, file)} (${c.desc})`);
    if (ok) happy++;
  }
  assert.ok(happy >= 5, 'some happy paths must verify');
});

test('every rfc6962 consistency vector gives the expected verdict', () => {
  const files = jsonFiles(path.join(vectors, 'testdata/consistency'));
  assert.ok(files.length > 60, `found only ${files.length} consistency vectors`);
  let happy = 0;
  for (const file of files) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
    const proof = (c.proof ?? []).map(b64);
    const ok = verdict(() => verifyConsistency(c.size1, c.size2, proof, b64(c.root1), b64(c.root2)), [c.size1, c.size2]);
    assert.equal(ok, !c.wantErr, `${path.relative(vectors, file)} (${c.desc})`);
    if (ok) happy++;
  }
  assert.ok(happy >= 5, 'some happy paths must verify');
});

test('roots.json: the reference MTH over the first k leaves', () => {
  const roots = JSON.parse(readFileSync(path.join(vectors, 'roots.json'), 'utf8')) as { leafInputsHex: string[]; rootHashesHexBySize: string[] };
  const leaves = roots.leafInputsHex.map((h) => hashLeaf(new Uint8Array(Buffer.from(h, 'hex'))));
  roots.rootHashesHexBySize.forEach((want, k) => {
    assert.equal(hex(rootOfLeafHashes(leaves.slice(0, k))), want, `root of size ${k}`);
  });
  assert.equal(hex(emptyRoot()), roots.rootHashesHexBySize[0]);
});

// C2SP merkle-tree.md, the 7-leaf tree d0…d6, labelled level by level:
//              root
//           /        \
//          k          l
//        /   \      /   \
//       h     i    j     g
//      / \   / \  / \
//      a b   c d  e f
// leaves a…g are the leaf hashes of d0…d6.
test('C2SP merkle-tree worked examples (7 leaves)', () => {
  const d = Array.from({ length: 7 }, (_, n) => new TextEncoder().encode(`d${n}`));
  const [a, b, c, dd, e, f, g] = d.map(hashLeaf);
  const h = hashChildren(a, b);
  const i = hashChildren(c, dd);
  const j = hashChildren(e, f);
  const k = hashChildren(h, i);
  const l = hashChildren(j, g);
  const root7 = hashChildren(k, l);
  assert.deepEqual(rootOfLeafHashes([a, b, c, dd, e, f, g]), root7);
  const nodes: Record<string, Uint8Array> = { a, b, c, d: dd, e, f, g, h, i, j, k, l };
  const named = (u: Uint8Array): string => Object.entries(nodes).find(([, v]) => hex(v) === hex(u))?.[0] ?? '?';
  const leafHashes = [a, b, c, dd, e, f, g];
  // Proof elements computed from our range plan must name the same nodes as the spec.
  const mthOf = (lo: number, hi: number): Uint8Array => rootOfLeafHashes(leafHashes.slice(lo, hi));
  const inclusion = (m: number): string[] => inclusionRanges(m, 7).map((r) => named(mthOf(r.lo, r.hi)));
  assert.deepEqual(inclusion(0), ['b', 'i', 'l']);
  assert.deepEqual(inclusion(3), ['c', 'h', 'l']);
  assert.deepEqual(inclusion(4), ['f', 'g', 'k']);
  assert.deepEqual(inclusion(6), ['j', 'k']);
  const consistency = (m: number): string[] => consistencyRanges(m, 7).map((r) => named(mthOf(r.lo, r.hi)));
  assert.deepEqual(consistency(3), ['c', 'd', 'h', 'l']);
  assert.deepEqual(consistency(4), ['l']);
  assert.deepEqual(consistency(6), ['j', 'g', 'k']);
  for (const m of [0, 3, 4, 6]) {
    verifyInclusion(m, 7, leafHashes[m], inclusionRanges(m, 7).map((r) => mthOf(r.lo, r.hi)), root7);
  }
  for (const m of [3, 4, 6]) {
    verifyConsistency(m, 7, consistencyRanges(m, 7).map((r) => mthOf(r.lo, r.hi)), mthOf(0, m), root7);
  }
});

test('proofs from the range plan verify for every index and size up to 40, and fail when corrupted', () => {
  const leafHashes = Array.from({ length: 40 }, (_, i) => hashLeaf(new Uint8Array([i, i >> 8])));
  const mthOf = (lo: number, hi: number): Uint8Array => rootOfLeafHashes(leafHashes.slice(lo, hi));
  // rangeNodes: the right fold of a range's complete subtrees equals its MTH.
  const fold = (lo: number, hi: number): Uint8Array => {
    const parts = rangeNodes({ lo, hi }).map((n) => mthOf(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
    return parts.reduceRight((acc, p) => hashChildren(p, acc));
  };
  for (let n = 1; n <= 40; n++) {
    const root = mthOf(0, n);
    for (let m = 0; m < n; m++) {
      const proof = inclusionRanges(m, n).map((r) => fold(r.lo, r.hi));
      verifyInclusion(m, n, leafHashes[m], proof, root);
      if (proof.length > 0) {
        const bad = proof.map((p) => p.slice());
        bad[bad.length - 1][0] ^= 1;
        assert.throws(() => verifyInclusion(m, n, leafHashes[m], bad, root), { code: 'TRUST_ERR_PROOF_INVALID' });
      }
      assert.throws(() => verifyInclusion(m, n, leafHashes[(m + 1) % 40], proof, root), { code: 'TRUST_ERR_PROOF_INVALID' });
      if (m > 0) {
        const cproof = consistencyRanges(m, n).map((r) => fold(r.lo, r.hi));
        verifyConsistency(m, n, cproof, mthOf(0, m), root);
        assert.throws(() => verifyConsistency(m, n, cproof, mthOf(0, m), mthOf(0, n - 1)), { code: 'TRUST_ERR_PROOF_INVALID' });
        assert.throws(() => verifyConsistency(m, n, cproof.slice(1), mthOf(0, m), root), { code: 'TRUST_ERR_PROOF_INVALID' });
      }
    }
  }
});

test('verifiers reject wrong argument types with TypeError / RangeError', () => {
  assert.throws(() => verifyInclusion(-1, 2, emptyRoot(), [], emptyRoot()), RangeError);
  assert.throws(() => verifyInclusion(0.5, 2, emptyRoot(), [], emptyRoot()), TypeError);
  assert.throws(() => verifyInclusion(0, 2, 'x' as unknown as Uint8Array, [], emptyRoot()), TypeError);
  assert.throws(() => verifyInclusion(0, 2, emptyRoot(), null as unknown as Uint8Array[], emptyRoot()), TypeError);
  assert.throws(() => verifyConsistency(1, 2 ** 60, [], emptyRoot(), emptyRoot()), RangeError);
  assert.throws(() => verifyConsistency(1, 2, ['00' as unknown as Uint8Array], emptyRoot(), emptyRoot()), TypeError);
});
