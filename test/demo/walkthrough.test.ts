/**
 * README's CLI walkthrough, command by command, as separate `hedge` processes (each person with
 * their own session folder): `hedge cloud start`, `login`, `federation create`, `edge enrol`,
 * `dataset create`, `edge start` (three plants, the AI4I rows of type L, M, H), `federation join`,
 * `job run`, `approve`, `edge approve`, `job reveal`, `model register`, `model deploy` (every
 * gateway fetches the model over HTTPS from the cloud's /tuf and activates it), `log verify` twice.
 * The outputs are the ones README quotes. At the insecure test size, so that it stays quick; the
 * demo runs the secure preset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_POLICY, SCHEMA_LITERAL } from '../../src/demo/plant.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AI4I = path.resolve(root, '../shared/data/ai4i2020.csv');
const PRESET = 'TEST_INSECURE_BGV_2048';
const ROWS = 300;
const PLANTS = [{ tenant: 'plant-a', user: 'anna', type: 'L' }, { tenant: 'plant-b', user: 'ben', type: 'M' }, { tenant: 'plant-c', user: 'carl', type: 'H' }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run { status: number | null; stdout: string; stderr: string }

test('README walkthrough: from hedge cloud start to a model active at three gateways, through the CLI', { timeout: 360_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-walkthrough-'));
  const passwords: Record<string, string> = {};
  for (const u of ['alice', 'eve', ...PLANTS.map((p) => p.user)]) passwords[u] = randomBytes(12).toString('hex');
  const daemons: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  /** A `hedge` command as `who` (its own session folder), from `cwd` (default: the walkthrough folder). */
  const hedge = (who: string, args: readonly string[], cwd = dir, env: Record<string, string> = {}): Promise<Run> => new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/hedge.js'), ...args], { cwd, env: { ...process.env, HEDGE_CONFIG_DIR: path.join(dir, 'sessions', who), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  const ok = async (p: Promise<Run>, pattern?: RegExp): Promise<Run> => {
    const r = await p;
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    if (pattern) assert.match(r.stdout, pattern);
    return r;
  };
  /** A long-running `hedge` process; resolves once its stderr matches `ready`. */
  const daemon = (args: readonly string[], cwd: string, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> => {
    const child = spawn(process.execPath, [path.join(root, 'bin/hedge.js'), ...args], { cwd, env: { ...process.env, ...Object.fromEntries(Object.entries(passwords).map(([u, pw]) => [`${u.toUpperCase()}_PASSWORD`, pw])) }, stdio: ['ignore', 'ignore', 'pipe'] });
    daemons.push(child);
    logs.set(child, '');
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        logs.set(child, logs.get(child)! + d.toString());
        const m = ready.exec(logs.get(child)!);
        if (m) resolve({ child, match: m });
      });
      child.on('exit', (code) => reject(new Error(`hedge ${args.join(' ')} exited (${code}): ${logs.get(child)}`)));
    });
  };
  try {
    writeFileSync(path.join(dir, 'users.json'), JSON.stringify([
      { username: 'alice', password: 'env:ALICE_PASSWORD', roles: [{ role: 'machine_builder', tenant: 'builder' }] },
      ...PLANTS.map((p) => ({ username: p.user, password: `env:${p.user.toUpperCase()}_PASSWORD`, roles: [{ role: 'plant_admin', tenant: p.tenant }] })),
      { username: 'eve', password: 'env:EVE_PASSWORD', roles: [{ role: 'auditor', tenant: 'builder' }] },
    ]));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const { match } = await daemon(['cloud', 'start', '--data-dir', 'hedge-data', '--port', String(port), '--bootstrap', 'users.json', '--threads', '1', '--allow-insecure-params'], dir, /listening on (https:\/\/\S+)/);
    const url = match[1];
    const login = (who: string, tenant: string): Promise<Run> => ok(hedge(who, ['login', '--url', url, '--ca', 'hedge-data/ca.pem', '--user', who, '--tenant', tenant], dir, { HEDGE_PASSWORD: passwords[who] }), /logged in/);

    await login('alice', 'builder');
    await ok(hedge('alice', ['federation', 'create', 'mills', '--preset', PRESET, ...PLANTS.flatMap((p) => ['--plant', p.tenant]), '--min-records', '600']), /federation mills .*ceremony round pk, waiting for plant-a, plant-b, plant-c, builder/);

    writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(SCHEMA_LITERAL));
    await ok(hedge('alice', ['dataset', 'create', 'mills', '--federation', 'mills', '--schema', 'schema.json', '--retention-days', '365']), /dataset mills of federation mills/);

    const lines = readFileSync(AI4I, 'utf8').trim().split('\n');
    const admins = new Map<string, string>();
    for (const p of PLANTS) {
      await login(p.user, p.tenant);
      const pdir = path.join(dir, p.tenant);
      mkdirSync(pdir);
      await ok(hedge(p.user, ['edge', 'enrol', '--gateway', 'gw-1', '--out', p.tenant]), new RegExp(`enrolled gateway gw-1 of ${p.tenant}: ${p.tenant}/gateway.pem, ${p.tenant}/gateway.key`));
      writeFileSync(path.join(pdir, 'pseudonym.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
      writeFileSync(path.join(pdir, 'custody.key'), randomBytes(32), { mode: 0o600 });
      writeFileSync(path.join(pdir, 'admin.token'), randomBytes(32).toString('hex'), { mode: 0o600 });
      writeFileSync(path.join(pdir, 'policy.yaml'), DEMO_POLICY);
      writeFileSync(path.join(pdir, 'schema.json'), JSON.stringify(SCHEMA_LITERAL));
      copyFileSync(path.join(dir, 'hedge-data', 'tuf', 'metadata', 'root.json'), path.join(pdir, 'tuf-root.json'));
      writeFileSync(path.join(pdir, 'history.csv'), [lines[0], ...lines.slice(1).filter((l) => l.split(',')[2] === p.type).slice(0, ROWS)].join('\n') + '\n');
      writeFileSync(path.join(pdir, 'gateway.yaml'), [
        'version: 1', `tenant: ${p.tenant}`, 'federation: mills', 'stateDir: state', 'allowInsecureParams: true',
        `cloud: { url: "${url}", ca: ../hedge-data/ca.pem, cert: gateway.pem, key: gateway.key, pollMs: 200 }`,
        'policy: policy.yaml',
        'keyHolder:', '  custody: { keyFile: custody.key }', '  policy: { minPlants: 3, minRecords: 600, maxRevealsPerDay: 10 }',
        'connectors:', '  - { kind: csv, path: history.csv, layout: ai4i, machineId: mill-7, stepMs: 60000 }',
        'datasets:', '  - { id: mills, schema: schema.json, source: samples, batchSize: 1024, maxWaitMs: 500 }',
        'models:', `  fleet: ${p.tenant}`, '  trustedRoot: tuf-root.json', `  repository: ${url}/tuf`, '  checkMs: 300',
        '  run:', '    - { id: mills-fail, fallback: { rule: constant, output: ok } }',
        'admin: { tokenFile: admin.token }', '',
      ].join('\n'));
      const edge = await daemon(['edge', 'start', '--config', 'gateway.yaml'], pdir, /admin endpoint (http:\/\/\S+)/);
      admins.set(p.tenant, edge.match[1]);
    }

    const custody = { HEDGE_CUSTODY_PASSPHRASE: 'a long builder passphrase for the test' };
    await ok(hedge('alice', ['federation', 'join', 'mills', '--keys', 'builder-keys', '--allow-insecure-params'], dir, custody), /federation mills: keys ready; receiver key [0-9a-f]+… registered/);
    await ok(hedge('alice', ['federation', 'status', 'mills']), /keys ready/);
    const features = SCHEMA_LITERAL.features.map((f) => f.name).join(',');
    for (const child of daemons.slice(1)) {
      for (let i = 0; i < 150 && !/"kind":"ready"/.test(logs.get(child)!); i++) await sleep(200);
    }
    let job: Run | undefined;
    for (let i = 0; i < 100 && job?.status !== 0; i++) {
      await sleep(1000); // the gateways seal (maxWaitMs) and upload; until then the guards refuse a job over fewer plants or records
      job = await hedge('alice', ['job', 'run', '--federation', 'mills', '--dataset', 'mills', '--label', '--id', 'job-1', '--features', features]);
      if (job.status !== 0) assert.match(job.stderr, /COMPUTE_ERR_GUARD/);
    }
    assert.match(job!.stdout, new RegExp(`job job-1 computed: \\d+/\\d+ batches, ${3 * ROWS} records of plant-a, plant-b, plant-c; approvals 0/3`));

    for (const p of PLANTS) {
      await ok(hedge(p.user, ['approve', 'job-1']), new RegExp(`approved job job-1 for ${p.tenant}`));
      const approved = await ok(hedge(p.user, ['edge', 'approve', 'job-1', '--admin', admins.get(p.tenant)!, '--token-file', path.join(p.tenant, 'admin.token'), '--by', p.user, '--yes']));
      assert.match(approved.stdout, new RegExp(`job job-1: ${3 * ROWS} records of plants plant-a, plant-b, plant-c .*and the label; 42 sums; plan digest [0-9a-f]{64}`));
      assert.match(approved.stdout, /approved: this gateway's key holder will answer the reveal of job job-1/);
    }
    await ok(hedge('alice', ['job', 'reveal', 'job-1', '--keys', 'builder-keys', '--schema', 'schema.json', '--out', 'moments.json', '--allow-insecure-params'], dir, custody), new RegExp(`moments of ${3 * ROWS} records .* in moments.json`));
    await ok(hedge('alice', ['model', 'register', 'mills-fail', '--job', 'job-1', '--moments', 'moments.json', '--schema', 'schema.json', '--family', 'lda']), new RegExp(`registered mills-fail v1 \\(discriminant\\): count=${3 * ROWS}`));
    const deployed = await ok(hedge('alice', ['model', 'deploy', 'mills-fail', '1', ...PLANTS.flatMap((p) => ['--fleet', p.tenant])]));
    for (const p of PLANTS) assert.match(deployed.stdout, new RegExp(`deployed mills-fail v1 to ${p.tenant} \\(fleets/${p.tenant}/mills-fail/v1\\)`));
    // Each gateway fetches it over HTTPS with the cloud's CA, verifies it through TUF and activates it.
    for (const child of daemons.slice(1)) {
      for (let i = 0; i < 100 && !/"kind":"model","modelId":"mills-fail","version":1/.test(logs.get(child)!); i++) await sleep(200);
      assert.match(logs.get(child)!, /"kind":"model","modelId":"mills-fail","version":1/);
      assert.doesNotMatch(logs.get(child)!, /"kind":"(error|refusal)"/);
    }
    await ok(hedge('alice', ['model', 'list', 'mills-fail']), /deployed v1 to plant-c/);

    await login('eve', 'builder');
    const first = await ok(hedge('eve', ['log', 'verify']), /checkpoint of hedge\.cloud\/log verified: size \d+/);
    assert.match(first.stdout, /pinned the log key hedge\.cloud\/log\+/);
    await ok(hedge('eve', ['log', 'verify']), /consistent with the checkpoint of size \d+ verified before: nothing was rewritten/);
  } finally {
    for (const d of daemons.slice(1).reverse()) d.kill('SIGTERM');
    await Promise.all(daemons.slice(1).map((d) => new Promise((r) => (d.exitCode !== null ? r(null) : d.once('exit', r)))));
    daemons[0]?.kill('SIGTERM');
    if (daemons[0] && daemons[0].exitCode === null) await new Promise((r) => daemons[0].once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
