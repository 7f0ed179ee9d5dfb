/**
 * A witness keeps the last checkpoint it verified for one log and accepts a
 * new one only with a valid signature by a trusted key and a consistency
 * proof from the old to the new tree. A log that rewrites or forks history
 * cannot produce that proof; the witness refuses and keeps its old state.
 * Edge gateways, auditors and the cloud's own monitors each run one.
 */
import { assertArray } from './assert.ts';
import { equalBytes } from './bytes.ts';
import { TrustError, TrustErrorCode } from './errors.ts';
import type { CheckpointSource } from './log/transparency-log.ts';
import { verifyConsistency } from './merkle/verify.ts';
import type { Checkpoint } from './note/checkpoint.ts';
import { openCheckpoint } from './note/checkpoint.ts';
import type { NoteVerifier } from './note/keys.ts';
import { assertKeyName } from './note/keys.ts';

/** Options of a {@link Witness}. */
export interface WitnessOptions {
  /** The log this witness follows. */
  readonly origin: string;
  /** The log keys it trusts. */
  readonly verifiers: readonly NoteVerifier[];
  /** A previously saved state ({@link Witness.state}); verified again on load. */
  readonly state?: string;
}

/**
 * Follows one log, refusing inconsistent checkpoints.
 *
 * @example
 * ```ts
 * const w = new Witness({ origin, verifiers: [logKey] });
 * await w.follow(log);            // throws TRUST_ERR_INCONSISTENT if history was rewritten
 * save(w.state);
 * ```
 */
export class Witness {
  readonly origin: string;
  #verifiers: NoteVerifier[];
  #checkpoint: Checkpoint | undefined;
  #note: string | undefined;

  /**
   * @throws {TypeError} wrong option types
   * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` / `TRUST_ERR_CHECKPOINT_INVALID` when `state` does not verify
   * @example
   * ```ts
   * const w = new Witness({ origin, verifiers, state: loadSavedNote() });
   * ```
   */
  constructor(options: WitnessOptions) {
    assertKeyName(options.origin);
    assertArray(options.verifiers, 'verifiers');
    this.origin = options.origin;
    this.#verifiers = [...options.verifiers];
    if (options.state !== undefined) {
      this.#checkpoint = openCheckpoint(options.state, this.#verifiers, this.origin);
      this.#note = options.state;
    }
  }

  /** The last checkpoint accepted, if any. */
  get checkpoint(): Checkpoint | undefined {
    return this.#checkpoint;
  }

  /** The signed note of the last checkpoint accepted: save it to resume later. */
  get state(): string | undefined {
    return this.#note;
  }

  /**
   * Adds a log key to trust (e.g. the new key during a rotation's overlap).
   *
   * @throws never
   * @example
   * ```ts
   * witness.trust(parseVerifierKey(newVkey));
   * ```
   */
  trust(verifier: NoteVerifier): void {
    if (!this.#verifiers.some((v) => v.name === verifier.name && v.keyId === verifier.keyId)) this.#verifiers.push(verifier);
  }

  /**
   * Stops trusting a key (after its rotation overlap ended).
   *
   * @throws never
   * @example
   * ```ts
   * witness.distrust(oldKey.keyId);
   * ```
   */
  distrust(keyId: number): void {
    this.#verifiers = this.#verifiers.filter((v) => v.keyId !== keyId);
  }

  /**
   * Verifies `note` and, when it extends the last accepted checkpoint by
   * `proof`, accepts it. On any failure the old state is kept.
   *
   * @throws {TypeError} wrong argument types
   * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` / `TRUST_ERR_CHECKPOINT_INVALID` (signature, origin, format);
   *   `TRUST_ERR_INCONSISTENT` (smaller tree, same size with another root, or a proof that fails)
   * @example
   * ```ts
   * witness.update(note, await log.getConsistencyProof(witness.checkpoint!.size, newSize));
   * ```
   */
  update(note: string, proof: readonly Uint8Array[]): Checkpoint {
    assertArray(proof, 'proof');
    const next = openCheckpoint(note, this.#verifiers, this.origin);
    const prev = this.#checkpoint;
    if (prev !== undefined && prev.size > 0) {
      const inconsistent = (reason: string, cause?: unknown): TrustError =>
        new TrustError(TrustErrorCode.INCONSISTENT, `cannot accept checkpoint: ${reason}`, cause === undefined ? undefined : { cause });
      if (next.size < prev.size) throw inconsistent(`tree shrank from ${prev.size} to ${next.size}`);
      if (next.size === prev.size && !equalBytes(next.root, prev.root)) throw inconsistent(`two different roots for size ${next.size}`);
      try {
        verifyConsistency(prev.size, next.size, proof, prev.root, next.root);
      } catch (e) {
        throw inconsistent(`tree of ${next.size} does not extend the tree of ${prev.size} seen before`, e);
      }
    }
    this.#checkpoint = next;
    this.#note = note;
    return next;
  }

  /**
   * Fetches the latest checkpoint and the proof it needs from `source` and
   * {@link update}s.
   *
   * @throws {TrustError} as {@link update}, and whatever `source` throws
   * @example
   * ```ts
   * await witness.follow(log);
   * ```
   */
  async follow(source: CheckpointSource): Promise<Checkpoint> {
    const note = await source.getCheckpoint();
    const prev = this.#checkpoint;
    const next = openCheckpoint(note, this.#verifiers, this.origin);
    const proof = prev !== undefined && prev.size > 0 && next.size > prev.size ? await source.getConsistencyProof(prev.size, next.size) : [];
    return this.update(note, proof);
  }
}
