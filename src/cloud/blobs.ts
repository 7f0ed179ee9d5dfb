/**
 * The lake's content-addressed blob store on the file system: a blob's name is
 * the SHA-256 of its bytes, so a write is idempotent and a read verifies
 * itself. Writes go to a temporary file that is fsynced and renamed into
 * place (and the folder fsynced), so a crash leaves either the whole blob or
 * none. Worker processes on other machines share it through a shared folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CLOUD_ERR, CloudError } from './errors.ts';

const HASH = /^[0-9a-f]{64}$/;

/** A content-addressed blob store in a folder. */
export class FileBlobStore {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Opens (creating it if needed) the store in `root`.
   *
   * @example
   * ```ts
   * const blobs = await FileBlobStore.open('/var/lib/hedge/lake');
   * ```
   */
  static async open(root: string): Promise<FileBlobStore> {
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('root must be a folder path');
    await mkdir(root, { recursive: true });
    return new FileBlobStore(path.resolve(root));
  }

  #file(hash: string): string {
    if (typeof hash !== 'string' || !HASH.test(hash)) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot address blob: '${String(hash)}' is not a SHA-256`);
    return path.join(this.root, hash.slice(0, 2), hash);
  }

  /**
   * Stores bytes; returns their SHA-256 (hex). Storing the same bytes again is a no-op.
   *
   * @example
   * ```ts
   * const hash = await blobs.put(bytes);
   * ```
   */
  async put(bytes: Uint8Array): Promise<string> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const file = this.#file(hash);
    if (await exists(file)) return hash;
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.${hash}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return hash;
  }

  /**
   * The bytes of a blob, checked against their name.
   *
   * @throws {CloudError} `CLOUD_ERR_NOT_FOUND` when absent; `CLOUD_ERR_INTERNAL` when the file no
   *   longer matches its hash (disk corruption).
   */
  async get(hash: string): Promise<Uint8Array> {
    const file = this.#file(hash);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (cause) {
      throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read blob ${hash.slice(0, 16)}…: it is not in the lake`, { cause });
    }
    if (createHash('sha256').update(bytes).digest('hex') !== hash) throw new CloudError(CLOUD_ERR.INTERNAL, `cannot read blob ${hash.slice(0, 16)}…: its bytes no longer match its hash`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Whether a blob is stored. */
  async has(hash: string): Promise<boolean> {
    return exists(this.#file(hash));
  }

  /** Deletes a blob (no-op when absent). */
  async delete(hash: string): Promise<void> {
    await rm(this.#file(hash), { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
