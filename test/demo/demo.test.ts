/**
 * `npx hedge demo --json --keep` end to end, through the real bin on the pinned Node: the cloud over
 * HTTPS, three gateways, the builder and the auditor. Its summary says the revealed moments equal
 * the plaintext ones and the models are identical, every gateway activated both models and
 * answered live OPC UA records, and the log verified; with `--keep` the cloud is still serving
 * after the summary, and Ctrl-C (SIGINT) stops everything with exit 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoSummary, DemoUser } from '../../src/demo/demo.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const get = (url: string, ca: string): Promise<number> => new Promise((resolve, reject) => {
  request(url, { ca, agent: false }, (res) => {
    res.resume();
    resolve(res.statusCode ?? 0);
  }).on('error', reject).end();
});

test('hedge demo --json --keep runs the whole story over the services, reports it, keeps serving until SIGINT', { timeout: 360_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-demo-test-'));
  const child = spawn(process.execPath, ['bin/hedge.js', 'demo', '--json', '--keep', '--dir', dir], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    const line = await Promise.race([
      new Promise<string>((resolve) => {
        const check = (): void => { if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n'))); };
        child.stdout.on('data', check);
      }),
      exited.then((code) => { throw new Error(`the demo exited (${code}) before its summary\n${stderr}`); }),
    ]);
    const s = JSON.parse(line) as DemoSummary & { console: string; users: DemoUser[] };

    assert.equal(s.federation.preset, 'BGV_AGG_8192');
    assert.deepEqual(s.federation.keyHolders, ['plant-l', 'plant-m', 'plant-h', 'builder']);
    assert.deepEqual(s.plants.map((p) => [p.plant, p.productType, p.rows, p.shared, p.rejected]), [
      ['plant-l', 'L', 6000, 6000, 0], ['plant-m', 'M', 2997, 2997, 0], ['plant-h', 'H', 1003, 1003, 0],
    ]);
    assert.equal(s.data.rows, 10_000);
    for (const j of s.jobs) {
      assert.equal(j.records, 10_000, `${j.job}: every replayed row, uploaded once`);
      assert.equal(j.plants, 3);
      assert.deepEqual([...j.approvals].sort(), ['plant-h', 'plant-l', 'plant-m'], `${j.job}: every plant admin approved`);
      assert.deepEqual([...j.shares].sort(), ['builder', 'plant-h', 'plant-l', 'plant-m'], `${j.job}: every key holder sent its share`);
    }
    for (const m of s.models) {
      assert.ok(m.momentsEqualPlaintext, `${m.model}: the revealed moments are the plaintext moments, exactly`);
      assert.ok(m.identical, `${m.model}: the model from ciphertexts is the plaintext-trained model`);
      assert.deepEqual(m.encrypted, m.plaintext);
    }
    assert.ok(s.models[0].encrypted.auc > 0.85, 'the failure classifier separates failures');
    assert.equal(s.deployments.length, 6, 'two models at three gateways');
    for (const d of s.deployments) {
      assert.match(d.sha256, /^[0-9a-f]{64}$/);
      assert.ok(d.activated, `${d.plant} ${d.model}: verified and active`);
      assert.ok(d.records >= 60, `${d.plant} ${d.model}: answered live OPC UA records (${d.records})`);
      assert.ok(d.abstained <= d.records);
    }
    assert.equal(s.saw.cloud.values, 0);
    assert.equal(s.saw.cloud.batches, 4);
    assert.equal(s.saw.cloud.records, 10_000);
    assert.equal(s.saw.builder.records, 0);
    assert.equal(s.saw.builder.revealedSums, s.jobs.reduce((a, j) => a + j.statistics, 0));
    assert.ok(s.log.verified);
    assert.ok(s.log.consistentWith !== null && s.log.consistentWith > 0 && s.log.consistentWith < s.log.entries, 'checked against an earlier checkpoint');
    assert.equal(s.log.kinds.decryption_share, 8, 'one share per key holder and job');
    assert.equal(s.log.kinds.deployment, 6);
    assert.equal(s.log.kinds.activation, 6);
    assert.ok(s.log.kinds.inference_summary >= 6);
    for (const p of ['plant-l', 'plant-m', 'plant-h']) {
      const w = s.log.witnessed[p];
      assert.ok(w.checks >= 2 && w.consistent && w.size >= s.log.checkpointSize, `${p} followed the cloud's log: ${JSON.stringify(w)}`);
    }
    assert.match(stderr, /8\. Auditor/);

    // --keep: still serving, with the console's address and the people to log in as.
    assert.match(s.console, /^https:\/\/localhost:\d+\/console\/$/);
    assert.deepEqual(s.users.map((u) => u.username).sort(), ['admin-plant-h', 'admin-plant-l', 'admin-plant-m', 'auditor-eve', 'builder-ada']);
    assert.equal(await get(`${s.cloud.url}/healthz`, readFileSync(path.join(dir, 'cloud', 'ca.pem'), 'utf8')), 200);
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /stopped/);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
