/**
 * Opaque keyset cursors for paginated lists: the sort key of a page's last
 * item, as base64url JSON. A cursor that does not decode is bad input (400).
 * @module
 */
import { CLOUD_ERR, CloudError } from './errors.ts';

/**
 * Encodes the sort key of the last item of a page.
 * @throws never
 * @example
 * ```ts
 * const next = items.length === limit ? encodeCursor([last.subject, last.role]) : undefined;
 * ```
 */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} with `parts` key parts.
 * @throws {CloudError} `CLOUD_ERR_VALIDATION` when it is not one
 * @example
 * ```ts
 * const after = query.after === undefined ? undefined : decodeCursor(query.after, 2);
 * ```
 */
export function decodeCursor(cursor: string, parts: number): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== parts || !key.every((k) => typeof k === 'string')) {
    throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot list: the cursor is malformed', { hint: 'pass the `next` of the previous page unchanged' });
  }
  return key;
}
