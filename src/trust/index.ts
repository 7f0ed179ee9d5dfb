/**
 * `src/trust`: signing, the transparency log, the TUF repository and access
 * control (DESIGN §7–8). Standalone: imports nothing else of hedge.
 *
 * Auditors who want only verification import `./auditor.ts`, which needs no
 * storage and no private keys.
 */
export { TrustError, TrustErrorCode } from './errors.ts';
export { HASH_SIZE, emptyRoot, hashChildren, hashLeaf, rootOfLeafHashes, sha256 } from './merkle/hash.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './merkle/verify.ts';
export { consistencyRanges, inclusionRanges, rangeNodes, type LeafRange, type NodeKey } from './merkle/plan.ts';
export {
  generateNoteSigner,
  noteKeyId,
  noteSignerFromSeed,
  noteVerifierFromPublicKey,
  parseSignerKey,
  parseVerifierKey,
  type NoteSigner,
  type NoteVerifier,
} from './note/keys.ts';
export { parseNote, signNote, verifyNote, type NoteSignature, type ParsedNote, type VerifiedNote } from './note/note.ts';
export { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint, type Checkpoint } from './note/checkpoint.ts';
export { KeyRing, type KeyRingEntry } from './note/key-ring.ts';
export { checkEvent, decodeEvent, encodeEvent, EVENT_KINDS, hashPayload, type EventKind, type LogEvent } from './events.ts';
export { openSql, type OpenSqlOptions, type SqlClient, type SqlQueryable } from './storage/sql.ts';
export { MerkleStore, type AppendResult } from './log/merkle-store.ts';
export { TransparencyLog, type CheckpointSource, type InclusionProof, type TransparencyLogOptions } from './log/transparency-log.ts';
export { Witness, type WitnessOptions } from './witness.ts';
export { auditConsistency, auditEntry, type EntryEvidence } from './auditor.ts';
export {
  DEFAULT_EXPIRIES,
  exportTufKey,
  generateTufKey,
  importTufKey,
  TufRepository,
  type ModelArtifact,
  type ModelTargetCustom,
  type TufExpiries,
  type TufOpenOptions,
  type TufRepositoryOptions,
  type TufSigningKey,
} from './tuf/repository.ts';
export {
  accessDeniedEvent,
  AccessControl,
  ACTIONS,
  createAccessControl,
  PERMISSIONS,
  ROLES,
  type Action,
  type Role,
  type RoleAssignment,
} from './access/policy.ts';
