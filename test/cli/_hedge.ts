/**
 * Shared set-up of the CLI tests against a real `hedge cloud start`: `hedge …` as a process, its
 * JSON output, and the plants' encrypted uploads of dataset `mills` (schema `SCHEMA` of the cloud
 * model tests: speed, torque, an ok/fail label). Exports only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, ok, type Identity } from '../cloud/_https.ts';
import { SCHEMA } from '../cloud/_models.ts';
import type { PublicKey, SealEngine } from '../../src/he/backend/seal.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { createSchema, quantiseDataset } from '../../src/models/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const PLANTS = ['plant-a', 'plant-b', 'plant-c'];
export const PASSWORD = 'correct horse battery staple';

/** A finished `hedge` process. */
export interface Run { code: number; stdout: string; stderr: string }

/** Runs `hedge …` as a process with `env` added. */
export function hedge(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ['bin/hedge.js', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** Asserts that a run exited 0 and printed JSON on stdout; that JSON. */
export async function okJson<T = Record<string, unknown>>(p: Promise<Run>): Promise<T> {
  const r = await p;
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    assert.fail(`not JSON on stdout: ${r.stdout.slice(0, 300)}`);
  }
}

/** The label of a row of speed and torque: `fail` above 70 Nm. */
export function failLabel(rows: readonly number[][]): string[] {
  return rows.map((r) => (r[1] > 70 ? 'fail' : 'ok'));
}

/**
 * Uploads one batch of 200 rows of dataset `mills` from each plant's gateway, sealed under `pk`;
 * row `i` of plant number `k` is `row(i, k)`. Returns every plant's rows, in order.
 */
export async function uploadRows(
  base: string, engine: SealEngine, pk: PublicKey, gateways: ReadonlyMap<string, Identity>, row: (i: number, k: number) => number[],
): Promise<number[][]> {
  const schema = createSchema(SCHEMA);
  const allRows: number[][] = [];
  for (const [k, p] of PLANTS.entries()) {
    const rows = Array.from({ length: 200 }, (_, i) => row(i, k));
    allRows.push(...rows);
    const data = quantiseDataset(schema, rows, failLabel(rows));
    const { bytes } = sealBatch(engine, pk, schema, data, 0, 200, { dataset: 'mills', plant: p, batchId: `${p}-0`, from: '2026-01-01T00:00:00Z', to: '2026-01-01T23:00:00Z' });
    await ok(call(base, gateways.get(p)!, 'POST', `/v1/tenants/${p}/datasets/mills/batches`, bytes), 201);
  }
  return allRows;
}
