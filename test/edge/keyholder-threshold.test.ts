/**
 * A 2-of-3 federation of key holders: the threshold deal re-derives the same shares on retry,
 * the threshold share lands in custody, and any two key holders reveal a job exactly.
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
import { jobPlanDigest, type KeyHolder } from '../../src/edge/keyholder.ts';

const isCode = (code: string) => (e: unknown): boolean => e instanceof EdgeError && e.code === code;
let f: KeyHolderFixture;
let holders: KeyHolder[];

before(async () => {
  f = await keyHolders(3, { minPlants: 3, minRecords: 1000, maxRevealsPerDay: 5 });
  holders = await Promise.all([0, 1, 2].map((i) => f.open(i, { parties: 2, thresholdPoint: i + 1 })));
});
after(() => {
  for (const h of holders) h.close();
  f.cleanup();
});

test('2-of-3: deal, combine, and any two key holders reveal exactly', async () => {
  const { pk, relinKeys } = ceremony(f.engine, holders, 'cer-t', new Uint8Array(32).fill(1));
  const points = [1, 2, 3];
  const dealt = holders.map((h) => h.dealShamirShares('cer-t', 2, points));
  assert.deepEqual(holders[0].dealShamirShares('cer-t', 2, points), dealt[0], 'a retried deal sends the same shares');
  assert.throws(() => holders[0].dealShamirShares('cer-t', 3, points), isCode('EDGE_ERR_SHARE_CONFLICT'));
  const data = lake(f.engine, pk);
  const plan = planJob(f.engine, data.schema, { features: ['speed', 'torque', 'temp'], label: false }, data.refs, { minPlants: 3, minRecords: 1 });
  const accs = await aggregateJob(f.engine, plan, { relinKeys, load: data.load });
  const input = sumRevealInput(f.engine, accs);
  for (const ct of accs) ct[Symbol.dispose]();
  for (const h of holders) h.approve({ jobId: 'job-t', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant' });
  assert.throws(() => holders[0].revealShare({ jobId: 'job-t', plan, input, receiver: f.receiver, activeSet: [1, 2] }), isCode('EDGE_ERR_CEREMONY'), 'no threshold share yet');

  holders.forEach((h, j) => h.combineShamirShares('cer-t', dealt.map((d) => d.get(j + 1)!)));
  holders[0].combineShamirShares('cer-t', dealt.map((d) => d.get(1)!)); // a retry is a no-op
  assert.throws(() => holders[0].combineShamirShares('cer-t', dealt.map((d) => d.get(2)!)), EdgeRangeError, 'shares for another point');
  assert.throws(() => holders[0].dealShamirShares('cer-t', 2, points), isCode('EDGE_ERR_CEREMONY'), 'the deal seed is gone after combining');

  // Key holders 1 and 3 alone (after a restart of key holder 3: the threshold share is in custody).
  holders[2].close();
  holders[2] = await f.open(2, { parties: 2, thresholdPoint: 3 });
  const want = computeMoments(data.schema, data.pooled);
  const request = { jobId: 'job-t', plan, input, receiver: f.receiver, activeSet: [1, 3] };
  const shares = [holders[0].revealShare(request), holders[2].revealShare(request)];
  using switched = combineForReceiver(f.engine, input, shares);
  assert.deepEqual(receiveMoments(f.engine, data.schema, plan, switched, f.receiverSk), want);
  assert.throws(() => holders[1].revealShare({ ...request, activeSet: [1, 1] }), EdgeRangeError);
  assert.throws(() => holders[1].revealShare({ ...request, activeSet: [1, 3] }), EdgeRangeError, 'its own point must be in the active set');
  pk[Symbol.dispose]();
});
