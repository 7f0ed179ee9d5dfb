/**
 * `npx hedge demo --json` end to end, through the real bin on the pinned Node: it exits 0 and its
 * summary says the encrypted models equal the plaintext ones, every gateway verified and ran both
 * models, and the log verified.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoSummary } from '../../src/demo/demo.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('hedge demo --json runs the whole story and reports it', () => {
  const run = spawnSync(process.execPath, ['bin/hedge.js', 'demo', '--json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'stdout is one JSON object; progress went to stderr');
  const s = JSON.parse(lines[0]) as DemoSummary;
  assert.deepEqual(s.federation.keyHolders, ['plant-L', 'plant-M', 'plant-H', 'builder']);
  assert.equal(s.plants.reduce((a, p) => a + p.shared, 0), 10_000);
  assert.deepEqual(s.jobs.map((j) => [j.job, j.records, j.plants]), [['failure-classifier', 10_000, 3], ['anomaly-detector', 10_000, 3]]);
  for (const m of s.models) {
    assert.ok(m.identical, `${m.model}: the model from ciphertexts is the plaintext model`);
    assert.deepEqual(m.encrypted, m.plaintext);
  }
  assert.ok(s.models[0].encrypted.auc > 0.85, 'the failure classifier separates failures');
  assert.equal(s.deployments.length, 6);
  for (const d of s.deployments) {
    assert.match(d.sha256, /^[0-9a-f]{64}$/);
    assert.equal(d.records, 60, 'live records read over OPC UA');
    assert.equal(d.served + d.abstained, d.records);
  }
  assert.ok(s.log.verified && s.log.entries > 40);
  assert.ok(s.seconds.total < 180, `the demo took ${s.seconds.total} s`);
  assert.match(run.stderr, /7\. Transparency log/);
});
