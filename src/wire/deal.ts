/**
 * The wire format of a t-of-n deal (docs/protocol.md, "Threshold ceremony over the cloud"): the
 * Shamir shares Pᵢ(xⱼ) a key holder deals, each sealed to its receiving key holder
 * (src/edge/deal-channel.ts), travel through the cloud as a {@link DealBundle}. The cloud reads
 * only the envelope — sender, receiver, point — to store each sealed share per (from, to) and to
 * hand every key holder the shares addressed to it; the ciphertexts it cannot open.
 *
 * Layout (big-endian): magic `HDL1` · count u16 · count × (fromLen u8 · from · toLen u8 · to ·
 * point u16 · nonce 12 bytes · ciphertextLen u32 · ciphertext). Tenants are ASCII ids; the
 * ciphertext is AES-256-GCM output with its 16-byte tag. Decoding is strict: trailing bytes, a
 * bad id, an empty or oversized ciphertext are refused.
 * @module
 */

const MAGIC = [0x48, 0x44, 0x4c, 0x31]; // "HDL1"
const TENANT = /^[a-z0-9][a-z0-9-]{0,47}$/;
/** Largest sealed share accepted (a Shamir share of the largest preset is well below). */
export const MAX_SEALED_SHARE_BYTES = 8 * 1024 * 1024;
/** Bytes of the nonce of a sealed share (AES-GCM). */
export const DEAL_NONCE_BYTES = 12;
/** Bytes of the authentication tag at the end of a sealed share's ciphertext. */
export const DEAL_TAG_BYTES = 16;

/** One dealt share Pᵢ(xⱼ), sealed from key holder `from` to key holder `to` (point xⱼ). */
export interface SealedShare {
  readonly from: string;
  readonly to: string;
  /** The receiver's public evaluation point xⱼ. */
  readonly point: number;
  readonly nonce: Uint8Array;
  /** AES-256-GCM ciphertext with its tag. */
  readonly ciphertext: Uint8Array;
}

/** The sealed shares of one deal message (a key holder's n − 1 outgoing shares, or the shares addressed to one key holder). */
export type DealBundle = readonly SealedShare[];

/**
 * `toBytes` / `fromBytes` of a {@link DealBundle}.
 *
 * @example
 * ```ts
 * const bytes = DealBundleCodec.toBytes([sealed]);
 * const [back] = DealBundleCodec.fromBytes(bytes);
 * ```
 */
export const DealBundleCodec = {
  /**
   * Encodes a bundle.
   * @throws {TypeError} for a share that is not a {@link SealedShare}
   * @throws {RangeError} for a bad tenant id, point, nonce or ciphertext size, or more than 65 535 shares
   */
  toBytes(bundle: DealBundle): Uint8Array {
    if (!Array.isArray(bundle)) throw new TypeError('cannot encode deal bundle: expected an array of sealed shares');
    if (bundle.length > 0xffff) throw new RangeError(`cannot encode deal bundle: ${bundle.length} shares, at most 65535`);
    const parts: Uint8Array[] = [Uint8Array.from([...MAGIC, bundle.length >> 8, bundle.length & 0xff])];
    bundle.forEach((s, i) => {
      checkShare(s, `bundle[${i}]`);
      const from = Buffer.from(s.from, 'ascii');
      const to = Buffer.from(s.to, 'ascii');
      const head = Buffer.alloc(1 + from.length + 1 + to.length + 2);
      let o = head.writeUInt8(from.length, 0);
      o += from.copy(head, o);
      o = head.writeUInt8(to.length, o);
      o += to.copy(head, o);
      head.writeUInt16BE(s.point, o);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(s.ciphertext.length, 0);
      parts.push(head, s.nonce, len, s.ciphertext);
    });
    return new Uint8Array(Buffer.concat(parts));
  },

  /**
   * Decodes a bundle (strictly).
   * @throws {TypeError} when `bytes` is not a Uint8Array
   * @throws {RangeError} for anything malformed: magic, lengths, ids, points, trailing bytes
   */
  fromBytes(bytes: Uint8Array): SealedShare[] {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('cannot decode deal bundle: expected a Uint8Array');
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (o: number, n: number): void => {
      if (o + n > b.length) throw new RangeError(`cannot decode deal bundle: truncated at byte ${o}`);
    };
    need(0, 6);
    if (MAGIC.some((m, i) => b[i] !== m)) throw new RangeError('cannot decode deal bundle: bad magic (expected HDL1)');
    const count = b.readUInt16BE(4);
    let o = 6;
    const out: SealedShare[] = [];
    const id = (what: string): string => {
      need(o, 1);
      const n = b.readUInt8(o);
      need(o + 1, n);
      const s = b.subarray(o + 1, o + 1 + n).toString('latin1');
      if (!TENANT.test(s)) throw new RangeError(`cannot decode deal bundle: share ${out.length}: ${what} is not a tenant id`);
      o += 1 + n;
      return s;
    };
    for (let i = 0; i < count; i++) {
      const from = id('from');
      const to = id('to');
      need(o, 2 + DEAL_NONCE_BYTES + 4);
      const point = b.readUInt16BE(o);
      const nonce = new Uint8Array(b.subarray(o + 2, o + 2 + DEAL_NONCE_BYTES));
      const len = b.readUInt32BE(o + 2 + DEAL_NONCE_BYTES);
      o += 2 + DEAL_NONCE_BYTES + 4;
      if (len <= DEAL_TAG_BYTES || len > MAX_SEALED_SHARE_BYTES) throw new RangeError(`cannot decode deal bundle: share ${i}: ciphertext of ${len} bytes`);
      need(o, len);
      const ciphertext = new Uint8Array(b.subarray(o, o + len));
      o += len;
      const s = { from, to, point, nonce, ciphertext };
      checkShare(s, `share ${i}`);
      out.push(s);
    }
    if (o !== b.length) throw new RangeError(`cannot decode deal bundle: ${b.length - o} trailing bytes`);
    return out;
  },
};

function checkShare(s: SealedShare, name: string): void {
  if (s === null || typeof s !== 'object') throw new TypeError(`cannot encode deal bundle: ${name} must be a sealed share`);
  if (typeof s.from !== 'string' || !TENANT.test(s.from)) throw new RangeError(`cannot encode deal bundle: ${name}.from must be a tenant id`);
  if (typeof s.to !== 'string' || !TENANT.test(s.to)) throw new RangeError(`cannot encode deal bundle: ${name}.to must be a tenant id`);
  if (s.from === s.to) throw new RangeError(`cannot encode deal bundle: ${name} is addressed to its sender`);
  if (!Number.isInteger(s.point) || s.point < 1 || s.point > 0xffff) throw new RangeError(`cannot encode deal bundle: ${name}.point must be in [1, 65535]`);
  if (!(s.nonce instanceof Uint8Array) || s.nonce.length !== DEAL_NONCE_BYTES) throw new RangeError(`cannot encode deal bundle: ${name}.nonce must be ${DEAL_NONCE_BYTES} bytes`);
  if (!(s.ciphertext instanceof Uint8Array) || s.ciphertext.length <= DEAL_TAG_BYTES || s.ciphertext.length > MAX_SEALED_SHARE_BYTES) {
    throw new RangeError(`cannot encode deal bundle: ${name}.ciphertext must be ${DEAL_TAG_BYTES + 1} to ${MAX_SEALED_SHARE_BYTES} bytes`);
  }
}
