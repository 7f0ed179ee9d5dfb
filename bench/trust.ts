/**
 * Trust-layer benchmark: `npm run bench -- trust --json`.
 *
 * - `log_append_per_s`: durable appends of catalogue events (committed
 *   transactions of `append_batch` events) on PGlite (in process) and on the
 *   PostgreSQL server (`DATABASE_URL`, default 127.0.0.1:5432, in a scratch
 *   database created and dropped here; `null` when unreachable).
 * - `inclusion_proof_ms`, `consistency_proof_ms`: median time to produce and
 *   verify one proof (random index / random old size) in a log of
 *   `proof_tree_entries` entries (1,000,000), built by batched appends on the
 *   PostgreSQL server when reachable, else PGlite.
 *
 * Sizes can be lowered for a quick run: HEDGE_BENCH_TRUST_ENTRIES, HEDGE_BENCH_TRUST_APPENDS.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SuiteResult } from './run.ts';
import { encodeEvent, EVENT_KINDS, hashPayload, type LogEvent } from '../src/trust/events.ts';
import { hashLeaf } from '../src/trust/merkle/hash.ts';
import { verifyConsistency, verifyInclusion } from '../src/trust/merkle/verify.ts';
import { MerkleStore } from '../src/trust/log/merkle-store.ts';
import { TransparencyLog } from '../src/trust/log/transparency-log.ts';
import { KeyRing } from '../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../src/trust/note/keys.ts';
import { openSql, type SqlClient } from '../src/trust/storage/sql.ts';

const PROOF_TREE_ENTRIES = Number(process.env.HEDGE_BENCH_TRUST_ENTRIES ?? 1_000_000);
const APPENDS = Number(process.env.HEDGE_BENCH_TRUST_APPENDS ?? 20_000);
const APPEND_BATCH = 500;
const BUILD_BATCH = 20_000;
const PROOFS = 200;
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function event(i: number): LogEvent {
  return {
    kind: EVENT_KINDS[i % EVENT_KINDS.length],
    time: new Date(Date.UTC(2025, 0, 1) + i).toISOString(),
    actor: 'gateway.plant-a',
    tenant: 'plant-a',
    subject: `batch-${i}`,
    payloadHash: hashPayload(new Uint8Array(new Float64Array([i]).buffer)),
    details: sampleDetails(EVENT_KINDS[i % EVENT_KINDS.length], i),
  };
}

function sampleDetails(kind: LogEvent['kind'], i: number): Record<string, string | number> {
  switch (kind) {
    case 'key_ceremony': return { ceremony: 'c1', step: 'public_share' };
    case 'ingest': return { dataset: 'spindle', records: 4096 };
    case 'job': return { dataset: 'spindle', state: 'completed' };
    case 'decryption_share': return { round: `r${i}`, ciphertext: hashPayload(new Uint8Array([i & 255])) };
    case 'release': return { model: 'ridge', version: i };
    case 'deployment': return { model: 'ridge', version: i, fleet: 'press' };
    case 'activation': return { model: 'ridge', version: i, action: 'activate' };
    case 'inference_summary': return { model: 'ridge', version: 1, inferences: 1000, abstained: 3 };
    case 'access_denied': return { action: 'job.approve', resource: `job-${i}` };
    case 'deletion': return { dataset: 'spindle', records: 4096, reason: 'retention' };
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function withScratchDatabase<T>(fn: (url: string) => Promise<T>): Promise<T | null> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `hedge_trust_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** Durable appends through the full TransparencyLog path (validate, encode, hash, commit). */
async function appendRate(sql: SqlClient): Promise<number> {
  const signer = generateNoteSigner('bench.log/append');
  const log = await TransparencyLog.open({ sql, origin: 'bench.log/append', keys: new KeyRing([{ signer, notBefore: new Date(0) }]) });
  const events = Array.from({ length: APPENDS }, (_, i) => event(i));
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += APPEND_BATCH) await log.append(events.slice(i, i + APPEND_BATCH));
  const seconds = (performance.now() - t0) / 1000;
  return APPENDS / seconds;
}

async function proofTimes(sql: SqlClient): Promise<{ inclusion: number; consistency: number; build_s: number }> {
  const store = await MerkleStore.open(sql, 'bench.log/proofs');
  const t0 = performance.now();
  for (let i = store.size; i < PROOF_TREE_ENTRIES; i += BUILD_BATCH) {
    const n = Math.min(BUILD_BATCH, PROOF_TREE_ENTRIES - i);
    await store.append(Array.from({ length: n }, (_, j) => encodeEvent(event(i + j))));
  }
  const build_s = (performance.now() - t0) / 1000;
  const size = store.size;
  const root = store.root;
  const inclusion: number[] = [];
  const consistency: number[] = [];
  for (let k = 0; k < PROOFS; k++) {
    const index = Math.floor(Math.random() * size);
    const leaf = hashLeaf(encodeEvent(event(index)));
    let t = performance.now();
    verifyInclusion(index, size, leaf, await store.inclusionProof(index, size), root);
    inclusion.push(performance.now() - t);
    const old = 1 + Math.floor(Math.random() * (size - 1));
    const oldRoot = await store.rootAt(old);
    t = performance.now();
    verifyConsistency(old, size, await store.consistencyProof(old, size), oldRoot, root);
    consistency.push(performance.now() - t);
  }
  return { inclusion: median(inclusion), consistency: median(consistency), build_s };
}

/** Runs the trust benchmark. */
export async function run(): Promise<SuiteResult> {
  const pglite = await openSql({ databaseUrl: null });
  let pgliteRate: number;
  try {
    pgliteRate = await appendRate(pglite);
  } finally {
    await pglite.close();
  }
  const postgresRate = await withScratchDatabase(async (url) => {
    const sql = await openSql({ databaseUrl: url });
    try {
      return await appendRate(sql);
    } finally {
      await sql.close();
    }
  });
  let engine = 'postgres';
  let proofs = await withScratchDatabase(async (url) => {
    const sql = await openSql({ databaseUrl: url });
    try {
      return await proofTimes(sql);
    } finally {
      await sql.close();
    }
  });
  if (proofs === null) {
    engine = 'pglite';
    const sql = await openSql({ databaseUrl: null });
    try {
      proofs = await proofTimes(sql);
    } finally {
      await sql.close();
    }
  }
  return {
    params: {
      append_events: APPENDS,
      append_batch: APPEND_BATCH,
      proof_tree_entries: PROOF_TREE_ENTRIES,
      proof_tree_engine: engine,
      proof_tree_build_batch: BUILD_BATCH,
      proofs_sampled: PROOFS,
      proof_timing: 'median of fetch from storage + RFC 9162 verification',
    },
    metrics: {
      log_append_per_s: { pglite: Math.round(pgliteRate), postgres: postgresRate === null ? null : Math.round(postgresRate) },
      inclusion_proof_ms: Number(proofs.inclusion.toFixed(3)),
      consistency_proof_ms: Number(proofs.consistency.toFixed(3)),
      proof_tree_build_s: Number(proofs.build_s.toFixed(1)),
    },
  };
}
