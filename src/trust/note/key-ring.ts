/**
 * The signing keys of one log, with rotation and overlap. Every key has a
 * validity window; at any instant the log signs with every key whose window
 * covers it. Rotation adds a new key and ends the old ones after an overlap,
 * during which checkpoints carry both signatures: relying parties that still
 * trust only the old key keep verifying while they learn the new one.
 */
import { assertIndex } from '../assert.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import type { NoteSigner, NoteVerifier } from './keys.ts';

/** One key of a ring and its validity window `[notBefore, notAfter)`. */
export interface KeyRingEntry {
  readonly signer: NoteSigner;
  readonly notBefore: Date;
  /** Absent while the key has no planned end. */
  readonly notAfter?: Date;
}

/**
 * A log's signing keys over time.
 *
 * @example
 * ```ts
 * const ring = new KeyRing([{ signer: generateNoteSigner(origin), notBefore: new Date() }]);
 * ring.rotate(generateNoteSigner(origin), { at: new Date(), overlapMs: 7 * 86_400_000 });
 * const note = signCheckpoint(cp, ring.signersAt(new Date()));
 * ```
 */
export class KeyRing {
  #entries: KeyRingEntry[] = [];

  /**
   * @param entries - initial keys with their windows
   * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a duplicate key or an empty window
   * @example
   * ```ts
   * new KeyRing([{ signer, notBefore: new Date(0) }]);
   * ```
   */
  constructor(entries: readonly KeyRingEntry[] = []) {
    for (const e of entries) this.add(e);
  }

  /**
   * Adds a key with its window.
   *
   * @throws {TypeError} `notBefore` / `notAfter` are not dates
   * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a duplicate key id or `notAfter ≤ notBefore`
   * @example
   * ```ts
   * ring.add({ signer, notBefore: new Date() });
   * ```
   */
  add(entry: KeyRingEntry): void {
    if (!(entry.notBefore instanceof Date) || (entry.notAfter !== undefined && !(entry.notAfter instanceof Date))) {
      throw new TypeError('notBefore and notAfter must be Dates');
    }
    if (this.#entries.some((e) => e.signer.keyId === entry.signer.keyId && e.signer.name === entry.signer.name)) {
      throw new TrustError(TrustErrorCode.KEY_INVALID, `cannot add key ${entry.signer.name}: key id already in the ring`);
    }
    if (entry.notAfter !== undefined && entry.notAfter <= entry.notBefore) {
      throw new TrustError(TrustErrorCode.KEY_INVALID, `cannot add key ${entry.signer.name}: window ends before it starts`);
    }
    this.#entries.push(Object.freeze({ ...entry }));
  }

  /**
   * Rotates: `next` signs from `at`; every key still open at `at` stops
   * signing at `at + overlapMs`.
   *
   * @throws {RangeError} negative overlap
   * @throws {TrustError} `TRUST_ERR_KEY_INVALID` for a duplicate key
   * @example
   * ```ts
   * ring.rotate(generateNoteSigner(origin), { at: new Date(), overlapMs: 86_400_000 });
   * ```
   */
  rotate(next: NoteSigner, options: { at: Date; overlapMs: number }): void {
    assertIndex(options.overlapMs, 'overlapMs');
    const end = new Date(options.at.getTime() + options.overlapMs);
    this.add({ signer: next, notBefore: options.at });
    this.#entries = this.#entries.map((e) =>
      e.signer !== next && (e.notAfter === undefined || e.notAfter > end) ? Object.freeze({ ...e, notAfter: end }) : e,
    );
  }

  /**
   * The keys that sign at instant `at` (every key whose window covers it).
   *
   * @throws {TrustError} `TRUST_ERR_KEY_INVALID` when no key is valid at `at`
   * @example
   * ```ts
   * signCheckpoint(cp, ring.signersAt(new Date()));
   * ```
   */
  signersAt(at: Date): NoteSigner[] {
    const t = at.getTime();
    const out = this.#entries.filter((e) => e.notBefore.getTime() <= t && (e.notAfter === undefined || t < e.notAfter.getTime())).map((e) => e.signer);
    if (out.length === 0) throw new TrustError(TrustErrorCode.KEY_INVALID, `cannot sign: no key of the ring is valid at ${at.toISOString()}`);
    return out;
  }

  /**
   * The public halves of every key ever in the ring (to verify old checkpoints).
   *
   * @throws never
   * @example
   * ```ts
   * const witness = new Witness({ origin, verifiers: ring.verifiers() });
   * ```
   */
  verifiers(): NoteVerifier[] {
    return this.#entries.map((e) => e.signer.verifier());
  }

  /**
   * The entries with their windows, oldest first.
   *
   * @throws never
   * @example
   * ```ts
   * for (const e of ring.entries()) console.log(e.signer.verifier().toString(), e.notAfter);
   * ```
   */
  entries(): readonly KeyRingEntry[] {
    return [...this.#entries];
  }
}
