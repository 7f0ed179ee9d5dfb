/**
 * Shared set-up of the gateway and uploader tests: a federation at the insecure test size, a real
 * lake (PGlite + a FileBlobStore in a temp dir), a small HTTP front of the lake that speaks the
 * HttpSink contract and can be stopped, the rows the tests ingest, and decryption of the lake's
 * batches with the ideal key (the sum of the shares, which no real party holds). Exports only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { federation, type Federation } from '../he/fixture.ts';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { openBatch } from '../../src/compute/batch.ts';
import { columnLayout } from '../../src/compute/layout.ts';
import { createSchema, quantiseDataset, type DatasetSchema } from '../../src/models/schema.ts';
import type { SecretKey, SealEngine } from '../../src/he/backend/seal.ts';
import type { RawSample } from '../../src/edge/sample.ts';

export const PRESET = 'TEST_INSECURE_BGV_2048';
export const DATASET = 'mills';
export const PLANT = 'plant-a';
export const TOKEN = 'token-of-plant-a';

/** The dataset's schema literal: the two shared signals of POLICY_YAML, the failure label. */
export const SCHEMA_LITERAL = {
  features: [{ name: 'air_temperature', lo: 290, hi: 310, unit: 'K' }, { name: 'torque', lo: 0, hi: 80, unit: 'Nm' }],
  label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] },
} as const;
export const SCHEMA: DatasetSchema = createSchema(SCHEMA_LITERAL);

const T0 = Date.UTC(2026, 0, 1);

/**
 * Raw sample number `r`: values inside POLICY_YAML's ranges, distinct after quantisation for every
 * r < 700 000 (air temperature steps 0.01 K, torque 0.1 Nm per thousand rows), so that a decrypted
 * batch tells exactly which rows it holds.
 */
export function rawRow(r: number): RawSample {
  return {
    kind: 'sample', machineId: `mill-${r % 3}`, t: T0 + r * 1000,
    values: { air_temperature: 295 + (r % 1000) / 100, torque: 3 + Math.floor(r / 1000) / 10, machine_failure: r % 7 === 0 ? 1 : 0, operator_badge: 4711 },
  };
}

/** The quantised record the lake must hold for row `r`, as `x0,x1|y`. */
export function expectedRecord(r: number): string {
  const v = rawRow(r).values;
  const q = quantiseDataset(SCHEMA, [[v.air_temperature, v.torque]], [v.machine_failure === 1 ? 'failure' : 'ok']);
  return `${q.x[0].join(',')}|${q.y![0]}`;
}

/** A federation of three key holders at the test size (one engine per process). */
export function testFederation(): Promise<Federation> {
  return federation(PRESET, 3);
}

export interface TestLake {
  sql: SqlClient;
  lake: Lake;
  dir: string;
  close(): Promise<void>;
}

/** A real lake on PGlite with the dataset registered. */
export async function testLake(engine: SealEngine): Promise<TestLake> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-gw-lake-'));
  const sql = await openSql({ databaseUrl: null });
  const lake = await Lake.open({ sql, blobs: await FileBlobStore.open(dir) });
  // `federation` is being added to datasets (src/cloud); a variable, not a literal, fits both signatures.
  const definition = { id: DATASET, owner: 'builder', federation: DATASET, params: engine.params.name, schema: SCHEMA_LITERAL, retentionDays: 3650 };
  await lake.createDataset(definition);
  return {
    sql, lake, dir,
    close: async () => {
      await sql.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every record of every batch of the dataset in the lake, decrypted with the ideal key, batch by batch. */
export async function lakeRecords(lake: Lake, engine: SealEngine, ideal: SecretKey): Promise<string[]> {
  const out: string[] = [];
  const layout = columnLayout(SCHEMA);
  const d = SCHEMA.features.length;
  const refs = (await lake.batches(DATASET)).sort((a, b) => a.batchId.localeCompare(b.batchId));
  for (const ref of refs) {
    const { meta, columns } = openBatch(engine, await lake.load(ref), ref.contentHash);
    const slots = columns.map((ct) => {
      using pt = engine.decrypt(ct, ideal);
      ct[Symbol.dispose]();
      return engine.decodeIntegers(pt);
    });
    for (let i = 0; i < meta.recordCount; i++) {
      const base = layout.findIndex((role, c) => role.kind === 'indicator' && slots[c][i] === 1n);
      const role = layout[base];
      out.push(`${Array.from({ length: d }, (_, j) => Number(slots[base + 1 + j][i])).join(',')}|${role?.kind === 'indicator' ? role.cls : 'none'}`);
    }
  }
  return out;
}

/** The HTTP front of a lake: the HttpSink contract, a switch to go down, and what it answered. */
export interface LakeFront {
  readonly url: string;
  readonly port: number;
  /** Every status answered, in order. */
  readonly statuses: number[];
  /** Ingest the next n uploads, then drop the connection instead of answering (a lost answer). */
  dropAnswers: number;
  /** Stops listening and cuts open connections (connection refused from now on). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Serves `POST /v1/tenants/:plant/datasets/:dataset/batches` (the cloud's route) over a lake for the bearer token {@link TOKEN}. */
export async function serveLake(lake: Lake, engine: SealEngine): Promise<LakeFront> {
  let server: Server | undefined;
  let port = 0;
  const front: LakeFront = {
    url: '', port: 0, statuses: [], dropAnswers: 0,
    down: async () => {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
    up: async () => {
      const s = createServer((req, res) => { handle(req, res).catch(() => res.destroy()); });
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
      port = (s.address() as AddressInfo).port;
      server = s;
    },
    close: () => front.down(),
  };
  const answer = (res: ServerResponse, status: number, body: unknown): void => {
    front.statuses.push(status);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/v1\/tenants\/([^/]+)\/datasets\/([^/]+)\/batches$/.exec(req.url ?? '');
    if (req.method !== 'POST' || m === null) return answer(res, 404, { code: 'CLOUD_ERR_ROUTE_NOT_FOUND', message: 'no route' });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(res, 401, { code: 'CLOUD_ERR_UNAUTHENTICATED', message: 'no credentials' });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bytes = new Uint8Array(Buffer.concat(chunks));
    try {
      const { status } = await lake.ingest({ dataset: decodeURIComponent(m[2]), plant: decodeURIComponent(m[1]), bytes, engine });
      if (front.dropAnswers > 0) {
        front.dropAnswers--;
        front.statuses.push(0);
        res.destroy();
        return;
      }
      answer(res, status === 'stored' ? 201 : 200, { status });
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'CLOUD_ERR_INTERNAL';
      const status = { CLOUD_ERR_CONFLICT: 409, CLOUD_ERR_BATCH_REJECTED: 422, CLOUD_ERR_BODY_TOO_LARGE: 413, CLOUD_ERR_NOT_FOUND: 404 }[code] ?? 500;
      answer(res, status, { code, message: (e as Error).message });
    }
  }
  await front.up();
  Object.defineProperty(front, 'port', { get: () => port });
  Object.defineProperty(front, 'url', { get: () => `http://127.0.0.1:${port}` });
  return front;
}
