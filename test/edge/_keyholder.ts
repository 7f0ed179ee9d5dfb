/**
 * A federation of key holders on disk for the key-holder tests: each with its own directory
 * (custody file, ledger, state), the ceremony run through the key holders alone, a lake of
 * batches sealed under the collective key, and a machine builder's receiver key. Exports only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineFor } from '../he/fixture.ts';
import type { PublicKey, SealEngine, SecretKey } from '../../src/he/backend/seal.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec, RelinKeysCodec } from '../../src/he/wire.ts';
import { sealBatch, type BatchRef } from '../../src/compute/batch.ts';
import { createSchema, quantiseDataset, type DatasetSchema, type QuantisedDataset } from '../../src/models/schema.ts';
import { CUSTODY_KDF_MIN } from '../../src/edge/custody.ts';
import { KeyHolder, type KeyHolderFederation, type KeyHolderPolicy } from '../../src/edge/keyholder.ts';

export const PRESET = 'TEST_INSECURE_BGV_2048';
export const UNLOCK = { passphrase: 'plant admin passphrase' };
export const FEATURES = [
  { name: 'speed', lo: 1000, hi: 3000 },
  { name: 'torque', lo: 0, hi: 80 },
  { name: 'temp', lo: 290, hi: 320 },
];

/** A settable clock shared by the key holders. */
export class Clock {
  t = Date.UTC(2026, 2, 1);
  now = (): number => this.t;
}

export interface KeyHolderFixture {
  engine: SealEngine;
  dirs: string[];
  receiverSk: SecretKey;
  receiverPk: PublicKey;
  receiver: Uint8Array;
  clock: Clock;
  open(i: number, federation?: Partial<KeyHolderFederation>, policy?: Partial<KeyHolderPolicy>): Promise<KeyHolder>;
  /** Removes the directories (close the key holders first). */
  cleanup(): void;
}

/** Creates `n` key-holder directories (custody at the KDF floor) and a receiver key. */
export async function keyHolders(n: number, policy: KeyHolderPolicy): Promise<KeyHolderFixture> {
  const engine = await engineFor(PRESET);
  const root = mkdtempSync(join(tmpdir(), 'hedge-keyholder-'));
  const dirs = Array.from({ length: n }, (_, i) => join(root, `plant-${i + 1}`));
  await Promise.all(dirs.map((d) => KeyHolder.init(d, engine, UNLOCK, { kdf: CUSTODY_KDF_MIN })));
  const receiverSk = engine.generateSecretKey();
  const receiverPk = engine.publicKeyFor(receiverSk);
  const receiver = PublicKeyCodec.toBytes(engine, receiverPk);
  const clock = new Clock();
  return {
    engine, dirs, receiverSk, receiverPk, receiver, clock,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
    open: (i, federation = {}, p = {}) => KeyHolder.open({
      dir: dirs[i], engine, unlock: UNLOCK, now: clock.now,
      policy: { ...policy, ...p }, federation: { receiver, parties: n, ...federation },
    }),
  };
}

/** The public-key and relinearization-key ceremonies, through the key holders only. */
export function ceremony(engine: SealEngine, holders: readonly KeyHolder[], id: string, seed: Uint8Array): { pk: PublicKey; relinKeys: Uint8Array } {
  const pkp = new PublicKeyProtocol(engine);
  const crp = pkp.sampleCrp(seed);
  const pkShares = holders.map((h) => PublicKeyShareCodec.fromBytes(engine, h.publicKeyShare(id, seed)));
  const pk = pkp.genPublicKey(pkp.aggregateShares(pkShares), crp);
  const rkp = new RelinKeyProtocol(engine);
  const r1 = holders.map((h) => RelinKeyShare1Codec.fromBytes(engine, h.relinKeyShareRound1(id, seed)));
  const agg1 = RelinKeyShare1Codec.toBytes(engine, rkp.aggregateShares1(r1));
  const r2 = holders.map((h) => RelinKeyShare2Codec.fromBytes(engine, h.relinKeyShareRound2(id, agg1)));
  using rk = rkp.genRelinKey(RelinKeyShare1Codec.fromBytes(engine, agg1), rkp.aggregateShares2(r2));
  return { pk, relinKeys: RelinKeysCodec.toBytes(engine, rk) };
}

function rows(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, () => FEATURES.map((f) => f.lo + (f.hi - f.lo) * rnd()));
}

export interface Lake {
  schema: DatasetSchema;
  plants: Map<string, QuantisedDataset>;
  pooled: QuantisedDataset;
  refs: BatchRef[];
  load: (ref: BatchRef) => Promise<Uint8Array>;
}

/** Three plants (2500, 1200 and 700 records), one batch of ≤ 1000 records per day, sealed under `pk`. */
export function lake(engine: SealEngine, pk: PublicKey): Lake {
  const schema = createSchema({ features: FEATURES });
  const plants = new Map<string, QuantisedDataset>();
  ([['p1', 2500], ['p2', 1200], ['p3', 700]] as const).forEach(([plant, n], k) => plants.set(plant, quantiseDataset(schema, rows(n, 7 + k))));
  const refs: BatchRef[] = [];
  const blobs = new Map<string, Uint8Array>();
  for (const [plant, data] of plants) {
    for (let start = 0, i = 0; start < data.x.length; start += 1000, i++) {
      const day = new Date(Date.UTC(2026, 0, 1 + i));
      const { ref, bytes } = sealBatch(engine, pk, schema, data, start, Math.min(1000, data.x.length - start), {
        dataset: 'test', plant, batchId: `${plant}-${i}`, from: day.toISOString(), to: new Date(day.getTime() + 86_399_000).toISOString(),
      });
      refs.push(ref);
      blobs.set(ref.contentHash, bytes);
    }
  }
  return { schema, plants, pooled: { x: [...plants.values()].flatMap((d) => d.x) }, refs, load: async (ref) => blobs.get(ref.contentHash)! };
}
