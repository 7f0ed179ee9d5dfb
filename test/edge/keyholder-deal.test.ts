/**
 * A 2-of-3 deal through sealed shares (the key holders' side of the `kex`, `deal`, `combine`
 * rounds), and the single-use ledger of t-of-n reveals: one share per (job, λⱼ), a retry or the
 * same active set gets the stored share, a new active set (another λⱼ) a fresh one, at most
 * n − t + 1 of them per job; any two key holders reveal exactly, one alone gives no data.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ceremony, keyHolders, lake, type KeyHolderFixture } from './_keyholder.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { planJob } from '../../src/compute/plan.ts';
import { combineForReceiver, receiveMoments } from '../../src/compute/reveal.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { EdgeError, EdgeRangeError } from '../../src/edge/errors.ts';
import { jobPlanDigest, type DealMembers, type KeyHolder } from '../../src/edge/keyholder.ts';
import type { SealedShare } from '../../src/wire/deal.ts';

const isCode = (code: string) => (e: unknown): boolean => e instanceof EdgeError && e.code === code;
const TENANTS = ['plant-a', 'plant-b', 'builder'];
let f: KeyHolderFixture;
let holders: KeyHolder[];

before(async () => {
  f = await keyHolders(3, { minPlants: 3, minRecords: 1000, maxRevealsPerDay: 10 });
  holders = await Promise.all([0, 1, 2].map((i) => f.open(i, { parties: 2, thresholdPoint: i + 1, holders: 3 })));
});
after(() => {
  for (const h of holders) h.close();
  f.cleanup();
});

test('2-of-3 over sealed shares: deal, combine, reveal; single-use per (job, λ)', async () => {
  const { pk, relinKeys } = ceremony(f.engine, holders, 'mills', new Uint8Array(32).fill(7));
  // Round kex: a key per holder, stable until combined.
  const keys = holders.map((h) => h.dealKey('mills'));
  assert.deepEqual(holders[0].dealKey('mills'), keys[0]);
  const members = TENANTS.map((tenant, i) => ({ tenant, point: i + 1, dealKey: keys[i] }));
  const deal = (i: number): DealMembers => ({ federation: 'mills', self: TENANTS[i], threshold: 2, members });

  // Round deal: each holder seals n − 1 shares; a retry gives the same bytes.
  const sealed = holders.map((h, i) => h.sealDeal('mills', deal(i)));
  assert.deepEqual(holders[0].sealDeal('mills', deal(0)), sealed[0], 'a retried deal re-sends identical bytes');
  assert.equal(sealed[0].length, 2);
  assert.throws(() => holders[0].sealDeal('mills', { ...deal(0), members: members.map((m, i) => (i === 0 ? { ...m, dealKey: keys[1] } : m)) }), isCode('EDGE_ERR_DEAL_CHANNEL'), 'the key shown for this holder is not its own');
  assert.throws(() => holders[0].sealDeal('mills', { ...deal(0), self: 'plant-b' }), EdgeRangeError, 'at another point');
  const to = (i: number): SealedShare[] => sealed.flat().filter((s) => s.to === TENANTS[i]);

  // Round combine: a tampered or misdirected share is refused before anything is combined.
  const bad = to(1).map((s, k) => (k === 0 ? { ...s, ciphertext: s.ciphertext.map((x, j) => (j === 5 ? x ^ 1 : x)) } : s));
  assert.throws(() => holders[1].openDeal('mills', deal(1), bad), isCode('EDGE_ERR_DEAL_CHANNEL'));
  assert.throws(() => holders[1].openDeal('mills', deal(1), to(2)), isCode('EDGE_ERR_CEREMONY'), 'shares addressed to another holder');
  assert.throws(() => holders[1].openDeal('mills', deal(1), to(1).slice(1)), isCode('EDGE_ERR_CEREMONY'), 'a share missing');
  holders.forEach((h, i) => h.openDeal('mills', deal(i), to(i)));
  holders[0].openDeal('mills', deal(0), to(0)); // a retry is a no-op
  assert.throws(() => holders[0].dealKey('mills'), isCode('EDGE_ERR_CEREMONY'), 'the deal key is deleted after combining');

  // A job, approved by every holder's admin.
  const data = lake(f.engine, pk);
  const plan = planJob(f.engine, data.schema, { features: ['speed', 'torque', 'temp'], label: false }, data.refs, { minPlants: 3, minRecords: 1 });
  const accs = await aggregateJob(f.engine, plan, { relinKeys, load: data.load });
  const input = sumRevealInput(f.engine, accs);
  for (const ct of accs) ct[Symbol.dispose]();
  for (const h of holders) h.approve({ jobId: 'job-d', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant' });
  const ask = (i: number, activeSet: number[]): Uint8Array => holders[i].revealShare({ jobId: 'job-d', plan, input, receiver: f.receiver, activeSet });

  // Attempt 1: {1, 2}; holder 2 "does not answer". Attempt 2: {1, 3}: holder 1 makes a share of another λ.
  const s12 = ask(0, [1, 2]);
  assert.deepEqual(ask(0, [2, 1]), s12, 'the same active set (same λ) gets the stored share');
  const s13 = ask(0, [1, 3]);
  assert.notDeepEqual(s13, s12, 'another active set is another linear function of tsk: a fresh share');
  assert.deepEqual(ask(0, [1, 3]), s13);
  assert.deepEqual(ask(0, [1, 2]), s12, 'going back to an earlier λ answers the stored share, never a fresh one');
  assert.throws(() => ask(0, [1, 4]), isCode('EDGE_ERR_SHARE_CONFLICT'), 'at most n − t + 1 active sets per job');
  const log = holders[0].log().filter((e) => e.kind === 'share' && String(e.detail.instance).startsWith('job-d@'));
  assert.equal(new Set(log.map((e) => e.detail.instance)).size, 2);

  const want = computeMoments(data.schema, data.pooled);
  {
    using switched = combineForReceiver(f.engine, input, [s13, ask(2, [1, 3])]);
    assert.deepEqual(receiveMoments(f.engine, data.schema, plan, switched, f.receiverSk), want);
  }
  {
    // Fewer than t: holder 1's share alone (or with a share made for another active set) gives no data.
    using alone = combineForReceiver(f.engine, input, [s13]);
    assert.throws(() => receiveMoments(f.engine, data.schema, plan, alone, f.receiverSk));
    using mixed = combineForReceiver(f.engine, input, [s12, ask(2, [1, 3])]);
    assert.throws(() => receiveMoments(f.engine, data.schema, plan, mixed, f.receiverSk));
  }
  pk[Symbol.dispose]();
});
