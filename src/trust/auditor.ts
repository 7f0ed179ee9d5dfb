/**
 * Verification for auditors: everything needed to check what the log claims,
 * from a signed checkpoint, an entry and a proof alone — no storage, no
 * private keys, no hedge service. An auditor who distrusts hedge can
 * re-implement these from RFC 9162 and C2SP and compare.
 */
import { assertArray, assertBytes, assertIndex } from './assert.ts';
import { hashLeaf } from './merkle/hash.ts';
import { verifyConsistency, verifyInclusion } from './merkle/verify.ts';
import type { Checkpoint } from './note/checkpoint.ts';
import { openCheckpoint } from './note/checkpoint.ts';
import type { NoteVerifier } from './note/keys.ts';

/** What {@link auditEntry} needs. */
export interface EntryEvidence {
  /** Signed checkpoint note of the log. */
  readonly checkpoint: string;
  /** Entry bytes as stored in the log. */
  readonly entry: Uint8Array;
  /** Index of the entry. */
  readonly index: number;
  /** Inclusion proof for the checkpoint's tree size. */
  readonly proof: readonly Uint8Array[];
}

/**
 * Verifies that `entry` is entry `index` of the log state a trusted key signed.
 *
 * @throws {TypeError} / {RangeError} malformed evidence
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID`, `TRUST_ERR_CHECKPOINT_INVALID` (signature, origin), `TRUST_ERR_PROOF_INVALID`
 * @example
 * ```ts
 * const cp = auditEntry({ checkpoint: note, entry, index: 5, proof }, [logKey], 'log.hedge.example');
 * ```
 */
export function auditEntry(evidence: EntryEvidence, verifiers: readonly NoteVerifier[], origin: string): Checkpoint {
  assertBytes(evidence.entry, 'entry');
  assertIndex(evidence.index, 'index');
  assertArray(evidence.proof, 'proof');
  const cp = openCheckpoint(evidence.checkpoint, verifiers, origin);
  verifyInclusion(evidence.index, cp.size, hashLeaf(evidence.entry), evidence.proof, cp.root);
  return cp;
}

/**
 * Verifies that the log state in `newer` extends the one in `older` (both
 * signed by trusted keys): the log appended and rewrote nothing.
 *
 * @throws {TypeError} malformed arguments
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID`, `TRUST_ERR_CHECKPOINT_INVALID`, `TRUST_ERR_PROOF_INVALID`
 * @example
 * ```ts
 * auditConsistency(oldNote, newNote, proof, [logKey], origin);
 * ```
 */
export function auditConsistency(older: string, newer: string, proof: readonly Uint8Array[], verifiers: readonly NoteVerifier[], origin: string): { older: Checkpoint; newer: Checkpoint } {
  const a = openCheckpoint(older, verifiers, origin);
  const b = openCheckpoint(newer, verifiers, origin);
  verifyConsistency(a.size, b.size, proof, a.root, b.root);
  return { older: a, newer: b };
}

export { verifyInclusion, verifyConsistency, rootFromInclusionProof } from './merkle/verify.ts';
export { hashLeaf, hashChildren, emptyRoot } from './merkle/hash.ts';
export { openCheckpoint, parseCheckpoint } from './note/checkpoint.ts';
export { verifyNote, parseNote } from './note/note.ts';
export { parseVerifierKey } from './note/keys.ts';
