/**
 * A 3-of-4 federation end to end over HTTPS: a `hedge cloud start` process, three plants'
 * gateways (`startEdge`, client certificates) and the builder's key holder (bearer token, the
 * same `ceremonyTurn` as `hedge federation join`). The gateways run every ceremony round on their
 * own — pk, rlk1, rlk2, then kex, deal (shares sealed to each receiver), combine — and upload. Then
 * plant H's gateway goes offline. The builder submits a job and the three admins approve it, plant
 * H's first: the reveal's first active set of t = 3 is the builder, plants H and L. Plant L and the
 * builder answer; plant H cannot. After the attempt's deadline (`--reveal-attempt-seconds`) the
 * cloud asks the builder, plants L and M; the gateways answer the new attempt on their own, and the
 * builder's result is exactly the plaintext moments of every row uploaded, plant H's included,
 * without plant H's key holder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { call, enrolGateways, ok } from '../cloud/_https.ts';
import { ai4iFeatures, closeStory, logErrors, openStory, PLANTS, policyYaml, preparePlant, PRESET, ROWS, schemaLiteralOf, startCloud, untilWithin } from './_service.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';
import { CUSTODY_KDF_MIN } from '../../src/edge/custody.ts';
import { ceremonyTurn, keyHolderFederation, revealAsk } from '../../src/edge/ceremony.ts';
import { CloudClient } from '../../src/edge/cloud-client.ts';
import { KeyHolder, jobPlanDigest } from '../../src/edge/keyholder.ts';
import { loadEdgeConfig } from '../../src/edge/config.ts';
import { startEdge } from '../../src/edge/service.ts';

const FEATURES = ai4iFeatures('air_temperature', 'rotational_speed', 'torque');
const until = untilWithin(90_000);

test('3-of-4 over HTTPS: gateways deal sealed shares on their own; a reveal without one plant is exact', { timeout: 180_000 }, async () => {
  const story = await openStory('hedge-edge-threshold-');
  const { dir, engine, edges, events } = story;
  let builder: KeyHolder | undefined;
  try {
    const { base, caFile, ca, login, alice } = await startCloud(story, ['--allow-insecure-params', '--reveal-attempt-seconds', '8']);

    const members = [...PLANTS.map((p) => ({ tenant: p.tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
    const created = (await ok(call(base, alice, 'POST', '/v1/tenants/builder/federations', { id: 'mills', preset: PRESET, members, guards: { minPlants: 3, minRecords: 600 }, threshold: 3 }), 201))
      .json<{ threshold: number; members: { tenant: string; point: number }[] }>();
    assert.equal(created.threshold, 3);
    assert.deepEqual(created.members.map((m) => [m.tenant, m.point]), [['plant-l', 1], ['plant-m', 2], ['plant-h', 3], ['builder', 4]]);
    const schemaLiteral = schemaLiteralOf(FEATURES);
    const schema = createSchema(schemaLiteral);

    const allRows: number[][] = [];
    const gateways = await enrolGateways(base, ca, PLANTS.map((p) => p.tenant), (p) => login(`admin-${p}`));
    for (const p of PLANTS) {
      const { pdir, rows } = await preparePlant({ dir, base, caFile, engine, plant: p, gateway: gateways.get(p.tenant)!, features: FEATURES, policy: policyYaml(FEATURES) });
      allRows.push(...rows);
      edges.push(await startEdge(await loadEdgeConfig(path.join(pdir, 'gateway.yaml')), { onEvent: (event) => events.push({ tenant: p.tenant, event }) }));
    }

    // The builder's key holder takes its turns as `hedge federation join` does.
    const cloud = new CloudClient({ url: base, tenant: 'builder', tls: { ca }, token: alice.token! });
    const bdir = path.join(dir, 'builder');
    writeFileSync(path.join(dir, 'builder.key'), randomBytes(32), { mode: 0o600 });
    const unlock = { keyFile: path.join(dir, 'builder.key') };
    await KeyHolder.init(bdir, engine, unlock, { kdf: CUSTODY_KDF_MIN });
    const policy = { minPlants: 3, minRecords: 600, maxRevealsPerDay: 5 };
    const first = await cloud.federation('mills');
    builder = await KeyHolder.open({ dir: bdir, engine, unlock, policy, federation: keyHolderFederation(first, 'builder') });
    const rounds: string[] = [];
    await until('the ceremony', async () => {
      const f = await cloud.federation('mills');
      if (f.round === 'ready') return true;
      const turn = await ceremonyTurn(builder!, cloud, f);
      if (turn !== undefined) rounds.push(turn.round);
      return undefined;
    });
    assert.deepEqual(rounds, ['pk', 'rlk1', 'rlk2', 'kex', 'deal', 'combine']);
    for (const p of PLANTS) {
      const joined = events.filter((e) => e.tenant === p.tenant && e.event.kind === 'ceremony').map((e) => (e.event as { round: string }).round);
      assert.deepEqual(joined, ['pk', 'rlk1', 'rlk2', 'kex', 'deal', 'combine'], `${p.tenant} joined every round on its own`);
    }
    const f = await cloud.federation('mills');
    assert.ok(f.members.every((m) => /^[0-9a-f]{64}$/.test(m.dealKey ?? '')), 'every key-agreement key is shown');
    // A gateway reads only the shares dealt to its own tenant.
    const gatewayL = gateways.get('plant-l')!;
    await ok(call(base, gatewayL, 'GET', '/v1/tenants/plant-l/federations/mills/deal'));
    await ok(call(base, gatewayL, 'GET', '/v1/tenants/plant-m/federations/mills/deal'), 403);

    // The builder's receiver key (in its custody), the dataset, the uploads.
    const receiver = builder.receiverKey();
    await ok(call(base, alice, 'PUT', '/v1/tenants/builder/federations/mills/receiver-key', receiver));
    builder.close();
    builder = await KeyHolder.open({ dir: bdir, engine, unlock, policy, federation: { ...keyHolderFederation(f, 'builder'), receiver } });
    await ok(call(base, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'mills', federation: 'mills', schema: schemaLiteral, retentionDays: 30 }), 201);
    await Promise.all(edges.map((e) => e.ready));
    await Promise.all(edges.map((e) => e.flush()));
    for (const e of edges) assert.equal(e.metrics().uploader.sentBatches, ROWS / 150);

    // Plant H's gateway goes offline; its admin still approves through the cloud.
    await edges[2].stop();
    const job = (await ok(call(base, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-1', federation: 'mills', dataset: 'mills', spec: { features: FEATURES.map((x) => x.name), label: false } }), 201)).json<{ records: number }>();
    assert.equal(job.records, PLANTS.length * ROWS);
    const jobState = async () => (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1'))).json<{ state: string; shares: string[]; activeSet?: string[]; attempt?: number }>();
    await until('the job to compute', async () => ((await jobState()).state === 'computed' ? true : undefined));
    // The admins of L and M approve at their gateways; then all three through the cloud, plant H's first.
    for (const i of [0, 1]) {
      const { planDigest } = await edges[i].reviewJob('job-1');
      edges[i].approveJob({ jobId: 'job-1', planDigest, approvedBy: `admin-${PLANTS[i].tenant}` });
    }
    const plan = await cloud.plan('job-1');
    builder.approve({ jobId: 'job-1', planDigest: jobPlanDigest(plan), approvedBy: 'builder:alice' });
    for (const p of [PLANTS[2], PLANTS[0], PLANTS[1]]) await ok(call(base, await login(`admin-${p.tenant}`), 'POST', `/v1/tenants/${p.tenant}/jobs/job-1/approvals`));
    const opened = await jobState();
    assert.equal(opened.state, 'revealing');
    assert.deepEqual([opened.attempt, opened.activeSet], [1, ['builder', 'plant-h', 'plant-l']], 'the receiver, then the plants in approval order');

    // The builder's turn, as `hedge job reveal` takes it.
    const builderTurn = async (): Promise<{ attempt: number; share: Uint8Array }> => {
      const request = await cloud.revealRequest('job-1');
      assert.equal(request.parties, 3);
      const ask = revealAsk(request, 'builder')!;
      const accs = decodePartial(engine, await cloud.aggregate('job-1'), request.plan.aggregation.stats.length);
      const share = builder!.revealShare({ jobId: 'job-1', plan: request.plan, input: sumRevealInput(engine, accs), receiver, ...ask.share });
      for (const ct of accs) ct[Symbol.dispose]();
      await cloud.postRevealShare('job-1', share, ask.attempt);
      return { attempt: ask.attempt!, share };
    };
    const firstShare = await builderTurn();
    assert.equal(firstShare.attempt, 1);
    await until('plant L\'s share of attempt 1', async () => ((await jobState()).shares.includes('plant-l') ? true : undefined));
    const waiting = await jobState();
    assert.deepEqual([waiting.state, waiting.attempt, waiting.shares], ['revealing', 1, ['builder', 'plant-l']], 'plant M is not asked; two of three shares are not combined');

    // Plant H never answers: after the deadline, a new active set without it; the gateways answer it on their own.
    const second = await until('attempt 2', async () => ((await jobState()).attempt === 2 ? jobState() : undefined), 30_000);
    assert.deepEqual(second.activeSet, ['builder', 'plant-l', 'plant-m']);
    await until('the gateways\' shares of attempt 2', async () => ((await jobState()).shares.length === 2 ? true : undefined));
    const again = await builderTurn();
    assert.equal(again.attempt, 2);
    assert.notDeepEqual(again.share, firstShare.share, 'another active set: another λ, another share');
    const done = await jobState();
    assert.equal(done.state, 'revealed');
    assert.deepEqual(done.shares, ['builder', 'plant-l', 'plant-m']);

    const moments = builder.openResult(schema, (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1/plan'))).json<JobPlan>(), await cloud.result('job-1'));
    assert.deepEqual(moments, computeMoments(schema, quantiseDataset(schema, allRows)), 'every row, plant H\'s included');
    for (const e of edges.slice(0, 2)) await until('the gateway to note its share', async () => (e.metrics().revealed.includes('job-1') ? true : undefined), 10_000);
    assert.deepEqual(events.filter((e) => e.event.kind === 'error' || e.event.kind === 'refusal').map((e) => `${e.tenant}: ${e.event.kind === 'error' ? e.event.error.message : (e.event as { message: string }).message}`), []);
  } catch (e) {
    logErrors(events);
    throw e;
  } finally {
    builder?.close();
    await closeStory(story);
  }
});
