/** Small byte helpers shared by the trust layer (no library for ten lines). */

/**
 * Constant-time equality of two byte arrays (time depends on length only).
 *
 * @throws never
 * @example
 * ```ts
 * equalBytes(computedRoot, root);
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Lower-case hex of `bytes`.
 *
 * @throws never
 * @example
 * ```ts
 * toHex(new Uint8Array([1, 255])); // '01ff'
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Standard base64 (with padding) of `bytes`, as C2SP notes and checkpoints use.
 *
 * @throws never
 * @example
 * ```ts
 * toBase64(root);
 * ```
 */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strictly decodes standard padded base64; `undefined` when `text` is not the
 * canonical encoding of some bytes (so that one value has one spelling).
 *
 * @throws never
 * @example
 * ```ts
 * fromBase64('AQI='); // Uint8Array [1, 2]
 * ```
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return toBase64(bytes) === text ? bytes : undefined;
}

/**
 * Concatenates byte arrays.
 *
 * @throws never
 * @example
 * ```ts
 * concatBytes(keyId, signature);
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
