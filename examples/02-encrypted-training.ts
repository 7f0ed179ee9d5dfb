/**
 * Example 02 — training on ciphertexts.
 *
 * Example 01 fitted models from moments computed in plaintext. Here the same moments are computed
 * the way hedge does it for real: three plants encrypt their records under a key that no one
 * holds, the cloud multiplies and adds ciphertexts it cannot read, and the machine builder receives
 * the result re-encrypted to its own key. The numbers that come out are exactly — to the last bit —
 * those of example 01.
 *
 * Run: node examples/02-encrypted-training.ts   (on the pinned Node: npx node …)
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SealEngine } from '../src/he/backend/seal.ts';
import { preset } from '../src/he/params.ts';
import { PartySecret } from '../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../src/he/mhe/relin-key-gen.ts';
import { ShareLedger } from '../src/he/mhe/ledger.ts';
import { sumRevealInput } from '../src/he/mhe/sum-input.ts';
import { RelinKeysCodec } from '../src/he/wire.ts';
import { aggregateJob, combineForReceiver, makeRevealShare, planJob, receiveMoments, sealBatch, type BatchRef } from '../src/compute/index.ts';
import { computeMoments, createSchema, evaluateDiscriminant, fitDiscriminant, quantiseDataset } from '../src/models/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (s = ''): void => console.log(s);

// ─── 1. The federation and its key ───────────────────────────────────────────────────────────
// Why: the decryption key must not exist anywhere. Each key holder — three plants and the machine
// builder — draws its own secret share sᵢ; the public key of s = Σ sᵢ is computed from public
// shares (PETS 2021, Mouchet et al.). The relinearization key, needed once per job after the
// products, comes out of two more rounds of public shares.
const engine = await SealEngine.create(preset('BGV_AGG_8192'));
const holders = ['plant-L', 'plant-M', 'plant-H', 'builder'];
const secrets = holders.map(() => PartySecret.generate(engine));
const seed = new Uint8Array(32).fill(2);
const pkp = new PublicKeyProtocol(engine);
const crp = pkp.sampleCrp(seed);
const collectivePk = pkp.genPublicKey(pkp.aggregateShares(secrets.map((s) => pkp.genShare(s, crp))), crp);
const rkp = new RelinKeyProtocol(engine);
const rcrp = rkp.sampleCrp(seed);
const round1 = secrets.map((s) => rkp.genShareRound1(s, rcrp));
const agg1 = rkp.aggregateShares1(round1.map((r) => r.public));
const rk = rkp.genRelinKey(agg1, rkp.aggregateShares2(secrets.map((s, i) => rkp.genShareRound2(s, round1[i].secret, agg1))));
say(`1. Key ceremony: ${holders.length} key holders, ${engine.params.name} (N = ${engine.n}, t = ${engine.plainModulus}); no one holds the decryption key.`);

// ─── 2. Plants encrypt their records ─────────────────────────────────────────────────────────
// Why: column-major packing puts one record per slot, so one ciphertext carries a feature of 8192
// records. For a categorical label each class gets its own block of columns masked by the class
// indicator δ, so per-class moments need products of degree two only.
const lines = readFileSync(path.resolve(repoRoot, '../shared/data/ai4i2020.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
const records = lines.map((l) => {
  const f = l.split(',');
  return { plant: f[2], row: [+f[3], +f[4], +f[5], +f[6], +f[7]], label: f[8] === '1' ? 'failure' : 'ok' };
});
const schema = createSchema({
  features: [
    { name: 'air_temperature', lo: 295, hi: 305 }, { name: 'process_temperature', lo: 305, hi: 315 },
    { name: 'rotational_speed', lo: 1100, hi: 2900 }, { name: 'torque', lo: 0, hi: 80 }, { name: 'tool_wear', lo: 0, hi: 260 },
  ],
  label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] },
});
const lake = new Map<string, Uint8Array>();
const refs: BatchRef[] = [];
for (const plant of ['L', 'M', 'H']) {
  const mine = records.filter((r) => r.plant === plant);
  const data = quantiseDataset(schema, mine.map((r) => r.row), mine.map((r) => r.label));
  const { ref, bytes } = sealBatch(engine, collectivePk, schema, data, 0, mine.length, {
    dataset: 'ai4i', plant: `plant-${plant}`, batchId: `${plant}-0001`, from: '2026-11-01T00:00:00Z', to: '2026-11-21T23:59:59Z',
  });
  lake.set(ref.contentHash, bytes);
  refs.push(ref);
  say(`2. plant-${plant}: ${ref.recordCount} records → ${ref.columns} ciphertexts, ${(bytes.length / 2 ** 20).toFixed(1)} MiB, sha256 ${ref.contentHash.slice(0, 12)}…`);
}

// ─── 3. The cloud plans and computes ─────────────────────────────────────────────────────────
// Why: guards come first — no result over fewer than 3 plants or 1000 records, and no sum that
// could wrap modulo t. Then each product is one ciphertext multiplication per batch, added
// without relinearizing; relinearization happens once per statistic at the end.
const guards = { minPlants: 3, minRecords: 1000 };
const plan = planJob(engine, schema, { features: schema.features.map((f) => f.name), label: true }, refs, guards);
const t0 = performance.now();
const accumulators = await aggregateJob(engine, plan, { threads: 2, relinKeys: RelinKeysCodec.toBytes(engine, rk), load: async (ref) => lake.get(ref.contentHash)! });
say(`\n3. Cloud: ${plan.records} records from ${plan.plants.length} plants, ${plan.aggregation.stats.length} encrypted statistics in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);

// ─── 4. The key holders reveal the sums to the builder only ──────────────────────────────────
// Why: a slot sum is N times the constant coefficient of the plaintext, so each key holder
// contributes one flooded scalar per statistic, re-encrypted to the builder's own key. The cloud
// combines shares it cannot read; the builder decrypts sums and nothing else.
const builderSk = engine.generateSecretKey();
const builderPk = engine.publicKeyFor(builderSk);
const input = sumRevealInput(engine, accumulators);
const request = { jobId: 'example-02', plan, input, receiver: builderPk, parties: holders.length };
const shares = secrets.map((s) => makeRevealShare(engine, s, request, guards, new ShareLedger()));
const switched = combineForReceiver(engine, input, shares);
const moments = receiveMoments(engine, schema, plan, switched, builderSk);
say(`4. Reveal: ${shares.length} shares of ${(shares[0].length / 1024).toFixed(0)} KiB each; the builder decrypts ${plan.aggregation.stats.length} sums.`);

// ─── 5. Exactly the plaintext moments, and the model ─────────────────────────────────────────
const plain = computeMoments(schema, quantiseDataset(schema, records.map((r) => r.row), records.map((r) => r.label)));
const stringify = (m: unknown): string => JSON.stringify(m, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
if (stringify(moments) !== stringify(plain)) throw new Error('encrypted moments differ from the plaintext moments');
const lda = fitDiscriminant(schema, moments);
const ev = evaluateDiscriminant(lda, records.map((r) => r.row), records.map((r) => r.label));
say(`\n5. Encrypted moments equal the plaintext moments exactly (count ${moments.count}, failures ${moments.label?.kind === 'categorical' ? moments.label.perClass[1].count : '?'}).`);
say(`   LDA from them: accuracy ${ev.accuracy.toFixed(4)}, AUC ${ev.auc!.toFixed(4)} — the same model as example 01's.`);
for (const ct of accumulators) ct[Symbol.dispose]();
