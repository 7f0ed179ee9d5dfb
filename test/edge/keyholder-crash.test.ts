/**
 * SIGKILL between storing a reveal share and returning it: the reopened key holder answers the
 * retry with exactly the bytes that were stored, logs it as a retry, and the shares still
 * reveal the job exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { ceremony, keyHolders, lake } from './_keyholder.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { aggregateJob } from '../../src/compute/aggregate.ts';
import { planJob } from '../../src/compute/plan.ts';
import { combineForReceiver, receiveMoments } from '../../src/compute/reveal.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { jobPlanDigest } from '../../src/edge/keyholder.ts';

const POLICY = { minPlants: 3, minRecords: 1000, maxRevealsPerDay: 5 };

test('a key holder killed after storing a share and before returning it answers the retry with the stored bytes', async () => {
  const f = await keyHolders(3, POLICY);
  const holders = await Promise.all([0, 1, 2].map((i) => f.open(i)));
  const { pk, relinKeys } = ceremony(f.engine, holders, 'cer-k', new Uint8Array(32).fill(2));
  const data = lake(f.engine, pk);
  const plan = planJob(f.engine, data.schema, { features: ['speed', 'torque', 'temp'], label: false }, data.refs, { minPlants: 3, minRecords: 1 });
  const accs = await aggregateJob(f.engine, plan, { relinKeys, load: data.load });
  const input = sumRevealInput(f.engine, accs);
  for (const ct of accs) ct[Symbol.dispose]();
  for (const h of holders) h.approve({ jobId: 'job-k', planDigest: jobPlanDigest(plan), approvedBy: 'admin@plant' });
  const request = { jobId: 'job-k', plan, input, receiver: f.receiver };
  holders[0].close();

  const requestPath = join(f.dirs[0], '..', 'request.bin');
  const out = join(f.dirs[0], '..', 'stored.bin');
  writeFileSync(requestPath, serialize({ request, receiver: f.receiver, parties: 3, policy: POLICY }));
  const child = spawnSync(process.execPath, [join(import.meta.dirname, 'keyholder-crash-child.ts'), f.dirs[0], requestPath, out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.signal, 'SIGKILL', `child: ${child.stdout} ${child.stderr}`);
  assert.ok(existsSync(out));
  const stored = new Uint8Array(readFileSync(out));

  holders[0] = await f.open(0);
  const retried = holders[0].revealShare(request);
  assert.deepEqual(retried, stored, 'the retry gets the bytes stored before the crash');
  const last = holders[0].log().at(-1)!;
  assert.equal(last.kind, 'share');
  assert.equal(last.detail.retry, true);
  holders[0].verifyLog();
  const shares = [retried, holders[1].revealShare(request), holders[2].revealShare(request)];
  using switched = combineForReceiver(f.engine, input, shares);
  assert.deepEqual(receiveMoments(f.engine, data.schema, plan, switched, f.receiverSk), computeMoments(data.schema, data.pooled));
  for (const h of holders) h.close();
  pk[Symbol.dispose]();
  f.cleanup();
});
