/**
 * `npm run bench -- edge [--json]`: the gateway's data path (src/edge), 16 signals.
 *
 * - ingest_samples_per_s: Sparkplug B NDATA messages (16 metrics each, by alias) published by a
 *   test edge node to the Mosquitto broker on 127.0.0.1:1883, received by the SparkplugHost, passed
 *   through the data policy and added to the gateway's record buffer (one durable SQLite commit,
 *   WAL + synchronous=FULL, per sample): from the first publish until the last sample is durable.
 * - encrypt_records_per_s: Gateway.seal() of full batches (8192 records × 16 features, no label;
 *   BGV_AGG_8192, collective key of 3 parties) on one core: lease, pack, encrypt 16 ciphertexts,
 *   durable outbox commit, ack.
 * - upload_bytes_per_value: bytes of a full sealed batch (what the uploader sends) per encrypted
 *   value, and its ratio to 8 bytes (a float64).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SuiteResult } from './run.ts';
import { federation } from '../test/he/fixture.ts';
import { TestEdgeNode, BROKER, type TestMetric } from '../test/edge/connectors/_edge-node.ts';
import { SparkplugHost } from '../src/edge/connectors/sparkplug.ts';
import { Gateway } from '../src/edge/gateway.ts';
import { Outbox } from '../src/edge/outbox.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../src/edge/policy.ts';
import type { RawSample } from '../src/edge/sample.ts';
import { createSchema } from '../src/models/schema.ts';
import type { PublicKey, SealEngine } from '../src/he/backend/seal.ts';

const SIGNALS = Array.from({ length: 16 }, (_, j) => `s${String(j).padStart(2, '0')}`);
const MESSAGES = 3000;
const BATCHES = 3;
const POLICY = parsePolicy(`version: 1
minBatchSize: 64
signals:
${SIGNALS.map((s) => `  ${s}: { classification: internal, share: true, range: { lo: 0, hi: 100 }, outOfRange: clamp }`).join('\n')}
`);
const SCHEMA = createSchema({ features: SIGNALS.map((name) => ({ name, lo: 0, hi: 100 })) });

function gateway(dir: string, engine: SealEngine, publicKey: PublicKey, outbox: Outbox): Gateway {
  return Gateway.open({
    recordsPath: path.join(dir, 'records.db'), outbox, engine, publicKey, schema: SCHEMA, dataset: 'bench', plant: 'plant-bench',
    policy: POLICY, source: { kind: 'samples' }, batchSize: engine.params.slots,
  });
}

async function ingestRate(engine: SealEngine, publicKey: PublicKey): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-bench-ingest-'));
  const id = randomUUID().slice(0, 8);
  const group = `hedge-bench-${id}`;
  const outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  const gw = gateway(dir, engine, publicKey, outbox);
  const key = PseudonymKey.fromBytes(Buffer.alloc(32, 1));
  let failure: unknown;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => { resolveDone = r; });
  const host = new SparkplugHost({
    brokerUrl: BROKER, hostId: `hedge-bench-host-${id}`, groups: [group],
    onEvent: (event) => {
      try {
        gw.add(applyPolicy(POLICY, key, [event]).events);
      } catch (e) {
        failure = e;
      }
      if (gw.metrics().storedTotal >= MESSAGES + 1) resolveDone();
    },
  });
  const metrics: TestMetric[] = SIGNALS.map((name, j) => ({ name, alias: j + 1, type: 'Double', value: 50 }));
  const node = new TestEdgeNode(group, 'bench-node', metrics);
  try {
    await host.start();
    await node.connect();
    while (gw.metrics().storedTotal < 1) await new Promise((r) => setTimeout(r, 5)); // the birth's sample
    const t0 = performance.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const values: Record<number, number> = {};
      for (let j = 0; j < SIGNALS.length; j++) values[j + 1] = (i * 7 + j * 13) % 100;
      sends.push(node.ndata(values, { timestamp: Date.UTC(2026, 0, 1) + i * 10 }));
    }
    await Promise.all(sends);
    await done;
    const seconds = (performance.now() - t0) / 1000;
    if (failure !== undefined) throw failure;
    return MESSAGES / seconds;
  } finally {
    await node.close();
    await host.stop();
    gw.close();
    outbox.close();
    key.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function encryptAndSize(engine: SealEngine, publicKey: PublicKey): Promise<{ rate: number; bytesPerBatch: number; values: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-bench-seal-'));
  const outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
  const gw = gateway(dir, engine, publicKey, outbox);
  const key = PseudonymKey.fromBytes(Buffer.alloc(32, 2));
  try {
    const slots = engine.params.slots;
    for (let b = 0; b < BATCHES; b++) {
      const raw: RawSample[] = Array.from({ length: slots }, (_, i) => {
        const values: Record<string, number> = {};
        SIGNALS.forEach((s, j) => { values[s] = ((b * slots + i) * 7 + j * 13) % 100 + 0.25; });
        return { kind: 'sample', machineId: `m${i % 8}`, t: Date.UTC(2026, 0, 1) + (b * slots + i) * 1000, values };
      });
      gw.add(applyPolicy(POLICY, key, raw).events);
    }
    const t0 = performance.now();
    const sealed = gw.seal();
    const seconds = (performance.now() - t0) / 1000;
    if (sealed.length !== BATCHES) throw new Error(`sealed ${sealed.length} batches, expected ${BATCHES}`);
    return { rate: (BATCHES * slots) / seconds, bytesPerBatch: sealed[0].bytes, values: slots * SIGNALS.length };
  } finally {
    gw.close();
    outbox.close();
    key.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the suite. */
export async function run(): Promise<SuiteResult> {
  const f = await federation('BGV_AGG_8192', 3);
  const seal = await encryptAndSize(f.engine, f.pk);
  const ingest = await ingestRate(f.engine, f.pk);
  const perValue = seal.bytesPerBatch / seal.values;
  return {
    params: {
      preset: 'BGV_AGG_8192', parties: 3, features: SIGNALS.length, batch_records: f.engine.params.slots, sealed_batches: BATCHES,
      sparkplug_messages: MESSAGES, broker: BROKER, ingest_commit: 'one durable SQLite commit per sample (WAL, synchronous=FULL)',
    },
    metrics: {
      ingest_samples_per_s: Math.round(ingest),
      encrypt_records_per_s: Math.round(seal.rate),
      batch_bytes: seal.bytesPerBatch,
      upload_bytes_per_value: Number(perValue.toFixed(2)),
      upload_ratio_to_float64: Number((perValue / 8).toFixed(2)),
    },
  };
}
