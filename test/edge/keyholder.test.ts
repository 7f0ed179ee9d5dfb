/**
 * Three key holders, each with its own custody file, run the key ceremony; a real job on
 * batches sealed under their collective key is revealed through their shares and equals the
 * plaintext moments. Then the policy: unapproved jobs, another plan, too few plants or records,
 * a plan that lies about its figures, a foreign receiver, collective decryption without
 * approval, a second input for an answered job, and the rolling-day limit are each refused with
 * a typed error and logged; retries — also after the key holder is reopened — get byte-identical
 * shares; the log is hash-chained and append-only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ceremony, keyHolders, lake, UNLOCK, type KeyHolderFixture, type Lake } from './_keyholder.ts';
import type { PublicKey } from '../../src/he/backend/seal.ts';
import { HeError } from '../../src/he/errors.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { sumRevealInput, type SumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { PublicKeyCodec, RelinKeyShare1Codec } from '../../src/he/wire.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { planJob, type JobPlan, type JobSpec } from '../../src/compute/plan.ts';
import { combineForReceiver, decryptMoments, receiveMoments } from '../../src/compute/reveal.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { KeyCustody } from '../../src/edge/custody.ts';
import { EdgeError, EdgeRangeError, EdgeTypeError } from '../../src/edge/errors.ts';
import { jobPlanDigest, type KeyHolder } from '../../src/edge/keyholder.ts';

const POLICY = { minPlants: 3, minRecords: 3000, maxRevealsPerDay: 2 };
const isCode = (code: string) => (e: unknown): boolean => (e instanceof EdgeError || e instanceof HeError) && e.code === code;
const ALL = { features: ['speed', 'torque', 'temp'], label: false };

let f: KeyHolderFixture;
let holders: KeyHolder[];
let pk: PublicKey;
let relinKeys: Uint8Array;
let data: Lake;
const seed = new Uint8Array(32).fill(3);

/** Plans and aggregates a job; returns its plan and reveal input. */
async function job(spec: JobSpec, guards = { minPlants: 1, minRecords: 1 }): Promise<{ plan: JobPlan; input: SumRevealInput }> {
  const plan = planJob(f.engine, data.schema, spec, data.refs, guards);
  const accs = await aggregateJob(f.engine, plan, { relinKeys, load: data.load });
  const input = sumRevealInput(f.engine, accs);
  for (const ct of accs) ct[Symbol.dispose]();
  return { plan, input };
}

const approveAll = (jobId: string, plan: JobPlan, collectiveDecryption = false): void => {
  for (const h of holders) h.approve({ jobId, planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant', collectiveDecryption });
};

let job1: { plan: JobPlan; input: SumRevealInput };
let shares1: Uint8Array[];

before(async () => {
  f = await keyHolders(3, POLICY);
  holders = await Promise.all([0, 1, 2].map((i) => f.open(i)));
  ({ pk, relinKeys } = ceremony(f.engine, holders, 'cer-1', seed));
  data = lake(f.engine, pk);
});
after(() => {
  for (const h of holders) h.close();
  pk[Symbol.dispose]();
  f.cleanup();
});

test('a job on batches under the key holders\' collective key is revealed exactly through their shares', async () => {
  job1 = await job(ALL);
  approveAll('job-1', job1.plan);
  const request = { jobId: 'job-1', plan: job1.plan, input: job1.input, receiver: f.receiver };
  shares1 = holders.map((h) => h.revealShare(request));
  using switched = combineForReceiver(f.engine, job1.input, shares1);
  assert.deepEqual(receiveMoments(f.engine, data.schema, job1.plan, switched, f.receiverSk), computeMoments(data.schema, data.pooled));
  assert.deepEqual(holders[1].revealShare(request), shares1[1], 'a retry gets the stored share');
  assert.equal(holders[0].approval('job-1')?.approvedBy, 'admin@plant');
});

test('collective decryption is possible only where the admin approved it', async () => {
  const spec = { features: ['temp', 'speed'], label: false };
  const { plan, input } = await job(spec);
  approveAll('job-c', plan, true);
  const shares = holders.map((h) => h.revealShare({ jobId: 'job-c', plan, input, receiver: null }));
  const pooled = computeMoments(data.schema, data.pooled);
  const got = decryptMoments(f.engine, data.schema, plan, input, shares);
  assert.equal(got.count, pooled.count);
  assert.deepEqual(got.sum, [pooled.sum[2], pooled.sum[0]]);
  assert.deepEqual(got.gram, [[pooled.gram[2][2], pooled.gram[2][0]], [pooled.gram[0][2], pooled.gram[0][0]]]);
  // The same job switched to the receiver instead: refused, the job was answered for collective decryption.
  assert.throws(() => holders[0].revealShare({ jobId: 'job-c', plan, input, receiver: f.receiver }), isCode('EDGE_ERR_SHARE_CONFLICT'));
});

test('the relinearization round-1 ephemeral is kept in custody between the rounds and deleted after round 2', async () => {
  const s2 = new Uint8Array(32).fill(9);
  const rkp = new RelinKeyProtocol(f.engine);
  const r1 = holders.map((h) => RelinKeyShare1Codec.fromBytes(f.engine, h.relinKeyShareRound1('cer-2', s2)));
  const custodyHas = async (): Promise<boolean> => {
    using c = await KeyCustody.open(join(f.dirs[0], 'custody.hkc'), f.engine, UNLOCK);
    return c.getEphemeral('relin:cer-2') !== undefined;
  };
  assert.equal(await custodyHas(), true, 'between the rounds');
  assert.throws(() => holders[0].relinKeyShareRound2('cer-2', new Uint8Array(100)), isCode('HE_ERR_DECODE'));
  assert.throws(() => holders[0].relinKeyShareRound2('cer-none', RelinKeyShare1Codec.toBytes(f.engine, r1[0])), isCode('EDGE_ERR_CEREMONY'));
  const agg = RelinKeyShare1Codec.toBytes(f.engine, rkp.aggregateShares1(r1));
  const b = holders[0].relinKeyShareRound2('cer-2', agg);
  assert.equal(await custodyHas(), false, 'after round 2');
  assert.deepEqual(holders[0].relinKeyShareRound2('cer-2', agg), b, 'a retried round 2 gets the stored share');
  // Round 2 on another aggregate would reuse uᵢ: refused.
  const other = RelinKeyShare1Codec.toBytes(f.engine, rkp.aggregateShares1(r1.slice(0, 2)));
  assert.throws(() => holders[0].relinKeyShareRound2('cer-2', other), isCode('EDGE_ERR_SHARE_CONFLICT'));
  assert.throws(() => holders[0].publicKeyShare('cer-1', new Uint8Array(32).fill(4)), isCode('EDGE_ERR_SHARE_CONFLICT'));
});

test('policy refusals: each a typed error, each logged, no share made', async () => {
  const h = holders[0];
  const base = { jobId: 'job-1', plan: job1.plan, input: job1.input, receiver: f.receiver };
  const refusals = (): number => h.log().filter((e) => e.kind === 'refusal').length;
  const expectRefusal = (request: typeof base, code: string): void => {
    const n = refusals();
    assert.throws(() => h.revealShare(request), isCode(code), request.jobId);
    const last = h.log().at(-1)!;
    assert.equal(refusals(), n + 1);
    assert.deepEqual([last.kind, last.detail.code, last.detail.instance], ['refusal', code, request.jobId]);
  };
  // Not approved; approved for another plan.
  expectRefusal({ ...base, jobId: 'job-unapproved' }, 'EDGE_ERR_NOT_APPROVED');
  h.approve({ jobId: 'job-other', planDigest: jobPlanDigest(planJob(f.engine, data.schema, { features: ['speed'], label: false }, data.refs, POLICY)), approvedBy: 'admin@plant' });
  expectRefusal({ ...base, jobId: 'job-other' }, 'EDGE_ERR_NOT_APPROVED');
  // Too few plants; too few records; a plan whose figures disagree with its batches.
  const two = planJob(f.engine, data.schema, { ...ALL, plants: ['p1', 'p2'] }, data.refs, { minPlants: 2, minRecords: 1 });
  h.approve({ jobId: 'job-two', planDigest: jobPlanDigest(two), approvedBy: 'admin@plant' });
  expectRefusal({ ...base, jobId: 'job-two', plan: two }, 'EDGE_ERR_REVEAL_GUARD');
  const day1 = planJob(f.engine, data.schema, { ...ALL, from: '2026-01-01T00:00:00Z', to: '2026-01-01T23:59:59Z' }, data.refs, { minPlants: 3, minRecords: 1 });
  assert.equal(day1.records, 2700);
  h.approve({ jobId: 'job-day1', planDigest: jobPlanDigest(day1), approvedBy: 'admin@plant' });
  expectRefusal({ ...base, jobId: 'job-day1', plan: day1 }, 'EDGE_ERR_REVEAL_GUARD');
  const lying = { ...day1, records: 5000 };
  h.approve({ jobId: 'job-lying', planDigest: jobPlanDigest(lying), approvedBy: 'admin@plant' });
  expectRefusal({ ...base, jobId: 'job-lying', plan: lying }, 'EDGE_ERR_REVEAL_GUARD');
  // A foreign receiver; collective decryption without approval.
  h.approve({ jobId: 'job-r', planDigest: jobPlanDigest(job1.plan), approvedBy: 'admin@plant' });
  using otherSk = f.engine.generateSecretKey();
  using otherPk = f.engine.publicKeyFor(otherSk);
  expectRefusal({ ...base, jobId: 'job-r', receiver: PublicKeyCodec.toBytes(f.engine, otherPk) }, 'EDGE_ERR_RECEIVER');
  expectRefusal({ ...base, jobId: 'job-r', receiver: null } as never, 'EDGE_ERR_RECEIVER');
  // A second, different input for an answered job (single-use shares).
  const altered = { ...job1.input, b: { ...job1.input.b, data: job1.input.b.data.slice() } };
  altered.b.data[0] = (altered.b.data[0] + 1n) % f.engine.moduli[0];
  expectRefusal({ ...base, input: altered }, 'EDGE_ERR_SHARE_CONFLICT');
  // Approvals cannot be changed silently.
  assert.throws(() => h.approve({ jobId: 'job-1', planDigest: jobPlanDigest(day1), approvedBy: 'admin@plant' }), isCode('EDGE_ERR_CEREMONY'));
  assert.equal(h.approve({ jobId: 'job-1', planDigest: jobPlanDigest(job1.plan), approvedBy: 'someone-else' }).approvedBy, 'admin@plant');
  // Malformed requests are argument errors (not policy refusals) and burn nothing.
  assert.throws(() => h.revealShare({ ...base, jobId: 'bad id!' }), EdgeRangeError);
  assert.throws(() => h.revealShare({ ...base, plan: null as never }), EdgeTypeError);
  assert.throws(() => h.revealShare({ ...base, input: { count: 1 } as never }), EdgeTypeError);
  assert.throws(() => h.revealShare({ ...base, receiver: 'pk' as never }), EdgeTypeError);
  assert.throws(() => h.revealShare({ ...base, activeSet: [1, 2] }), EdgeRangeError);
  assert.throws(() => h.approve({ jobId: 'j', planDigest: 'xyz', approvedBy: 'a' }), EdgeRangeError);
  assert.deepEqual(h.revealShare(base), shares1[0], 'the answered job still gets its stored share');
});

test('the rolling-day limit counts new reveal shares only; it frees up after 24 hours', async () => {
  const h = holders[0];
  // job-1 and job-c were made today: the limit (2) is reached.
  const { plan, input } = await job({ features: ['torque', 'speed'], label: false });
  approveAll('job-2', plan);
  const request = { jobId: 'job-2', plan, input, receiver: f.receiver };
  assert.throws(() => h.revealShare(request), isCode('EDGE_ERR_RATE_LIMIT'));
  assert.equal(h.log().at(-1)!.detail.code, 'EDGE_ERR_RATE_LIMIT');
  assert.ok(h.revealShare({ jobId: 'job-1', plan: job1.plan, input: job1.input, receiver: f.receiver }), 'retries are not counted');
  f.clock.t += 86_400_000 + 1;
  const share = h.revealShare(request);
  assert.deepEqual(h.revealShare(request), share);
});

test('a key holder reopened on the same files answers retries with byte-identical shares', async () => {
  holders[0].close();
  assert.throws(() => holders[0].revealShare({ jobId: 'job-1', plan: job1.plan, input: job1.input, receiver: f.receiver }), isCode('EDGE_ERR_KEYHOLDER_CLOSED'));
  holders[0] = await f.open(0);
  await assert.rejects(f.open(0), isCode('EDGE_ERR_KEYHOLDER_LOCKED'), 'one owner per directory');
  const h = holders[0];
  assert.deepEqual(h.revealShare({ jobId: 'job-1', plan: job1.plan, input: job1.input, receiver: f.receiver }), shares1[0]);
  const again = ceremony(f.engine, holders, 'cer-1', seed);
  assert.deepEqual(PublicKeyCodec.toBytes(f.engine, again.pk), PublicKeyCodec.toBytes(f.engine, pk), 'the ceremony re-run gives the same collective key');
  again.pk[Symbol.dispose]();
  const entry = h.log().at(-1)!;
  assert.equal(entry.kind, 'share');
  assert.equal(entry.detail.retry, true);
});

test('a key holder opened before the federation has a receiver refuses reveals to a receiver, and logs it', async () => {
  holders[1].close();
  const h = await f.open(1, { receiver: undefined });
  try {
    h.approve({ jobId: 'job-nr', planDigest: jobPlanDigest(job1.plan), approvedBy: 'admin@plant' });
    assert.throws(() => h.revealShare({ jobId: 'job-nr', plan: job1.plan, input: job1.input, receiver: f.receiver }), isCode('EDGE_ERR_RECEIVER'));
    assert.deepEqual([h.log().at(-1)!.kind, h.log().at(-1)!.detail.code], ['refusal', 'EDGE_ERR_RECEIVER']);
  } finally {
    h.close();
    holders[1] = await f.open(1);
  }
});

test('the log holds ids and digests only, is hash-chained, append-only, and alteration is detected', () => {
  const h = holders[2];
  const { entries, head } = h.verifyLog();
  assert.ok(entries >= 8);
  assert.match(head, /^[0-9a-f]{64}$/);
  for (const e of h.log()) {
    for (const v of Object.values(e.detail)) {
      if (typeof v === 'string') assert.match(v, /^([0-9a-f]{64}|[A-Za-z0-9._:@-]{1,128})$/, `${e.kind} ${JSON.stringify(e.detail)}`);
    }
  }
  const kinds = new Set(h.log().map((e) => `${e.kind}/${e.detail.protocol ?? ''}`));
  for (const k of ['approval/', 'share/public-key', 'share/relin-1', 'share/relin-2', 'share/reveal']) assert.ok(kinds.has(k), k);
  h.close();
  const db = new DatabaseSync(join(f.dirs[2], 'keyholder.db'));
  assert.throws(() => db.exec("UPDATE log SET detail = '{}' WHERE seq = 2"), /append-only/);
  assert.throws(() => db.exec('DELETE FROM log WHERE seq = 2'), /append-only/);
  db.exec('DROP TRIGGER log_no_update');
  db.exec(`UPDATE log SET detail = '{"job":"job-9"}' WHERE seq = 2`);
  db.close();
  return f.open(2).then((reopened) => {
    holders[2] = reopened;
    assert.throws(() => reopened.verifyLog(), isCode('EDGE_ERR_LOG_CORRUPT'));
  });
});
