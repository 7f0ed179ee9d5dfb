/**
 * C2SP signed notes: a UTF-8 text ending in a newline, a blank line, then one
 * line per signature `— <key name> <base64(key id ‖ signature)>` (U+2014 em
 * dash). Signatures by keys the reader does not know are ignored; a known key
 * whose signature fails makes the whole note invalid (as golang.org/x/mod/sumdb/note).
 */
import { assertArray, assertString } from '../assert.ts';
import { concatBytes, fromBase64, toBase64 } from '../bytes.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import type { NoteSigner, NoteVerifier } from './keys.ts';
import { assertKeyName } from './keys.ts';

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note split into its text and signature lines, not yet verified. */
export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose signatures were checked. */
export interface VerifiedNote extends ParsedNote {
  /** Signatures by the given verifiers that verified (at least one). */
  readonly verified: readonly NoteSignature[];
}

const EM_DASH = '\u2014';
const MAX_SIGNATURES = 100;

function invalid(op: string, reason: string, cause?: unknown): TrustError {
  return new TrustError(TrustErrorCode.NOTE_INVALID, `cannot ${op}: ${reason}`, cause === undefined ? undefined : { cause });
}

function checkText(text: string, op: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw invalid(op, 'note text must be non-empty and end with a newline');
  // Printable text only: newline is the one control character allowed (no \r, no tabs).
  if (/[\p{Cc}\p{Cs}]/u.test(text.replaceAll('\n', ''))) throw invalid(op, 'note text contains control characters');
  if (!text.isWellFormed()) throw invalid(op, 'note text is not valid UTF-8');
}

/**
 * Signs `text` with every signer, producing the note (text, blank line, signature lines).
 *
 * @throws {TypeError} wrong argument types
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` when the text cannot be a note; `TRUST_ERR_KEY_INVALID` for no signer
 * @example
 * ```ts
 * const note = signNote('hello\n', [signer]);
 * ```
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  assertString(text, 'text');
  assertArray(signers, 'signers');
  checkText(text, 'sign note');
  if (signers.length === 0) throw new TrustError(TrustErrorCode.KEY_INVALID, 'cannot sign note: no signing key');
  const message = new TextEncoder().encode(text);
  const lines = signers.map((s) => {
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, s.keyId, false);
    return `${EM_DASH} ${s.name} ${toBase64(concatBytes(id, s.sign(message)))}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Splits a note into text and signature lines without checking signatures.
 *
 * @throws {TypeError} `note` is not a string
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` when malformed
 * @example
 * ```ts
 * const { text, signatures } = parseNote(note);
 * ```
 */
export function parseNote(note: string): ParsedNote {
  assertString(note, 'note');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw invalid('parse note', 'no blank line before the signatures');
  const text = note.slice(0, split + 1);
  checkText(text, 'parse note');
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw invalid('parse note', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw invalid('parse note', `more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line): NoteSignature => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw invalid('parse note', `malformed signature line ${JSON.stringify(line.slice(0, 80))}`);
    const [, name, b64] = m;
    try {
      assertKeyName(name);
    } catch (e) {
      throw invalid('parse note', 'bad key name on a signature line', e);
    }
    const raw = fromBase64(b64);
    if (raw === undefined || raw.length < 5) throw invalid('parse note', 'signature is not base64 of key id and signature');
    const keyId = new DataView(raw.buffer, raw.byteOffset).getUint32(0, false);
    return { name, keyId, signature: raw.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Parses a note and verifies its signatures against `verifiers`: at least one
 * must be by a known key, and every signature by a known key must verify.
 *
 * @throws {TypeError} wrong argument types
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` when malformed, a known key's signature fails, or no known key signed
 * @example
 * ```ts
 * const { text } = verifyNote(note, [logVerifier]);
 * ```
 */
export function verifyNote(note: string, verifiers: readonly NoteVerifier[]): VerifiedNote {
  assertArray(verifiers, 'verifiers');
  const parsed = parseNote(note);
  const message = new TextEncoder().encode(parsed.text);
  const verified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const key = verifiers.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (!key) continue;
    const id = `${sig.name}/${sig.keyId}`;
    if (seen.has(id)) throw invalid('verify note', `two signatures by key ${sig.name}+${sig.keyId.toString(16)}`);
    seen.add(id);
    if (!key.verify(message, sig.signature)) throw invalid('verify note', `signature by ${sig.name}+${sig.keyId.toString(16).padStart(8, '0')} does not verify`);
    verified.push(sig);
  }
  if (verified.length === 0) throw invalid('verify note', 'no signature by a trusted key');
  return { ...parsed, verified };
}
