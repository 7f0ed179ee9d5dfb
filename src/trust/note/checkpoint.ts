/**
 * C2SP tlog-checkpoint: the signed statement of a log's state,
 *
 * ```
 * <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n…]
 * ```
 *
 * carried as the text of a C2SP signed note. The origin identifies the log
 * and is also the name of the log's signing key.
 */
import { assertArray, assertBytes, assertIndex, assertString } from '../assert.ts';
import { fromBase64, toBase64 } from '../bytes.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import { HASH_SIZE } from '../merkle/hash.ts';
import type { NoteSigner, NoteVerifier } from './keys.ts';
import { assertKeyName } from './keys.ts';
import { signNote, verifyNote } from './note.ts';

/** A log state: origin, tree size, root hash, optional extension lines. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

function invalid(op: string, reason: string, cause?: unknown): TrustError {
  return new TrustError(TrustErrorCode.CHECKPOINT_INVALID, `cannot ${op}: ${reason}`, cause === undefined ? undefined : { cause });
}

/**
 * The checkpoint body text (the note text that gets signed).
 *
 * @throws {TypeError} wrong field types
 * @throws {RangeError} root not 32 bytes, size not a safe integer
 * @throws {TrustError} `TRUST_ERR_CHECKPOINT_INVALID` for a bad origin or extension line
 * @example
 * ```ts
 * formatCheckpoint({ origin: 'log.example', size: 7, root, extensions: [] });
 * // 'log.example\n7\n<base64>\n'
 * ```
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions } = checkpoint;
  try {
    assertKeyName(origin);
  } catch (e) {
    throw invalid('format checkpoint', 'origin must be a key name (no spaces, no +)', e);
  }
  assertIndex(size, 'size');
  assertBytes(root, 'root', HASH_SIZE);
  assertArray(extensions, 'extensions');
  for (const line of extensions) {
    assertString(line, 'extension line');
    if (line.includes('\n') || /\p{Cc}/u.test(line)) throw invalid('format checkpoint', 'extension lines must be single printable lines');
  }
  return [origin, String(size), toBase64(root), ...extensions].join('\n') + '\n';
}

/**
 * Parses a checkpoint body (strict: decimal size without leading zeros,
 * canonical base64 of a 32-byte hash, non-empty extension lines).
 *
 * @throws {TypeError} `text` is not a string
 * @throws {TrustError} `TRUST_ERR_CHECKPOINT_INVALID` when malformed
 * @example
 * ```ts
 * const cp = parseCheckpoint(verifyNote(note, verifiers).text);
 * ```
 */
export function parseCheckpoint(text: string): Checkpoint {
  assertString(text, 'text');
  if (!text.endsWith('\n')) throw invalid('parse checkpoint', 'body must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('parse checkpoint', 'expected origin, size and root lines');
  const [origin, sizeText, rootText, ...extensions] = lines;
  try {
    assertKeyName(origin);
  } catch (e) {
    throw invalid('parse checkpoint', 'bad origin line', e);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw invalid('parse checkpoint', 'bad tree size line');
  const root = fromBase64(rootText);
  if (root === undefined || root.length !== HASH_SIZE) throw invalid('parse checkpoint', 'root line is not base64 of a 32-byte hash');
  if (extensions.some((l) => l.length === 0)) throw invalid('parse checkpoint', 'empty extension line');
  return Object.freeze({ origin, size: Number(sizeText), root, extensions: Object.freeze(extensions) });
}

/**
 * Formats and signs a checkpoint as a C2SP signed note.
 *
 * @throws {TypeError} / {RangeError} bad field types or sizes
 * @throws {TrustError} `TRUST_ERR_CHECKPOINT_INVALID`, `TRUST_ERR_KEY_INVALID` (no signers)
 * @example
 * ```ts
 * const note = signCheckpoint({ origin, size, root, extensions: [] }, [logSigner]);
 * ```
 */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * Verifies a signed checkpoint note against trusted keys and returns the
 * checkpoint. When `origin` is given the checkpoint must be for that log.
 *
 * @throws {TypeError} wrong argument types
 * @throws {TrustError} `TRUST_ERR_NOTE_INVALID` (signatures), `TRUST_ERR_CHECKPOINT_INVALID` (body or origin)
 * @example
 * ```ts
 * const cp = openCheckpoint(note, [logVerifier], 'log.hedge.example');
 * ```
 */
export function openCheckpoint(note: string, verifiers: readonly NoteVerifier[], origin?: string): Checkpoint {
  const { text } = verifyNote(note, verifiers);
  const checkpoint = parseCheckpoint(text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw invalid('open checkpoint', `origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`);
  }
  return checkpoint;
}
