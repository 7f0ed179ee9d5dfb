/**
 * The durable Merkle tree of one log: entries (leaf bytes) and every complete
 * subtree hash, in the PostgreSQL tables of `schema.ts`. Appends are batched
 * in one transaction each; the right frontier (the complete subtrees of the
 * current size) is kept in memory so that an append hashes only new nodes.
 * Proofs read O(log n) stored nodes in one query.
 *
 * This layer takes raw bytes. Hedge code appends through
 * {@link TransparencyLog}, which admits only catalogue events.
 */
import { assertArray, assertBytes, assertIndex } from '../assert.ts';
import { TrustError, TrustErrorCode } from '../errors.ts';
import { emptyRoot, hashChildren, hashLeaf } from '../merkle/hash.ts';
import type { LeafRange, NodeKey } from '../merkle/plan.ts';
import { consistencyRanges, frontierNodes, inclusionRanges, rangeNodes } from '../merkle/plan.ts';
import type { SqlClient, SqlQueryable } from '../storage/sql.ts';
import { bytesFromRow } from '../storage/sql.ts';
import { migrate } from './schema.ts';

interface FrontierNode {
  readonly level: number;
  readonly hash: Uint8Array;
}

/** What one append wrote. */
export interface AppendResult {
  /** Index of the first appended entry. */
  readonly first: number;
  /** Tree size after the append. */
  readonly size: number;
  /** Root hash after the append. */
  readonly root: Uint8Array;
}

const keyOf = (level: number, index: number): string => `${level}/${index}`;

function outOfRange(op: string, reason: string): TrustError {
  return new TrustError(TrustErrorCode.OUT_OF_RANGE, `cannot ${op}: ${reason}`);
}

function foldRight(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRoot();
  return hashes.reduceRight((acc, h) => hashChildren(h, acc));
}

/**
 * A durable RFC 6962 Merkle tree over SQL storage.
 *
 * @example
 * ```ts
 * const store = await MerkleStore.open(await openSql(), 'log.hedge.example');
 * await store.append([new TextEncoder().encode('entry')]);
 * const proof = await store.inclusionProof(0, store.size);
 * ```
 */
export class MerkleStore {
  readonly sql: SqlClient;
  readonly origin: string;
  /** Row id of this log in `trust_log`. */
  readonly logId: number;
  #size: number;
  #frontier: FrontierNode[];

  private constructor(sql: SqlClient, origin: string, logId: number, size: number, frontier: FrontierNode[]) {
    this.sql = sql;
    this.origin = origin;
    this.logId = logId;
    this.#size = size;
    this.#frontier = frontier;
  }

  /**
   * Opens (creating if needed) the tree of log `origin` and loads its frontier.
   *
   * @throws {TypeError} wrong argument types
   * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails or is inconsistent
   * @example
   * ```ts
   * const store = await MerkleStore.open(sql, 'log.hedge.example');
   * ```
   */
  static async open(sql: SqlClient, origin: string): Promise<MerkleStore> {
    if (typeof origin !== 'string' || origin.length === 0) throw new TypeError('origin must be a non-empty string');
    const { logId, size, frontier } = await sql.transaction(async (tx) => {
      await migrate(tx);
      await tx.query('INSERT INTO trust_log (origin, size, root) VALUES ($1, 0, $2) ON CONFLICT (origin) DO NOTHING', [origin, emptyRoot()]);
      const [row] = await tx.query<{ id: number; size: number | string }>('SELECT id, size FROM trust_log WHERE origin = $1', [origin]);
      const size = Number(row.size);
      return { logId: row.id, size, frontier: await loadFrontier(tx, row.id, size) };
    });
    return new MerkleStore(sql, origin, logId, size, frontier);
  }

  /** Tree size as last seen by this process. */
  get size(): number {
    return this.#size;
  }

  /** Root hash of the tree at {@link size}. */
  get root(): Uint8Array {
    return foldRight(this.#frontier.map((n) => n.hash));
  }

  /**
   * Re-reads the size from storage (another process may have appended).
   *
   * @throws {TrustError} `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * await store.refresh();
   * ```
   */
  async refresh(): Promise<number> {
    const [row] = await this.sql.query<{ size: number | string }>('SELECT size FROM trust_log WHERE id = $1', [this.logId]);
    const size = Number(row.size);
    if (size !== this.#size) {
      this.#frontier = await loadFrontier(this.sql, this.logId, size);
      this.#size = size;
    }
    return size;
  }

  /**
   * Appends entries in one transaction (all or none).
   *
   * @throws {TypeError} `entries` is not an array of `Uint8Array`
   * @throws {RangeError} the batch is empty
   * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses
   * @example
   * ```ts
   * const { first, size } = await store.append(entries);
   * ```
   */
  async append(entries: readonly Uint8Array[]): Promise<AppendResult> {
    assertArray(entries, 'entries');
    if (entries.length === 0) throw new RangeError('entries must not be empty');
    entries.forEach((e, i) => assertBytes(e, `entries[${i}]`));
    const result = await this.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ size: number | string }>('SELECT size FROM trust_log WHERE id = $1 FOR UPDATE', [this.logId]);
      const first = Number(row.size);
      if (first + entries.length > Number.MAX_SAFE_INTEGER) throw outOfRange('append', 'log would exceed 2^53 entries');
      const frontier = first === this.#size ? [...this.#frontier] : await loadFrontier(tx, this.logId, first);
      const levels: number[] = [];
      const indices: number[] = [];
      const hashes: Uint8Array[] = [];
      let size = first;
      for (const entry of entries) {
        const leaf = hashLeaf(entry);
        levels.push(0);
        indices.push(size);
        hashes.push(leaf);
        frontier.push({ level: 0, hash: leaf });
        size++;
        while (frontier.length >= 2 && frontier[frontier.length - 1].level === frontier[frontier.length - 2].level) {
          const right = frontier.pop() as FrontierNode;
          const left = frontier.pop() as FrontierNode;
          const level = left.level + 1;
          const hash = hashChildren(left.hash, right.hash);
          frontier.push({ level, hash });
          levels.push(level);
          indices.push(size / 2 ** level - 1);
          hashes.push(hash);
        }
      }
      const root = foldRight(frontier.map((n) => n.hash));
      await tx.query(
        'INSERT INTO trust_log_entry (log_id, idx, data) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])',
        [this.logId, entries.map((_, i) => first + i), entries],
      );
      await tx.query(
        'INSERT INTO trust_log_node (log_id, level, idx, hash) SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])',
        [this.logId, levels, indices, hashes],
      );
      await tx.query('UPDATE trust_log SET size = $2, root = $3 WHERE id = $1', [this.logId, size, root]);
      return { first, size, root, frontier };
    });
    this.#size = result.size;
    this.#frontier = result.frontier;
    return { first: result.first, size: result.size, root: result.root };
  }

  /**
   * The entry bytes at `index`.
   *
   * @throws {TypeError} / {RangeError} `index` is not a non-negative safe integer
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE` beyond the log; `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const bytes = await store.entry(0);
   * ```
   */
  async entry(index: number): Promise<Uint8Array> {
    return (await this.entries(index, index + 1))[0];
  }

  /**
   * The entry bytes of `[lo, hi)`.
   *
   * @throws {TypeError} / {RangeError} bad indices
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE` beyond the log; `TRUST_ERR_STORAGE` when rows are missing
   * @example
   * ```ts
   * const batch = await store.entries(0, 100);
   * ```
   */
  async entries(lo: number, hi: number): Promise<Uint8Array[]> {
    assertIndex(lo, 'lo');
    assertIndex(hi, 'hi');
    if (lo > hi) throw new RangeError(`lo ${lo} is above hi ${hi}`);
    if (hi > this.#size) await this.refresh();
    if (hi > this.#size) throw outOfRange('read entries', `[${lo}, ${hi}) is beyond size ${this.#size}`);
    const rows = await this.sql.query<{ data: unknown }>(
      'SELECT data FROM trust_log_entry WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [this.logId, lo, hi],
    );
    if (rows.length !== hi - lo) throw new TrustError(TrustErrorCode.STORAGE, `cannot read entries: ${hi - lo - rows.length} rows missing`);
    return rows.map((r) => bytesFromRow(r.data));
  }

  /**
   * Root hash of the tree at an earlier (or the current) `size`.
   *
   * @throws {TypeError} / {RangeError} bad size
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE` beyond the log; `TRUST_ERR_STORAGE`
   * @example
   * ```ts
   * const oldRoot = await store.rootAt(1000);
   * ```
   */
  async rootAt(size: number): Promise<Uint8Array> {
    assertIndex(size, 'size');
    await this.#checkSize(size, 'compute root');
    if (size === 0) return emptyRoot();
    const [hash] = await this.#rangeHashes(this.sql, [{ lo: 0, hi: size }]);
    return hash;
  }

  /**
   * The RFC 9162 inclusion proof of entry `index` in the tree of `size`.
   *
   * @throws {TypeError} / {RangeError} bad arguments
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE` when `index ≥ size` or `size` is beyond the log
   * @example
   * ```ts
   * const proof = await store.inclusionProof(5, store.size);
   * ```
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    assertIndex(index, 'index');
    assertIndex(size, 'size');
    if (index >= size) throw outOfRange('prove inclusion', `index ${index} is not below size ${size}`);
    await this.#checkSize(size, 'prove inclusion');
    return this.#rangeHashes(this.sql, inclusionRanges(index, size));
  }

  /**
   * The RFC 9162 consistency proof from size `size1` to `size2`
   * (`0 < size1 ≤ size2`; empty when equal).
   *
   * @throws {TypeError} / {RangeError} bad arguments
   * @throws {TrustError} `TRUST_ERR_OUT_OF_RANGE` for `size1 = 0`, `size1 > size2` or sizes beyond the log
   * @example
   * ```ts
   * const proof = await store.consistencyProof(oldSize, store.size);
   * ```
   */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    assertIndex(size1, 'size1');
    assertIndex(size2, 'size2');
    if (size1 === 0 || size1 > size2) throw outOfRange('prove consistency', `need 0 < size1 ≤ size2, got ${size1}, ${size2}`);
    await this.#checkSize(size2, 'prove consistency');
    if (size1 === size2) return [];
    return this.#rangeHashes(this.sql, consistencyRanges(size1, size2));
  }

  async #checkSize(size: number, op: string): Promise<void> {
    if (size > this.#size) await this.refresh();
    if (size > this.#size) throw outOfRange(op, `size ${size} is beyond the log size ${this.#size}`);
  }

  /** The Merkle Tree Hash of each range, reading every needed node in one query. */
  async #rangeHashes(q: SqlQueryable, ranges: LeafRange[]): Promise<Uint8Array[]> {
    const perRange = ranges.map(rangeNodes);
    const nodes = await readNodes(q, this.logId, perRange.flat());
    return perRange.map((keys) => foldRight(keys.map((k) => nodes.get(keyOf(k.level, k.index)) as Uint8Array)));
  }
}

async function readNodes(q: SqlQueryable, logId: number, keys: NodeKey[]): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (keys.length === 0) return out;
  const rows = await q.query<{ level: number; idx: number | string; hash: unknown }>(
    `SELECT n.level, n.idx, n.hash FROM trust_log_node n
       JOIN unnest($2::smallint[], $3::bigint[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx
      WHERE n.log_id = $1`,
    [logId, keys.map((k) => k.level), keys.map((k) => k.index)],
  );
  for (const r of rows) out.set(keyOf(r.level, Number(r.idx)), bytesFromRow(r.hash));
  for (const k of keys) {
    if (!out.has(keyOf(k.level, k.index))) {
      throw new TrustError(TrustErrorCode.STORAGE, `cannot read tree: node level ${k.level} index ${k.index} is missing`);
    }
  }
  return out;
}

async function loadFrontier(q: SqlQueryable, logId: number, size: number): Promise<FrontierNode[]> {
  const keys = frontierNodes(size);
  const nodes = await readNodes(q, logId, keys);
  return keys.map((k) => ({ level: k.level, hash: nodes.get(keyOf(k.level, k.index)) as Uint8Array }));
}
