/**
 * Transparency-log verification in the browser, with WebCrypto only (SHA-256, Ed25519): the
 * checkpoint's signature (C2SP signed note), an entry's inclusion proof (RFC 9162 §2.1.3.2) and a
 * consistency proof between two checkpoints (RFC 9162 §2.1.4.2). The same algorithms as
 * src/trust/auditor.ts, written again here so that the console checks what the server says
 * instead of trusting its verdict; test/web/verify.test.ts holds both to the same vectors.
 * @module
 */

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

/** Base64 to bytes. @param {string} text @returns {Uint8Array} */
export function fromBase64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes to lower-case hex. @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {...Uint8Array} parts @returns {Uint8Array<ArrayBuffer>} */
function concat(...parts) {
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** SHA-256. @param {...Uint8Array} parts @returns {Promise<Uint8Array>} */
async function sha256(...parts) {
  return new Uint8Array(await subtle.digest('SHA-256', concat(...parts)));
}

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ entry). @param {Uint8Array} entry */
export function hashLeaf(entry) {
  return sha256(Uint8Array.of(0), entry);
}

/** RFC 6962 node hash: SHA-256(0x01 ‖ left ‖ right). @param {Uint8Array} l @param {Uint8Array} r */
function hashChildren(l, r) {
  return sha256(Uint8Array.of(1), l, r);
}

/**
 * Parses a verifier key `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>` and checks that
 * its key id is the C2SP one: the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key).
 * @param {string} text
 * @returns {Promise<{ name: string, keyId: number, publicKey: Uint8Array }>}
 * @throws {Error} for a malformed key or a wrong key id
 */
export async function parseVerifierKey(text) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) throw new Error('cannot parse verifier key: expected <name>+<hex id>+<base64>');
  const raw = fromBase64(m[3]);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error('cannot parse verifier key: not an Ed25519 key');
  const publicKey = raw.subarray(1);
  const id = await sha256(enc.encode(m[1]), Uint8Array.of(0x0a, 0x01), publicKey);
  const keyId = new DataView(id.buffer).getUint32(0, false);
  if (keyId !== parseInt(m[2], 16)) throw new Error('cannot parse verifier key: its key id does not match the key');
  return { name: m[1], keyId, publicKey };
}

/**
 * Verifies a checkpoint note's signature by `verifierKey` and returns the checkpoint.
 * @param {string} note - the signed note (C2SP tlog-checkpoint)
 * @param {string} verifierKey - the pinned key
 * @param {string} origin - the log's origin (first line)
 * @returns {Promise<{ origin: string, size: number, root: Uint8Array }>}
 * @throws {Error} when the note is malformed, the origin differs or no signature by the key verifies
 */
export async function verifyCheckpoint(note, verifierKey, origin) {
  const key = await parseVerifierKey(verifierKey);
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('cannot verify checkpoint: no signature block');
  const text = note.slice(0, split + 1);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines[0] !== origin) throw new Error(`cannot verify checkpoint: origin is not ${origin}`);
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error('cannot verify checkpoint: bad size line');
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error('cannot verify checkpoint: bad root line');
  const pub = await subtle.importKey('raw', key.publicKey.slice(), { name: 'Ed25519' }, false, ['verify']);
  let verified = false;
  for (const line of note.slice(split + 2).split('\n').filter((l) => l.length > 0)) {
    const s = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!s || s[1] !== key.name) continue;
    const raw = fromBase64(s[2]);
    if (raw.length !== 68 || new DataView(raw.buffer).getUint32(0, false) !== key.keyId) continue;
    if (!(await subtle.verify({ name: 'Ed25519' }, pub, raw.slice(4), enc.encode(text)))) throw new Error('cannot verify checkpoint: the signature does not verify');
    verified = true;
  }
  if (!verified) throw new Error('cannot verify checkpoint: no signature by the pinned key');
  return { origin: lines[0], size: Number(lines[1]), root };
}

/**
 * Verifies that `entry` is leaf `index` of the tree of `size` with root `root`.
 * @param {number} index @param {number} size @param {Uint8Array} entry
 * @param {Uint8Array[]} proof @param {Uint8Array} root
 * @returns {Promise<void>}
 * @throws {Error} when the proof does not lead to the root
 */
export async function verifyInclusion(index, size, entry, proof, root) {
  if (!(index >= 0 && index < size)) throw new Error('cannot verify inclusion: index out of range');
  let fn = index;
  let sn = size - 1;
  let r = await hashLeaf(entry);
  for (const p of proof) {
    if (sn === 0) throw new Error('cannot verify inclusion: proof too long');
    if (fn % 2 === 1 || fn === sn) {
      r = await hashChildren(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('cannot verify inclusion: proof too short');
  if (!equal(r, root)) throw new Error('cannot verify inclusion: the proof leads to another root');
}

/**
 * Verifies that the tree of `size2` (root `root2`) extends the tree of `size1` (root `root1`).
 * @param {number} size1 @param {number} size2 @param {Uint8Array[]} proof
 * @param {Uint8Array} root1 @param {Uint8Array} root2
 * @returns {Promise<void>}
 * @throws {Error} when the proof does not reproduce both roots
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  if (size1 < 1 || size2 < size1) throw new Error('cannot verify consistency: bad sizes');
  if (size1 === size2) {
    if (proof.length !== 0 || !equal(root1, root2)) throw new Error('cannot verify consistency: same size, another root');
    return;
  }
  if (proof.length === 0) throw new Error('cannot verify consistency: empty proof');
  let fn = size1 - 1;
  let sn = size2 - 1;
  const path = Number.isInteger(Math.log2(size1)) ? [root1, ...proof] : [...proof];
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw new Error('cannot verify consistency: proof too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('cannot verify consistency: proof too short');
  if (!equal(fr, root1)) throw new Error('cannot verify consistency: the proof does not give the older root');
  if (!equal(sr, root2)) throw new Error('cannot verify consistency: the proof does not give the newer root');
}
