/**
 * The builder's CLI in a 3-of-4 federation against a real `hedge cloud start`: `hedge federation
 * create --threshold 3`, `hedge federation join` (its key holder takes every round, kex, deal and
 * combine included, while the plants' key holders take theirs over mTLS), and `hedge job reveal`
 * with plant C's key holder silent: the builder's share for the active set (builder, A, B), and the
 * result opened in its custody — exactly the plaintext moments of all three plants' rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, enrolGateways, kill, login as loginAt, ok, startServer, writeUsers } from '../cloud/_https.ts';
import { SCHEMA } from '../cloud/_models.ts';
import { failLabel, hedge, okJson, PASSWORD, PLANTS, uploadRows } from './_hedge.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PublicKeyCodec } from '../../src/he/wire.ts';
import { sumRevealInput } from '../../src/he/mhe/sum-input.ts';
import { decodePartial } from '../../src/compute/partial.ts';
import { computeMoments, createSchema, momentsFromJSON, quantiseDataset } from '../../src/models/index.ts';
import { CUSTODY_KDF_MIN } from '../../src/edge/custody.ts';
import { ceremonyTurn, keyHolderFederation, revealAsk } from '../../src/edge/ceremony.ts';
import { CloudClient } from '../../src/edge/cloud-client.ts';
import { KeyHolder, jobPlanDigest } from '../../src/edge/keyholder.ts';

test('hedge federation create --threshold, join and job reveal in a 3-of-4 federation, one plant silent', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-cli-threshold-'));
  const dataDir = path.join(dir, 'data');
  const users = path.join(dir, 'users.json');
  writeUsers(users, PLANTS, PASSWORD);
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const server = await startServer(dataDir, port, users, ['--allow-insecure-params']);
  const holders = new Map<string, KeyHolder>();
  try {
    const caFile = path.join(dataDir, 'ca.pem');
    const ca = readFileSync(caFile, 'utf8');
    const env = { HEDGE_CONFIG_DIR: path.join(dir, 'alice-config') };
    await okJson(hedge(['login', '--url', server.url, '--ca', caFile, '--user', 'alice', '--tenant', 'builder', '--json'], { ...env, HEDGE_PASSWORD: PASSWORD }));
    const tokenOf = async (username: string): Promise<string> => (await loginAt(server.url, ca, username, PASSWORD)).token!;

    // The plants' gateways enrol; each plant's key holder talks to the cloud with its certificate.
    const gateways = await enrolGateways(server.url, ca, PLANTS, (p) => loginAt(server.url, ca, `admin-${p}`, PASSWORD));
    const clients = new Map(PLANTS.map((p) => [p, new CloudClient({ url: server.url, tenant: p, tls: { ca, cert: gateways.get(p)!.cert, key: gateways.get(p)!.key } })]));

    const plantArgs = PLANTS.flatMap((p) => ['--plant', p]);
    const fed = await okJson<{ threshold: number; members: { tenant: string; point?: number }[] }>(hedge(['federation', 'create', 'mills', '--preset', engine.params.name, ...plantArgs, '--min-plants', '3', '--min-records', '100', '--threshold', '3', '--json'], env));
    assert.equal(fed.threshold, 3);
    assert.deepEqual(fed.members.map((m) => m.point), [1, 2, 3, 4]);
    const refused = await hedge(['federation', 'create', 'other', '--preset', engine.params.name, ...plantArgs, '--threshold', '0'], env);
    assert.match(refused.stderr, /^error CLOUD_ERR_VALIDATION: .*--threshold/);
    const described = await hedge(['federation', 'status', 'mills'], env);
    assert.match(described.stdout, /reveals need 3-of-4 key holders/);

    const view = await clients.get('plant-a')!.federation('mills');
    for (const [i, p] of PLANTS.entries()) {
      const kdir = path.join(dir, `${p}-keys`);
      await KeyHolder.init(kdir, engine, { passphrase: 'plant custody passphrase' }, { kdf: CUSTODY_KDF_MIN });
      holders.set(p, await KeyHolder.open({ dir: kdir, engine, unlock: { passphrase: 'plant custody passphrase' }, policy: { minPlants: 3, minRecords: 100, maxRevealsPerDay: 5 }, federation: keyHolderFederation(view, p) }));
      assert.equal(keyHolderFederation(view, p).thresholdPoint, i + 1);
    }

    // The builder joins with the CLI while the plants take their turns.
    const keys = path.join(dir, 'builder-keys');
    const keyEnv = { ...env, HEDGE_CUSTODY_PASSPHRASE: 'builder custody passphrase' };
    const joining = hedge(['federation', 'join', 'mills', '--keys', keys, '--allow-insecure-params', '--json'], keyEnv);
    const rounds = new Map<string, string[]>(PLANTS.map((p) => [p, []]));
    for (const end = Date.now() + 120_000; ;) {
      const f = await clients.get('plant-a')!.federation('mills');
      if (f.round === 'ready') break;
      assert.ok(Date.now() < end, `the ceremony is stuck at ${f.round}, waiting for ${f.missing.join(', ')}`);
      for (const p of PLANTS) {
        const turn = await ceremonyTurn(holders.get(p)!, clients.get(p)!, await clients.get(p)!.federation('mills'));
        if (turn !== undefined) rounds.get(p)!.push(turn.round);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const p of PLANTS) assert.deepEqual(rounds.get(p), ['pk', 'rlk1', 'rlk2', 'kex', 'deal', 'combine']);
    const joined = await okJson<{ round: string; receiverKeyHash: string }>(joining);
    assert.equal(joined.round, 'ready');
    const receiver = (await ok(call(server.url, gateways.get('plant-a')!, 'GET', '/v1/tenants/plant-a/federations/mills/material/receiver-key'))).body;

    // Data from the three plants, a job, the admins' approvals (A and B first).
    const schemaFile = path.join(dir, 'schema.json');
    writeFileSync(schemaFile, JSON.stringify(SCHEMA));
    await okJson(hedge(['dataset', 'create', 'mills', '--federation', 'mills', '--schema', schemaFile, '--json'], env));
    using pk = PublicKeyCodec.fromBytes(engine, await clients.get('plant-b')!.material('mills', 'public-key'));
    const schema = createSchema(SCHEMA);
    const allRows = await uploadRows(server.url, engine, pk, gateways, (i, k) => [(i * 43 + k * 5) % 3000, (i * 13 + k) % 80]);
    await okJson(hedge(['job', 'run', '--federation', 'mills', '--dataset', 'mills', '--features', 'speed,torque', '--label', '--id', 'job-1', '--json'], env));
    for (const p of PLANTS) assert.equal((await hedge(['approve', 'job-1', '--tenant', p], { ...env, HEDGE_TOKEN: await tokenOf(`admin-${p}`) })).code, 0);

    // The builder reveals with the CLI; plants A and B answer; plant C's key holder stays silent.
    const momentsFile = path.join(dir, 'moments.json');
    const revealing = hedge(['job', 'reveal', 'job-1', '--keys', keys, '--schema', schemaFile, '--out', momentsFile, '--allow-insecure-params', '--json'], keyEnv);
    for (const p of ['plant-a', 'plant-b']) {
      const cloud = clients.get(p)!;
      const kh = holders.get(p)!;
      const plan = await cloud.plan('job-1');
      kh.approve({ jobId: 'job-1', planDigest: jobPlanDigest(plan), approvedBy: `admin-${p}` });
      const request = await cloud.revealRequest('job-1');
      assert.deepEqual(request.activeSet?.map((m) => m.tenant), ['builder', 'plant-a', 'plant-b']);
      const ask = revealAsk(request, p)!;
      const accs = decodePartial(engine, await cloud.aggregate('job-1'), request.plan.aggregation.stats.length);
      holders.get(p)!.close();
      // (reopened with the receiver, as a gateway does once the builder registered it)
      holders.set(p, await KeyHolder.open({ dir: path.join(dir, `${p}-keys`), engine, unlock: { passphrase: 'plant custody passphrase' }, policy: { minPlants: 3, minRecords: 100, maxRevealsPerDay: 5 }, federation: { ...keyHolderFederation(view, p), receiver } }));
      const share = holders.get(p)!.revealShare({ jobId: 'job-1', plan: request.plan, input: sumRevealInput(engine, accs), receiver, ...ask.share });
      for (const ct of accs) ct[Symbol.dispose]();
      await cloud.postRevealShare('job-1', share, ask.attempt);
    }
    assert.equal(revealAsk(await clients.get('plant-c')!.revealRequest('job-1'), 'plant-c'), undefined, 'plant C is not asked');
    const revealed = await okJson<{ records: number }>(revealing);
    assert.equal(revealed.records, 600);
    const moments = momentsFromJSON(JSON.parse(readFileSync(momentsFile, 'utf8')));
    assert.deepEqual(moments, computeMoments(schema, quantiseDataset(schema, allRows, failLabel(allRows))), 'the builder opens exactly the plaintext moments');
    const job = (await ok(call(server.url, { ca, token: await tokenOf('alice') }, 'GET', '/v1/tenants/builder/jobs/job-1'))).json<{ state: string; shares: string[] }>();
    assert.deepEqual([job.state, job.shares], ['revealed', ['builder', 'plant-a', 'plant-b']]);
  } finally {
    for (const h of holders.values()) h.close();
    await kill(server);
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
