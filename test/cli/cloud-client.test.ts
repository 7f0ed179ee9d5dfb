/**
 * The `hedge` CLI against a real `hedge cloud start` process over HTTPS: login (a 0600 session),
 * federation create and status, dataset create, job run with its progress bar on stderr and the
 * job as JSON on stdout, job status, plant admins' approvals (with `HEDGE_TOKEN`), model list,
 * deploy and rollback, a refused rollback release printed as `error <code>` with a hint, and
 * `hedge log verify` (first use pins the key; later runs prove consistency and entry inclusion).
 * The key ceremony, uploads and reveal shares come from the plants' gateways (client
 * certificates), as in production. After a restart the cloud's TUF repository continues: a newer
 * version deploys and the log still verifies as consistent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, ceremonyOverHttps, enrolGateways, kill, login as loginAt, ok, revealOverHttps, startServer, writeUsers, type Identity } from '../cloud/_https.ts';
import { SCHEMA } from '../cloud/_models.ts';
import { failLabel, hedge, okJson, PASSWORD, PLANTS, uploadRows } from './_hedge.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PublicKeyCodec } from '../../src/he/wire.ts';
import { computeMoments, createSchema, fitDiscriminant, modelToArtifact, momentsFromJSON, quantiseDataset } from '../../src/models/index.ts';

test('hedge CLI against hedge cloud start: federation, dataset, job, approvals, models, log', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-cli-'));
  const dataDir = path.join(dir, 'data');
  const users = path.join(dir, 'users.json');
  writeUsers(users, PLANTS, PASSWORD, [{ username: 'audrey', role: 'auditor', tenant: 'builder' }]);
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let server = await startServer(dataDir, port, users, ['--allow-insecure-params']);
  try {
    const caFile = path.join(dataDir, 'ca.pem');
    const ca = readFileSync(caFile, 'utf8');
    const env = { HEDGE_CONFIG_DIR: path.join(dir, 'alice-config') };

    // Login: a session file the others read, 0600.
    const unreachable = await hedge(['login', '--url', 'https://127.0.0.1:1', '--ca', caFile, '--user', 'alice'], { ...env, HEDGE_PASSWORD: PASSWORD });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /^error CLOUD_ERR_UNREACHABLE: .*\nhint: /);
    const wrong = await hedge(['login', '--url', server.url, '--ca', caFile, '--user', 'alice'], { ...env, HEDGE_PASSWORD: 'nope' });
    assert.match(wrong.stderr, /^error CLOUD_ERR_BAD_CREDENTIALS: /);
    const login = await okJson<{ file: string }>(hedge(['login', '--url', server.url, '--ca', caFile, '--user', 'alice', '--tenant', 'builder', '--json'], { ...env, HEDGE_PASSWORD: PASSWORD }));
    assert.equal(statSync(login.file).mode & 0o777, 0o600);
    const alice: Identity = { ca, token: JSON.parse(readFileSync(login.file, 'utf8')).token };
    const tokenOf = async (username: string): Promise<string> => (await loginAt(server.url, ca, username, PASSWORD)).token!;

    // Gateways enrol (their plant admins make the tokens).
    const gateways = await enrolGateways(server.url, ca, PLANTS, (p) => loginAt(server.url, ca, `admin-${p}`, PASSWORD));
    const as = (tenant: string): Identity => (tenant === 'builder' ? alice : gateways.get(tenant)!);

    // Federation and its ceremony.
    const plantArgs = PLANTS.flatMap((p) => ['--plant', p]);
    const fed = await okJson<{ seed: string; round: string; missing: string[] }>(hedge(['federation', 'create', 'mills', '--preset', engine.params.name, ...plantArgs, '--min-plants', '3', '--min-records', '100', '--json'], env));
    assert.equal(fed.round, 'pk');
    assert.deepEqual([...fed.missing].sort(), ['builder', ...PLANTS]);
    // The builder's key holder joins with the CLI (custody in a folder of its own) while the plants answer.
    const keys = path.join(dir, 'builder-keys');
    const keyEnv = { ...env, HEDGE_CUSTODY_PASSPHRASE: 'builder custody passphrase' };
    const noPassphrase = await hedge(['federation', 'join', 'mills', '--keys', keys, '--allow-insecure-params'], env);
    assert.match(noPassphrase.stderr, /^error CLOUD_ERR_VALIDATION: cannot unlock key custody.*\nhint: /);
    const joining = hedge(['federation', 'join', 'mills', '--keys', keys, '--allow-insecure-params', '--json'], keyEnv);
    const { secrets } = await ceremonyOverHttps(server.url, engine, 'mills', fed.seed, PLANTS, as, { waitForOthers: true });
    const joined = await okJson<{ round: string; receiverKeyHash: string }>(joining);
    assert.equal(joined.round, 'ready');
    const status = await hedge(['federation', 'status', 'mills'], env);
    assert.match(status.stdout, /federation mills .*keys ready/);
    const receiverKey = (await ok(call(server.url, alice, 'GET', '/v1/tenants/builder/federations/mills/material/receiver-key'))).body;
    assert.equal(createHash('sha256').update(receiverKey).digest('hex'), joined.receiverKeyHash, 'the registered receiver key is the one in the builder\'s custody');
    assert.deepEqual(await okJson(hedge(['federation', 'join', 'mills', '--keys', keys, '--allow-insecure-params', '--json'], keyEnv)), joined, 'joining again changes nothing');

    // Dataset and encrypted uploads.
    const schemaFile = path.join(dir, 'schema.json');
    writeFileSync(schemaFile, JSON.stringify(SCHEMA));
    const ds = await okJson<{ id: string; params: string }>(hedge(['dataset', 'create', 'mills', '--federation', 'mills', '--schema', schemaFile, '--json'], env));
    assert.equal(ds.params, engine.params.name);
    const bad = await hedge(['dataset', 'create', 'x', '--federation', 'mills', '--schema', path.join(dir, 'absent.json')], env);
    assert.match(bad.stderr, /^error CLOUD_ERR_VALIDATION: cannot read schema/);
    using pk = PublicKeyCodec.fromBytes(engine, (await ok(call(server.url, as('plant-a'), 'GET', '/v1/tenants/plant-a/federations/mills/material/public-key'))).body);
    const schema = createSchema(SCHEMA);
    const allRows = await uploadRows(server.url, engine, pk, gateways, (i, k) => [(i * 41 + k * 7) % 3000, (i * 17 + k) % 80]);

    // The job: a progress bar on stderr, the job as JSON on stdout.
    const run = await hedge(['job', 'run', '--federation', 'mills', '--dataset', 'mills', '--features', 'speed,torque', '--label', '--id', 'job-1', '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /job-1 \[[#.]{30}\] \d+\/\d+ (queued|running)/);
    assert.match(run.stderr, /job-1 \[#{30}\] 3\/3 computed/);
    assert.equal(JSON.parse(run.stdout).state, 'computed');
    for (const p of PLANTS) {
      const approved = await hedge(['approve', 'job-1', '--tenant', p], { ...env, HEDGE_TOKEN: await tokenOf(`admin-${p}`) });
      assert.equal(approved.code, 0, approved.stderr);
    }
    const denied = await hedge(['approve', 'job-1'], env);
    assert.match(denied.stderr, /^error CLOUD_ERR_ACCESS_DENIED: .*\nhint: /);
    assert.equal((await okJson<{ approvals: string[] }>(hedge(['job', 'status', 'job-1', '--json'], env))).approvals.length, 3);
    // The builder's share and the result, opened in its custody, with the CLI; the plants' shares come from their key holders.
    const momentsFile = path.join(dir, 'moments.json');
    const revealing = hedge(['job', 'reveal', 'job-1', '--keys', keys, '--schema', schemaFile, '--out', momentsFile, '--allow-insecure-params', '--json'], keyEnv);
    await revealOverHttps(server.url, engine, 'job-1', 'mills', secrets, as, { minPlants: 3, minRecords: 100 });
    const revealed = await okJson<{ records: number; out: string }>(revealing);
    assert.equal(revealed.records, 600);
    const moments = momentsFromJSON(JSON.parse(readFileSync(momentsFile, 'utf8')));
    assert.deepEqual(moments, computeMoments(schema, quantiseDataset(schema, allRows, failLabel(allRows))), 'the builder opens exactly the plaintext moments');
    assert.equal(statSync(momentsFile).mode & 0o777, 0o600);
    const fitted = await okJson<{ modelId: string; version: number; family: string }>(hedge(['model', 'register', 'mills-anomaly', '--job', 'job-1', '--moments', momentsFile, '--schema', schemaFile, '--family', 'mahalanobis', '--json'], env));
    assert.deepEqual([fitted.modelId, fitted.version, fitted.family], ['mills-anomaly', 1, 'mahalanobis']);
    assert.match((await hedge(['model', 'register', 'x', '--job', 'job-1', '--moments', momentsFile, '--schema', schemaFile, '--family', 'forest'], env)).stderr, /^error CLOUD_ERR_VALIDATION: .*--family/);

    // The builder fits and registers models (over the API), then deploys and rolls back with the CLI.
    const model = fitDiscriminant(schema, moments, { priors: 'uniform' });
    const artifact = modelToArtifact(model, { modelId: 'mills-fail', modelVersion: 1, lineage: { jobId: 'job-1', plants: [], batchHashes: [] } });
    const register = async (accuracy: number): Promise<void> => {
      await ok(call(server.url, alice, 'POST', '/v1/tenants/builder/models/mills-fail/versions', { jobId: 'job-1', artifact, evaluation: { accuracy } }), 201);
    };
    await register(0.9);
    await register(0.95);
    assert.deepEqual(await okJson(hedge(['model', 'list', '--json'], env)), [
      { modelId: 'mills-anomaly', owner: 'builder', latest: 1, aliases: {} },
      { modelId: 'mills-fail', owner: 'builder', latest: 2, aliases: {} },
    ]);
    await okJson(hedge(['model', 'deploy', 'mills-fail', '1', '--fleet', 'plant-a', '--fleet', 'plant-b', '--json'], env));
    await ok(call(server.url, alice, 'PUT', '/v1/tenants/builder/models/mills-fail/aliases/production', { version: 1 }));
    await ok(call(server.url, alice, 'PUT', '/v1/tenants/builder/models/mills-fail/aliases/production', { version: 2 }));
    const deployed = await okJson<{ fleet: string; version: number }[]>(hedge(['model', 'deploy', 'mills-fail', '--alias', 'production', '--fleet', 'plant-a', '--json'], env));
    assert.deepEqual(deployed.map((d) => [d.fleet, d.version]), [['plant-a', 2]]);
    const back = await okJson<{ version: number; from: number; fleetsAhead: string[] }>(hedge(['model', 'rollback', 'mills-fail', '--to', '1', '--json'], env));
    assert.deepEqual([back.from, back.version, back.fleetsAhead], [2, 1, ['plant-a']]);
    const refused = await hedge(['model', 'deploy', 'mills-fail', '--alias', 'production', '--fleet', 'plant-a'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error CLOUD_ERR_ROLLBACK_REFUSED: .*\nhint: .*gateway/);
    assert.match((await hedge(['model', 'rollback', 'mills-fail', '--to', '1'], env)).stderr, /^error CLOUD_ERR_VALIDATION: .*not older/);
    const listed = await hedge(['model', 'list', 'mills-fail'], env);
    assert.match(listed.stdout, /production→v1/);
    assert.match(listed.stdout, /deployed v2 to plant-a/);

    // The log: first use pins the key; an entry of the tenant is proven included.
    const auditor = { ...env, HEDGE_CONFIG_DIR: path.join(dir, 'auditor-config'), HEDGE_URL: server.url, HEDGE_CA: caFile, HEDGE_TOKEN: await tokenOf('audrey'), HEDGE_TENANT: 'builder' };
    const { HEDGE_TOKEN: _, ...anonymous } = auditor; // checkpoints are public: no token needed
    const first = await okJson<{ size: number; pinnedNow: boolean; consistentWith: number | null }>(hedge(['log', 'verify', '--json'], anonymous));
    assert.equal(first.pinnedNow, true);
    assert.equal(first.consistentWith, null);
    let entry = -1;
    for (let i = 0; i < first.size && entry < 0; i++) if ((await call(server.url, { ca, token: auditor.HEDGE_TOKEN }, 'GET', `/v1/tenants/builder/log/entries/${i}`)).status === 200) entry = i;
    assert.ok(entry >= 0, 'the builder tenant has entries');
    await ok(call(server.url, { ca, token: auditor.HEDGE_TOKEN }, 'GET', `/v1/tenants/plant-a/log/entries/${entry}`), 403);

    // Restart: the TUF repository and the log go on where they were.
    await kill(server);
    server = await startServer(dataDir, port, users, ['--allow-insecure-params']);
    await register(0.97);
    const v3 = await okJson<{ version: number }[]>(hedge(['model', 'deploy', 'mills-fail', '3', '--fleet', 'plant-a', '--fleet', 'plant-c', '--json'], { ...env, HEDGE_TOKEN: await tokenOf('alice') }));
    assert.deepEqual(v3.map((d) => d.version), [3, 3]);
    const second = await okJson<{ size: number; pinnedNow: boolean; consistentWith: number; entries: { kind: string }[] }>(hedge(['log', 'verify', '--entry', String(entry), '--json'], auditor));
    assert.equal(second.pinnedNow, false);
    assert.equal(second.consistentWith, first.size);
    assert.ok(second.size > first.size);
    assert.equal(second.entries.length, 1);
    const timestamp = await call(server.url, { ca }, 'GET', '/tuf/metadata/timestamp.json');
    assert.equal(timestamp.status, 200);
    assert.ok(timestamp.json<{ signed: { version: number } }>().signed.version > 3, 'the timestamp version continued across the restart');
  } finally {
    await kill(server);
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
