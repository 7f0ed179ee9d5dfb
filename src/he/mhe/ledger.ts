/**
 * Single-use shares. Answering a retried protocol step with *fresh* randomness
 * on the same input leaks (two decryption shares of one ciphertext with
 * independent flooding average the flooding away; Lattigo SECURITY.md, "On the
 * insecurity of retries"). A key holder therefore keeps a ledger: the first
 * request for (protocol, instance, input) makes and stores the share, every
 * repeat gets the stored bytes back.
 *
 * `src/he` does no I/O: the ledger writes through a {@link LedgerStore} that
 * the edge gateway backs with durable storage (written before the share is
 * sent); the in-memory store is for tests and single-process use.
 */
import { createHash } from 'node:crypto';
import { assertBytes, assertString } from '../errors.ts';

/** Where a ledger keeps issued shares. `set` must be durable before it returns. */
export interface LedgerStore {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
}

/** A ledger store in memory (lost on restart). */
export class MemoryLedgerStore implements LedgerStore {
  readonly #map = new Map<string, Uint8Array>();
  get(key: string): Uint8Array | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: Uint8Array): void {
    this.#map.set(key, value.slice());
  }
  /** Number of shares issued. */
  get size(): number {
    return this.#map.size;
  }
}

/** The ledger of one key holder. */
export class ShareLedger {
  readonly #store: LedgerStore;
  constructor(store: LedgerStore = new MemoryLedgerStore()) {
    this.#store = store;
  }

  /**
   * Returns the share for (`protocol`, `instance`, `input`): the stored one if
   * it was issued before, else `make()`'s bytes, stored first.
   *
   * @param input the bytes the share is computed from (the ciphertext, or the
   *   round's aggregate); only its SHA-256 is kept.
   * @throws {TypeError} on a non-string protocol/instance or non-bytes input.
   * @example
   * ```ts
   * const bytes = ledger.issue('decrypt', jobId, ctBytes, () => codec.toBytes(engine, protocol.genShare(secret, ct, plan)));
   * ```
   */
  issue(protocol: string, instance: string, input: Uint8Array, make: () => Uint8Array): Uint8Array {
    assertString(protocol, 'protocol');
    assertString(instance, 'instance');
    assertBytes(input, 'input');
    const key = ShareLedger.key(protocol, instance, input);
    const stored = this.#store.get(key);
    if (stored !== undefined) return stored.slice();
    const share = make();
    assertBytes(share, 'share');
    this.#store.set(key, share);
    return share.slice();
  }

  /** Whether a share for this request was already issued. */
  has(protocol: string, instance: string, input: Uint8Array): boolean {
    return this.#store.get(ShareLedger.key(protocol, instance, input)) !== undefined;
  }

  /** The store key: protocol, instance and the input's SHA-256, length-prefixed. */
  static key(protocol: string, instance: string, input: Uint8Array): string {
    const digest = createHash('sha256').update(input).digest('hex');
    return `${protocol.length}:${protocol}/${instance.length}:${instance}/${digest}`;
  }
}
