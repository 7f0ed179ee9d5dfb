/**
 * `hedge edge start` end to end: a real `hedge cloud start` child process, three plants' gateways
 * enrolled through the API and running `startEdge` in this process, each replaying the AI4I 2020
 * rows of its product type (L, M, H) from CSV. The builder (this test) creates the federation; the
 * gateways' key holders join the ceremony on their own; the builder registers its receiver key and
 * defines the dataset; the gateways upload. The builder submits a job; the plant admins approve it
 * through the cloud, and the key holders hold back until the admins also approve locally; then the
 * gateways answer the reveal on their own, and the builder's result decrypts to the plaintext
 * moments of exactly the rows the gateways uploaded.
 */
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, enrolGateways, ok, revealOverHttps } from '../cloud/_https.ts';
import { ai4iFeatures, closeStory, logErrors, openStory, PLANTS, policyYaml, preparePlant, PRESET, ROWS, schemaLiteralOf, sleep, startCloud, untilWithin } from './_service.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { CiphertextCodec, PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec } from '../../src/he/wire.ts';
import { receiveMoments } from '../../src/compute/reveal.ts';
import type { JobPlan } from '../../src/compute/plan.ts';
import { computeMoments } from '../../src/models/moments.ts';
import { createSchema, quantiseDataset } from '../../src/models/schema.ts';
import { loadEdgeConfig } from '../../src/edge/config.ts';
import { startEdge } from '../../src/edge/service.ts';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';
import { fitRidge, lineageDigest } from '../../src/models/index.ts';
import { jsonBytes, metaFor, regMoments, regressionSchema } from '../runtime/fixtures.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FEATURES = ai4iFeatures('air_temperature', 'process_temperature', 'rotational_speed', 'torque', 'tool_wear');
const until = untilWithin(60_000);

test('hedge edge start: three gateways join the ceremony, upload, and answer an approved reveal on their own', { timeout: 120_000 }, async () => {
  const story = await openStory('hedge-edge-service-');
  const { dir, engine, edges, events } = story;
  try {
    const { base, caFile, ca, login, alice } = await startCloud(story, ['--allow-insecure-params']);

    // The builder creates the federation; the schema is agreed with the plants (a file each has).
    const members = [...PLANTS.map((p) => ({ tenant: p.tenant, role: 'plant' })), { tenant: 'builder', role: 'builder' }];
    await ok(call(base, alice, 'POST', '/v1/tenants/builder/federations', { id: 'mills', preset: PRESET, members, guards: { minPlants: 3, minRecords: 600 } }), 201);
    const schemaLiteral = schemaLiteralOf(FEATURES);
    const schema = createSchema(schemaLiteral);

    // Plant L also runs a model: torque from the other four signals, released to its fleet in a
    // TUF repository that reaches the plant as a mirror folder.
    const repo = await TufRepository.create({ dir: path.join(dir, 'tuf'), keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() } });
    await repo.addFleet('plant-l', [generateTufKey()]);
    // The training moments travel inside the artifact (verified by TUF with it): the gateway's
    // output controls and drift use them; its config names no moments file.
    const meta = { ...metaFor('torque', 1), reference: regMoments };
    await repo.publishModel('plant-l', { modelId: 'torque', version: 1, lineageDigest: lineageDigest(meta.lineage).replace(/^sha256:/, ''), bytes: jsonBytes(fitRidge(regressionSchema, regMoments), meta) });
    writeFileSync(path.join(dir, 'tuf-root.json'), repo.trustedRoot());
    const modelsYaml = [
      'models:', '  fleet: plant-l', `  trustedRoot: ${path.join(dir, 'tuf-root.json')}`, `  mirror: ${path.join(dir, 'tuf')}`, '  endpoint: { port: 0 }',
      '  run:', '    - { id: torque, fallback: { rule: constant, output: 40 } }',
    ];
    const allRows: number[][] = [];
    // Each plant: enrolment, its rows of the AI4I file, its policy, keys and config; then the gateway.
    const gateways = await enrolGateways(base, ca, PLANTS.map((p) => p.tenant), (p) => login(`admin-${p}`));
    for (const p of PLANTS) {
      const { pdir, rows } = await preparePlant({
        dir, base, caFile, engine, plant: p, gateway: gateways.get(p.tenant)!, features: FEATURES, policy: policyYaml(FEATURES, ['machine_failure']),
        extraYaml: [...(p.type === 'L' ? modelsYaml : []), ...(p.type === 'H' ? ['admin: { tokenFile: admin.token }'] : [])],
      });
      assert.equal(rows.length, ROWS);
      allRows.push(...rows);
      if (p.type === 'H') writeFileSync(path.join(pdir, 'admin.token'), randomBytes(32).toString('hex'), { mode: 0o600 });
      edges.push(await startEdge(await loadEdgeConfig(path.join(pdir, 'gateway.yaml')), { onEvent: (event) => events.push({ tenant: p.tenant, event }) }));
    }

    // The builder's own part of the ceremony; the gateways answer theirs by polling.
    const builderSecret = PartySecret.generate(engine);
    const seed = Buffer.from((await ok(call(base, alice, 'GET', '/v1/tenants/builder/federations/mills'))).json<{ seed: string }>().seed, 'hex');
    const rkp = new RelinKeyProtocol(engine);
    let r1: ReturnType<RelinKeyProtocol['genShareRound1']> | undefined;
    await until('the ceremony', async () => {
      const f = (await ok(call(base, alice, 'GET', '/v1/tenants/builder/federations/mills'))).json<{ round: string; missing: string[] }>();
      if (f.round === 'ready') return true;
      if (!f.missing.includes('builder')) return undefined;
      const post = (round: string, bytes: Uint8Array) => ok(call(base, alice, 'POST', `/v1/tenants/builder/federations/mills/ceremony/${round}`, bytes));
      if (f.round === 'pk') {
        const pkp = new PublicKeyProtocol(engine);
        await post('pk', PublicKeyShareCodec.toBytes(engine, pkp.genShare(builderSecret, pkp.sampleCrp(seed))));
      } else if (f.round === 'rlk1') {
        r1 = rkp.genShareRound1(builderSecret, rkp.sampleCrp(seed));
        await post('rlk1', RelinKeyShare1Codec.toBytes(engine, r1.public));
      } else if (f.round === 'rlk2') {
        const agg1 = RelinKeyShare1Codec.fromBytes(engine, (await ok(call(base, alice, 'GET', '/v1/tenants/builder/federations/mills/material/relin-round1'))).body);
        await post('rlk2', RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(builderSecret, r1!.secret, agg1)));
      }
      return undefined;
    });
    for (const p of PLANTS) assert.ok(events.some((e) => e.tenant === p.tenant && e.event.kind === 'ceremony' && e.event.round === 'rlk2'), `${p.tenant} joined every round on its own`);

    using builderSk = engine.generateSecretKey();
    using builderPk = engine.publicKeyFor(builderSk);
    await ok(call(base, alice, 'PUT', '/v1/tenants/builder/federations/mills/receiver-key', PublicKeyCodec.toBytes(engine, builderPk)));
    await ok(call(base, alice, 'POST', '/v1/tenants/builder/datasets', { id: 'mills', federation: 'mills', schema: schemaLiteral, retentionDays: 30 }), 201);
    await Promise.all(edges.map((e) => e.ready));
    await Promise.all(edges.map((e) => e.flush()));
    for (const e of edges) {
      const m = e.metrics();
      assert.equal(m.uploader.backlogBatches, 0);
      assert.equal(m.uploader.sentBatches, ROWS / 150);
      assert.equal(m.policy.samplesIn, ROWS);
      assert.equal(m.policy.samplesOut, ROWS);
    }

    // The model: delivered, verified, activated before the records arrived; every record answered.
    const torque = edges[0].metrics().models!;
    assert.deepEqual(torque.models.torque, { activeVersion: 1, decisions: ROWS, dropped: 0, skipped: 0 });
    assert.ok(events.some((e) => e.tenant === 'plant-l' && e.event.kind === 'model' && e.event.version === 1));
    const listed = (await (await fetch(`${torque.endpoint}/v1/models`)).json()) as { model: string; activeVersion: number }[];
    assert.deepEqual(listed.map((m) => [m.model, m.activeVersion]), [['torque', 1]]);
    const res = await fetch(`${torque.endpoint}/v1/models/torque/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record: [300, 310, 1500, 100] }) });
    assert.equal(res.status, 200);
    const decision = (await res.json()) as { version: number; source: string; abstained: boolean };
    assert.deepEqual([decision.version, decision.source, decision.abstained], [1, 'model', false]);

    // The job; the admins approve through the cloud, but the key holders wait for the local approval.
    const job = (await ok(call(base, alice, 'POST', '/v1/tenants/builder/jobs', { id: 'job-1', federation: 'mills', dataset: 'mills', spec: { features: FEATURES.map((f) => f.name), label: false } }), 201)).json<{ records: number }>();
    assert.equal(job.records, PLANTS.length * ROWS, 'every row the gateways read was uploaded once');
    const jobState = async () => (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1'))).json<{ state: string; shares: string[] }>();
    await until('the job to compute', async () => ((await jobState()).state === 'computed' ? true : undefined));
    for (const p of PLANTS) await ok(call(base, await login(`admin-${p.tenant}`), 'POST', `/v1/tenants/${p.tenant}/jobs/job-1/approvals`));
    await sleep(600); // several polls
    assert.deepEqual((await jobState()).shares, [], 'no key holder answers before its admin approved locally');
    for (const [i, p] of PLANTS.entries()) {
      if (p.type === 'H') continue; // plant H's admin approves with `hedge edge approve`, below
      const { plan, planDigest } = await edges[i].reviewJob('job-1');
      assert.equal(plan.records, PLANTS.length * ROWS);
      edges[i].approveJob({ jobId: 'job-1', planDigest, approvedBy: `admin-${p.tenant}` });
    }
    // The CLI runs as its own process; the gateway answers it from this one (so never spawnSync).
    const cli = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, ['bin/hedge.js', ...args], { cwd: root });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    const approve = (...extra: string[]) => cli(['edge', 'approve', 'job-1', '--admin', edges[2].adminUrl!, '--token-file', path.join(dir, 'plant-h', 'admin.token'), '--by', 'admin-plant-h', ...extra]);
    const shown = await approve();
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /900 records of plants plant-h, plant-l, plant-m .*not approved/s);
    writeFileSync(path.join(dir, 'wrong.token'), 'x'.repeat(64));
    const refused = await cli(['edge', 'approve', 'job-1', '--admin', edges[2].adminUrl!, '--token-file', path.join(dir, 'wrong.token'), '--by', 'x', '--yes']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /EDGE_ERR_ADMIN_AUTH/);
    const approved = await approve('--yes');
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(approved.stdout, /approved: this gateway's key holder will answer the reveal of job job-1/);
    await revealOverHttps(base, engine, 'job-1', 'mills', new Map([['builder', builderSecret]]), () => alice, { minPlants: 3, minRecords: 600 });
    await until('the reveal', async () => ((await jobState()).state === 'revealed' ? true : undefined));
    // (a gateway notes its share once the cloud's answer reaches it, which may be just after the job completes)
    for (const e of edges) await until('the gateway to note its share', async () => (e.metrics().revealed.includes('job-1') ? true : undefined), 10_000);
    for (const e of edges) assert.deepEqual(e.metrics().refused, []);

    const plan = (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1/plan'))).json<JobPlan>();
    using switched = CiphertextCodec.fromBytes(engine, (await ok(call(base, alice, 'GET', '/v1/tenants/builder/jobs/job-1/result'))).body);
    assert.deepEqual(receiveMoments(engine, schema, plan, switched, builderSk), computeMoments(schema, quantiseDataset(schema, allRows)));
    // Each gateway's local log: the batches it sent, and the cloud's checkpoints it checked; plant
    // L's second check, after its reports grew the cloud's log, goes through a consistency proof.
    for (const e of edges) {
      await e.checkCloudLog();
      const local = e.localLog();
      assert.deepEqual(local.filter((x) => x.kind === 'batch').map((x) => x.detail.records), [ROWS / 2, ROWS / 2]);
      const checked = local.filter((x) => x.kind === 'checkpoint');
      assert.ok(checked.length >= 1 && checked.every((x) => x.detail.consistent === true), JSON.stringify(checked));
    }
    const checkedBefore = edges[0].localLog().filter((x) => x.kind === 'checkpoint').length;
    // Plant L's gateway reports its model's activation history and its inference summary (counts
    // only) to the cloud's transparency log: two entries, and nothing twice.
    const logSize = async (): Promise<number> => (await ok(call(base, { ca: alice.ca }, 'GET', '/v1/log/checkpoint'))).json<{ size: number }>().size;
    const sizeBefore = await logSize();
    assert.equal(await edges[0].reportInference(), 1);
    assert.equal(await edges[0].reportInference(), 0, 'a period with no records is not reported');
    assert.equal(await logSize(), sizeBefore + 2, 'one activation, one summary');
    await edges[0].checkCloudLog();
    const checks = edges[0].localLog().filter((x) => x.kind === 'checkpoint');
    assert.equal(checks.length, checkedBefore + 1);
    assert.equal(checks.at(-1)!.detail.consistent, true);
    // The cloud keeps each history entry once: a gateway that restarts resends its history.
    const gatewayL = gateways.get('plant-l')!;
    const entry = { seq: 1, time: new Date().toISOString(), action: 'activate', version: 1, sha256: 'a'.repeat(64), previousVersion: null, automatic: false, actor: 'hedge-edge', reason: 'resent' };
    assert.equal((await ok(call(base, gatewayL, 'POST', '/v1/tenants/plant-l/activations', { modelId: 'torque', entries: [entry] }))).json<{ logged: number }>().logged, 0);
    assert.equal(await logSize(), sizeBefore + 2);
    assert.deepEqual(events.filter((e) => e.event.kind === 'error' || e.event.kind === 'refusal'), [], 'no errors, no refusals');
  } catch (e) {
    logErrors(events);
    throw e;
  } finally {
    await closeStory(story);
  }
});
