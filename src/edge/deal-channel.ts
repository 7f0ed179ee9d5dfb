/**
 * The private channel of a t-of-n deal (docs/protocol.md, "Threshold ceremony over the cloud").
 * A dealt Shamir share Pᵢ(xⱼ) is secret: whoever holds t of them for one holder learns its sᵢ.
 * It crosses the cloud only sealed to its receiver:
 *
 * 1. Every key holder makes an X25519 key-agreement key (RFC 7748) kept in its custody, and
 *    registers the public half with the federation (ceremony round `kex`).
 * 2. Sender i and receiver j share Z = X25519(skᵢ, pkⱼ) = X25519(skⱼ, pkᵢ) (static–static:
 *    only i and j can compute it, so a sealed share also proves its sender).
 * 3. HKDF-SHA256 (RFC 5869) expands Z with salt `hedge/deal-channel/v1` and info = the AAD ‖ pkᵢ ‖
 *    pkⱼ into an AES-256-GCM key and a nonce key. The AAD binds the federation, the ceremony,
 *    the sender, the receiver and the point: a sealed share moved to any other context fails.
 * 4. The nonce is synthetic, HMAC-SHA256(nonce key, plaintext)[0‥12): sealing is deterministic
 *    (a retried deal re-sends byte-identical shares, so the cloud's single-use check holds), and
 *    two different plaintexts under one key get different nonces except with probability 2⁻⁹⁶ —
 *    no nonce reuse even if a caller misuses it.
 *
 * `node:crypto` only. Failures to open are one typed error, `EDGE_ERR_DEAL_CHANNEL` (GCM cannot
 * tell a wrong key from altered bytes).
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { DEAL_NONCE_BYTES, DEAL_TAG_BYTES, type SealedShare } from '../wire/deal.ts';
import { aObject, aString, describe } from './assert.ts';
import { EDGE_ERR, EdgeError, EdgeRangeError, EdgeTypeError } from './errors.ts';

/** Bytes of an X25519 key (public or private). */
export const DEAL_KEY_BYTES = 32;
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const SALT = Buffer.from('hedge/deal-channel/v1');
const TENANT = /^[a-z0-9][a-z0-9-]{0,47}$/;

/** Where a dealt share belongs: everything the AAD binds. */
export interface DealContext {
  readonly federation: string;
  readonly ceremony: string;
  readonly from: string;
  readonly to: string;
  /** The receiver's evaluation point xⱼ. */
  readonly point: number;
}

/** An X25519 key pair as raw 32-byte strings. The private half is secret: keep it in custody, zero it after use. */
export interface DealKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * A fresh X25519 key pair.
 * @example
 * ```ts
 * const { publicKey, privateKey } = generateDealKey();
 * custody.putEphemeral('deal-key:mills', privateKey); privateKey.fill(0);
 * ```
 */
export function generateDealKey(): DealKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const raw = new Uint8Array(der.subarray(PKCS8_PREFIX.length));
  der.fill(0);
  return { publicKey: dealPublicKey(raw), privateKey: raw };
}

/**
 * The public half of a raw X25519 private key.
 * @throws EdgeTypeError / EdgeRangeError when `privateKey` is not 32 bytes
 * @example
 * ```ts
 * const pub = dealPublicKey(custody.getEphemeral('deal-key:mills')!);
 * ```
 */
export function dealPublicKey(privateKey: Uint8Array): Uint8Array {
  const key = privateKeyObject('derive a deal public key', privateKey);
  return new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
}

/**
 * Seals a dealt share to its receiver: deterministic for the same keys, context and plaintext.
 *
 * @throws EdgeTypeError / EdgeRangeError for malformed keys or context (a key of the wrong size, a
 *   point out of range, a sender equal to the receiver)
 * @throws EdgeError `EDGE_ERR_DEAL_CHANNEL` when the receiver's public key is a low-order point
 * @example
 * ```ts
 * const sealed = sealDealShare({ federation: 'mills', ceremony: 'mills', from: 'plant-a', to: 'plant-b', point: 2 }, myPrivate, theirPublic, shareBytes);
 * ```
 */
export function sealDealShare(context: DealContext, senderPrivate: Uint8Array, receiverPublic: Uint8Array, plaintext: Uint8Array): SealedShare {
  const op = 'seal a dealt share';
  const aad = aadOf(op, context);
  if (!(plaintext instanceof Uint8Array) || plaintext.length === 0) throw new EdgeTypeError(`cannot ${op}: plaintext must be a non-empty Uint8Array, got ${describe(plaintext)}`);
  checkPublic(op, receiverPublic);
  const senderPublic = dealPublicKey(senderPrivate);
  const { key, nonceKey } = derive(op, senderPrivate, receiverPublic, Buffer.concat([aad, senderPublic, receiverPublic]));
  try {
    const nonce = createHmac('sha256', nonceKey).update(aad).update(plaintext).digest().subarray(0, DEAL_NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: DEAL_TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { from: context.from, to: context.to, point: context.point, nonce: new Uint8Array(nonce), ciphertext: new Uint8Array(ciphertext) };
  } finally {
    key.fill(0);
    nonceKey.fill(0);
  }
}

/**
 * Opens a sealed share addressed to this key holder. The context is the receiver's own
 * expectation (its federation, ceremony, tenant and point, and the sender it believes it is
 * from); the sealed share's envelope must agree with it.
 *
 * @returns the plaintext share bytes (secret: zero them after use)
 * @throws EdgeTypeError / EdgeRangeError for malformed keys or context
 * @throws EdgeError `EDGE_ERR_DEAL_CHANNEL` for an envelope that disagrees with `context`, a wrong
 *   key, another context (AAD) or altered bytes
 * @example
 * ```ts
 * const share = openDealShare({ federation: 'mills', ceremony: 'mills', from: 'plant-a', to: 'plant-b', point: 2 }, myPrivate, senderPublic, sealed);
 * ```
 */
export function openDealShare(context: DealContext, receiverPrivate: Uint8Array, senderPublic: Uint8Array, sealed: SealedShare): Uint8Array {
  const op = 'open a dealt share';
  const aad = aadOf(op, context);
  aObject(op, 'sealed', sealed);
  if (!(sealed.nonce instanceof Uint8Array) || sealed.nonce.length !== DEAL_NONCE_BYTES) throw new EdgeRangeError(`cannot ${op}: sealed.nonce must be ${DEAL_NONCE_BYTES} bytes`);
  if (!(sealed.ciphertext instanceof Uint8Array) || sealed.ciphertext.length <= DEAL_TAG_BYTES) throw new EdgeRangeError(`cannot ${op}: sealed.ciphertext must be longer than its ${DEAL_TAG_BYTES}-byte tag`);
  if (sealed.from !== context.from || sealed.to !== context.to || sealed.point !== context.point) {
    throw new EdgeError(EDGE_ERR.DEAL_CHANNEL, `cannot ${op}: it is from ${sealed.from} to ${sealed.to} for point ${sealed.point}, expected ${context.from} to ${context.to} for point ${context.point}`);
  }
  checkPublic(op, senderPublic);
  const receiverPublic = dealPublicKey(receiverPrivate);
  const { key, nonceKey } = derive(op, receiverPrivate, senderPublic, Buffer.concat([aad, senderPublic, receiverPublic]));
  try {
    const body = sealed.ciphertext.subarray(0, sealed.ciphertext.length - DEAL_TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce, { authTagLength: DEAL_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.ciphertext.subarray(sealed.ciphertext.length - DEAL_TAG_BYTES));
    try {
      return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
    } catch (cause) {
      throw new EdgeError(EDGE_ERR.DEAL_CHANNEL, `cannot ${op} from ${context.from}: authentication failed (wrong key, another context, or altered bytes)`, { cause });
    }
  } finally {
    key.fill(0);
    nonceKey.fill(0);
  }
}

function aadOf(op: string, c: DealContext): Buffer {
  aObject(op, 'context', c);
  for (const k of ['federation', 'ceremony', 'from', 'to'] as const) aString(op, `context.${k}`, c[k]);
  if (!TENANT.test(c.from) || !TENANT.test(c.to)) throw new EdgeRangeError(`cannot ${op}: context.from and context.to must be tenant ids`);
  if (c.from === c.to) throw new EdgeRangeError(`cannot ${op}: a share is not sealed to its own dealer`);
  if (!Number.isInteger(c.point) || c.point < 1 || c.point > 0xffff) throw new EdgeRangeError(`cannot ${op}: context.point must be an integer in [1, 65535], got ${describe(c.point)}`);
  const field = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length, 0);
    return Buffer.concat([len, b]);
  };
  return Buffer.concat([field('hedge/deal/v1'), field(c.federation), field(c.ceremony), field(c.from), field(c.to), field(String(c.point))]);
}

function privateKeyObject(op: string, raw: Uint8Array): KeyObject {
  if (!(raw instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: the private key must be a Uint8Array, got ${describe(raw)}`);
  if (raw.length !== DEAL_KEY_BYTES) throw new EdgeRangeError(`cannot ${op}: the private key must be ${DEAL_KEY_BYTES} bytes, got ${raw.length}`);
  const der = Buffer.concat([PKCS8_PREFIX, raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function checkPublic(op: string, peerPublic: Uint8Array): void {
  if (!(peerPublic instanceof Uint8Array)) throw new EdgeTypeError(`cannot ${op}: the peer's public key must be a Uint8Array, got ${describe(peerPublic)}`);
  if (peerPublic.length !== DEAL_KEY_BYTES) throw new EdgeRangeError(`cannot ${op}: the peer's public key must be ${DEAL_KEY_BYTES} bytes, got ${peerPublic.length}`);
}

function derive(op: string, ownPrivate: Uint8Array, peerPublic: Uint8Array, info: Buffer): { key: Buffer; nonceKey: Buffer } {
  const privateKey = privateKeyObject(op, ownPrivate);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
  let z: Buffer;
  try {
    z = diffieHellman({ privateKey, publicKey });
  } catch (cause) {
    throw new EdgeError(EDGE_ERR.DEAL_CHANNEL, `cannot ${op}: key agreement failed (the peer's key is not a usable X25519 key)`, { cause });
  }
  if (z.every((x) => x === 0)) throw new EdgeError(EDGE_ERR.DEAL_CHANNEL, `cannot ${op}: the peer's key is a low-order point`);
  const okm = Buffer.from(hkdfSync('sha256', z, SALT, info, 64));
  z.fill(0);
  return { key: okm.subarray(0, 32), nonceKey: okm.subarray(32, 64) };
}
