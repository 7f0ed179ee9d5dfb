/**
 * A 3-of-4 federation (three plants and the builder) in process: the key holders run the whole
 * ceremony through the cloud's services with the same turn the gateways and the builder use
 * (`ceremonyTurn`: pk, rlk1, rlk2, kex, deal, combine); the cloud stores each dealt share sealed,
 * per (from, to), and cannot open it. A job's reveal goes to an active set of t = 3 — the builder,
 * then the plants in approval order. Plant b does not answer: after the attempt's deadline the
 * cloud picks a new set without it, the members asked again make shares of another λ (a retry of
 * the same attempt gets the stored share), stale attempts and members outside the set are
 * refused, fewer than t shares are never combined, and the result is exactly the plaintext moments.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import { Federations, type CeremonyAudit } from '../../src/cloud/federation.ts';
import { Jobs, type JobAudit } from '../../src/cloud/jobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import type { SqlClient } from '../../src/trust/storage/sql.ts';
import { onBothDatabases } from '../trust/_postgres.ts';
import { sealBatch } from '../../src/compute/batch.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import { combineForReceiver, receiveMoments } from '../../src/compute/reveal.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { CiphertextCodec, PublicKeyCodec } from '../../src/he/wire.ts';
import { computeMoments, type Moments } from '../../src/models/moments.ts';
import { quantiseDataset, type QuantisedDataset } from '../../src/models/schema.ts';
import { ceremonyTurn, keyHolderFederation, revealAsk } from '../../src/edge/ceremony.ts';
import type { CloudClient, FederationView, RevealRequestView } from '../../src/edge/cloud-client.ts';
import { generateDealKey, openDealShare } from '../../src/edge/deal-channel.ts';
import { EdgeError } from '../../src/edge/errors.ts';
import { jobPlanDigest, type KeyHolder } from '../../src/edge/keyholder.ts';
import { DealBundleCodec } from '../../src/wire/deal.ts';
import { keyHolders } from '../edge/_keyholder.ts';

const code = (c: string) => (e: unknown): boolean => (e instanceof CloudError || e instanceof EdgeError) && e.code === c;
const MEMBERS = [{ tenant: 'plant-a', role: 'plant' }, { tenant: 'plant-b', role: 'plant' }, { tenant: 'plant-c', role: 'plant' }, { tenant: 'builder', role: 'builder' }] as const;
const TENANTS = MEMBERS.map((m) => m.tenant);
const SCHEMA = { features: [{ name: 'speed', lo: 0, hi: 3000 }, { name: 'torque', lo: 0, hi: 80 }], label: { kind: 'continuous', name: 'wear', lo: 0, hi: 260 } };
const MATERIAL = { 'public-key': 'publicKey', 'relin-round1': 'relinRound1', 'relin-keys': 'relinKeys', 'receiver-key': 'receiverKey' } as const;

async function exercise(sql: SqlClient): Promise<void> {
  const kf = await keyHolders(4, { minPlants: 3, minRecords: 100, maxRevealsPerDay: 10 });
  const { engine } = kf;
  const engineOf = async (name: string) => {
    if (name !== engine.params.name) throw new RangeError(`unknown preset ${name}`);
    return engine;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-threshold-'));
  const now = { value: new Date('2026-05-01T00:00:00Z') };
  const ceremonyLog: CeremonyAudit[] = [];
  const jobLog: JobAudit[] = [];
  const holders: KeyHolder[] = [];
  try {
    const blobs = await FileBlobStore.open(dir);
    const lake = await Lake.open({ sql, blobs, now: () => now.value });
    const federations = await Federations.open({ sql, blobs, engine: engineOf, now: () => now.value, audit: async (a) => { ceremonyLog.push(a); } });
    const jobs = await Jobs.open({ sql, blobs, lake, federations, engine: engineOf, now: () => now.value, revealAttemptMs: 60_000, audit: async (a) => { jobLog.push(a); } });
    const def = { id: 'mills', preset: engine.params.name, members: [...MEMBERS], receiver: 'builder', guards: { minPlants: 3, minRecords: 100 } };
    await assert.rejects(federations.create({ ...def, threshold: 1 }), RangeError);
    await assert.rejects(federations.create({ ...def, threshold: 5 }), RangeError);
    const created = await federations.create({ ...def, threshold: 3 });
    assert.equal(created.threshold, 3);
    assert.deepEqual(created.members.map((m) => m.point), [1, 2, 3, 4]);
    assert.equal((await federations.create({ ...def, id: 'additive' })).threshold, 4, 'default t = n');
    assert.equal((await federations.get('additive')).members[0].point, undefined, 'no points for an additive federation');

    // Each key holder talks to the cloud's services through the same few calls its CloudClient makes.
    const view = async (): Promise<FederationView> => {
      const f = await federations.get('mills');
      const keys = await federations.dealKeys('mills');
      return { ...f, members: f.members.map((m) => ({ ...m, ...(keys.has(m.tenant) ? { dealKey: keys.get(m.tenant) } : {}) })), missing: (await federations.status('mills')).missing };
    };
    const client = (tenant: string): CloudClient => ({
      tenant,
      material: async (fed: string, what: keyof typeof MATERIAL) => federations.material(fed, MATERIAL[what]),
      postCeremonyShare: async (fed: string, round: 'pk', bytes: Uint8Array) => (await federations.submitShare(fed, tenant, round, bytes)).status,
      deal: async (fed: string) => federations.dealFor(fed, tenant),
    }) as unknown as CloudClient;
    const first = await view();
    for (const [i, t] of TENANTS.entries()) {
      const options = keyHolderFederation(first, t);
      assert.deepEqual(options, { parties: 3, thresholdPoint: i + 1, holders: 4 });
      holders.push(await kf.open(i, options));
    }

    // The ceremony, round by round; refusals along the way.
    let plaintextAtoB: Uint8Array | undefined;
    for (let f = await view(); f.round !== 'ready'; f = await view()) {
      if (f.round === 'kex') {
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'kex', new Uint8Array(31)), code('CLOUD_ERR_VALIDATION'));
        await assert.rejects(federations.dealFor('mills', 'plant-a'), code('CLOUD_ERR_STATE'));
      }
      if (f.round === 'deal' && plaintextAtoB === undefined) {
        plaintextAtoB = holders[0].dealShamirShares('mills', 3, [1, 2, 3, 4]).get(2)!; // (the test looks; a key holder never sends it)
        const one = DealBundleCodec.fromBytes(DealBundleCodec.toBytes(holders[0].sealDeal('mills', { federation: 'mills', self: 'plant-a', threshold: 3, members: f.members.map((m) => ({ tenant: m.tenant, point: m.point!, dealKey: Buffer.from(m.dealKey!, 'hex') })) })));
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'deal', DealBundleCodec.toBytes(one.slice(1))), code('CLOUD_ERR_VALIDATION'), 'a member left out');
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'deal', DealBundleCodec.toBytes([one[0], one[0], one[1]])), code('CLOUD_ERR_VALIDATION'), 'a member twice');
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'deal', DealBundleCodec.toBytes([{ ...one[0], point: 3 }, ...one.slice(1)])), code('CLOUD_ERR_VALIDATION'), 'at another point');
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'deal', new Uint8Array(40)), code('CLOUD_ERR_VALIDATION'));
      }
      if (f.round === 'combine') {
        await assert.rejects(federations.submitShare('mills', 'plant-a', 'combine', new Uint8Array(32)), code('CLOUD_ERR_VALIDATION'), 'an acknowledgement of other bytes');
        await assert.rejects(federations.dealFor('mills', 'outsider'), code('CLOUD_ERR_ACCESS_DENIED'));
      }
      for (const [i, t] of TENANTS.entries()) {
        const turn = await ceremonyTurn(holders[i], client(t), f);
        if (turn !== undefined && i === 0) assert.equal((await ceremonyTurn(holders[0], client(t), { ...f, missing: [t] }))?.status, 'duplicate', `a retried ${turn.round} is a duplicate`);
      }
    }
    assert.deepEqual(ceremonyLog.filter((a) => a.member === 'cloud').map((a) => `${a.round}:${a.step}`), ['pk:combine', 'rlk1:combine', 'rlk2:combine', 'kex:combine', 'deal:combine', 'combine:complete']);
    assert.equal(ceremonyLog.filter((a) => a.member !== 'cloud').length, 6 * 4, 'every message of every key holder is logged');

    // What the cloud holds of a dealt share is sealed: not the plaintext, and no other key opens it.
    const [row] = await sql.query<{ sealed: string }>("SELECT sealed FROM cloud_deal_share WHERE federation = 'mills' AND sender = 'plant-a' AND receiver = 'plant-b'");
    const stored = await blobs.get(row.sealed);
    const [sealed] = DealBundleCodec.fromBytes(stored);
    assert.ok(plaintextAtoB!.length > 1000);
    assert.equal(Buffer.from(stored).indexOf(Buffer.from(plaintextAtoB!.subarray(100, 132))), -1, 'no run of the plaintext in the stored bytes');
    assert.notDeepEqual(sealed.ciphertext.subarray(0, plaintextAtoB!.length), plaintextAtoB);
    const keys = await federations.dealKeys('mills');
    const ctx = { federation: 'mills', ceremony: 'mills', from: 'plant-a', to: 'plant-b', point: 2 };
    assert.throws(() => openDealShare(ctx, generateDealKey().privateKey, Buffer.from(keys.get('plant-a')!, 'hex'), sealed), code('EDGE_ERR_DEAL_CHANNEL'));
    assert.throws(() => holders[1].dealKey('mills'), code('EDGE_ERR_CEREMONY'), "the receiver's own key is deleted once combined");

    // Data, a job, approvals (plant-b approves first, then c, then a).
    using pk = PublicKeyCodec.fromBytes(engine, await federations.material('mills', 'publicKey'));
    await federations.setReceiverKey('mills', 'builder', kf.receiver);
    const dataset = await lake.createDataset({ id: 'mills', owner: 'builder', federation: 'mills', params: engine.params.name, schema: SCHEMA, retentionDays: 365 });
    const data: QuantisedDataset[] = [];
    for (const [k, plant] of ['plant-a', 'plant-b', 'plant-c'].entries()) {
      const rows = Array.from({ length: 150 + 50 * k }, (_, i) => [(i * 29 + k) % 3000, (i * 7 + k) % 80]);
      const d = quantiseDataset(dataset.schema, rows, rows.map((r) => (r[0] / 20 + r[1]) % 260));
      data.push(d);
      const { bytes } = sealBatch(engine, pk, dataset.schema, d, 0, rows.length, { dataset: 'mills', plant, batchId: `${plant}-1`, from: '2026-05-01T00:00:00Z', to: '2026-05-01T01:00:00Z' });
      await lake.ingest({ dataset: 'mills', plant, bytes, engine });
    }
    const want: Moments = computeMoments(dataset.schema, { x: data.flatMap((d) => [...d.x]), y: data.flatMap((d) => [...d.y!]) } as unknown as QuantisedDataset);
    const job = await jobs.submit({ id: 'job-t', federation: 'mills', dataset: 'mills', spec: { features: ['speed', 'torque'], label: true }, requestedBy: 'builder' });
    await jobs.runQueued();
    for (const [i, p] of [[1, 'plant-b'], [2, 'plant-c'], [0, 'plant-a']] as const) {
      now.value = new Date(now.value.getTime() + 1000);
      await jobs.approve('job-t', p, `admin@${p}`);
      holders[i].approve({ jobId: 'job-t', planDigest: jobPlanDigest(job.plan), approvedBy: `admin@${p}` });
    }
    holders[3].approve({ jobId: 'job-t', planDigest: jobPlanDigest(job.plan), approvedBy: 'builder' });
    let j = await jobs.get('job-t');
    assert.equal(j.state, 'revealing');
    assert.deepEqual(j.activeSet, ['builder', 'plant-b', 'plant-c'], 'the receiver, then the plants in approval order');
    assert.equal(j.attempt, 1);

    // A key holder's turn, as the gateway (and the builder's CLI) take it.
    const turn = async (i: number): Promise<{ share?: Uint8Array; request: RevealRequestView }> => {
      const r = await jobs.revealRequest('job-t', TENANTS[i]);
      const request: RevealRequestView = { jobId: r.jobId, plan: r.plan, receiverKeyHash: r.receiverKeyHash, parties: r.parties, activeSet: r.activeSet, attempt: r.attempt, attemptDeadline: r.attemptDeadline };
      const ask = revealAsk(request, TENANTS[i]);
      if (ask === undefined) return { request };
      const accs = decodePartial(engine, r.aggregate, r.plan.aggregation.stats.length);
      try {
        return { request, share: holders[i].revealShare({ jobId: 'job-t', plan: r.plan, input: sumRevealInput(engine, accs), receiver: kf.receiver, ...ask.share }) };
      } finally {
        for (const ct of accs) ct[Symbol.dispose]();
      }
    };
    const a1 = await turn(0);
    assert.equal(a1.share, undefined, 'plant-a is not asked in attempt 1');
    assert.equal(a1.request.parties, 3);
    assert.deepEqual(a1.request.activeSet, [{ tenant: 'builder', point: 4 }, { tenant: 'plant-b', point: 2 }, { tenant: 'plant-c', point: 3 }]);
    const builder1 = (await turn(3)).share!;
    const c1 = (await turn(2)).share!;
    await assert.rejects(jobs.submitRevealShare('job-t', 'builder', builder1), code('CLOUD_ERR_VALIDATION'), 'a t-of-n share names its attempt');
    await assert.rejects(jobs.submitRevealShare('job-t', 'plant-a', c1, 1), code('CLOUD_ERR_STATE'), 'plant-a is not in the active set');
    await jobs.submitRevealShare('job-t', 'builder', builder1, 1);
    await jobs.submitRevealShare('job-t', 'builder', builder1, 1); // a retry of the same bytes
    await assert.rejects(jobs.submitRevealShare('job-t', 'builder', c1, 1), code('CLOUD_ERR_CONFLICT'));
    await jobs.submitRevealShare('job-t', 'plant-c', c1, 1);
    j = await jobs.get('job-t');
    assert.deepEqual(j.shares, ['builder', 'plant-c']);
    assert.equal(j.state, 'revealing', 'two of three shares are not combined');
    await assert.rejects(jobs.result('job-t', 'builder'), code('CLOUD_ERR_STATE'));

    // Plant-b's gateway is offline. Before the deadline nothing changes; after it, a new active set without plant-b.
    now.value = new Date(now.value.getTime() + 30_000);
    assert.equal((await turn(0)).share, undefined);
    now.value = new Date(now.value.getTime() + 60_000);
    const r2 = await turn(0);
    assert.equal(r2.request.attempt, 2);
    assert.deepEqual(r2.request.activeSet!.map((m) => m.tenant), ['builder', 'plant-c', 'plant-a']);
    await assert.rejects(jobs.submitRevealShare('job-t', 'plant-b', builder1, 1), code('CLOUD_ERR_STATE'), 'attempt 1 is over');
    const builder2 = (await turn(3)).share!;
    const c2 = (await turn(2)).share!;
    assert.notDeepEqual(builder2, builder1, 'another active set: another λ, a fresh share');
    assert.deepEqual((await turn(3)).share, builder2, 'the same attempt again: the stored share');

    // Fewer than t shares give no data, even combined by someone who holds them all.
    {
      const r = await jobs.revealRequest('job-t', 'builder');
      const accs = decodePartial(engine, r.aggregate, r.plan.aggregation.stats.length);
      const input = sumRevealInput(engine, accs);
      for (const ct of accs) ct[Symbol.dispose]();
      using two = combineForReceiver(engine, input, [builder2, c2]);
      assert.throws(() => receiveMoments(engine, dataset.schema, r.plan, two, kf.receiverSk));
      using mixed = combineForReceiver(engine, input, [builder1, c1, r2.share!]);
      assert.throws(() => receiveMoments(engine, dataset.schema, r.plan, mixed, kf.receiverSk), 'shares of two attempts do not combine');
    }
    await jobs.submitRevealShare('job-t', 'builder', builder2, 2);
    await jobs.submitRevealShare('job-t', 'plant-c', c2, 2);
    assert.equal((await jobs.get('job-t')).state, 'revealing');
    await jobs.submitRevealShare('job-t', 'plant-a', r2.share!, 2);
    j = await jobs.get('job-t');
    assert.equal(j.state, 'revealed');
    assert.deepEqual(j.shares, ['builder', 'plant-a', 'plant-c']);
    using switched = CiphertextCodec.fromBytes(engine, await jobs.result('job-t', 'builder'));
    assert.deepEqual(receiveMoments(engine, dataset.schema, j.plan, switched, kf.receiverSk), want);
    assert.equal(jobLog.filter((a) => 'share' in a).length, 5, 'every share received is logged');
  } finally {
    for (const h of holders) h.close();
    rmSync(dir, { recursive: true, force: true });
    kf.cleanup();
  }
}

onBothDatabases('3-of-4 through the cloud: sealed deal, active sets, a new set after a deadline, exact result', exercise);
