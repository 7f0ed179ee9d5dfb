/**
 * TUF repository persistence: a publisher restarted from its own metadata files (and the keys
 * its caller kept, through PEM export) continues every version where it stopped. A gateway
 * (`ModelDelivery`, the tuf-js Updater over HTTP) that saw the state before the restart accepts
 * the one after it and gets both versions; an older model version is still refused; the wrong
 * keys, a missing fleet key and a folder with no repository are typed errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ModelDelivery } from '../../src/runtime/index.ts';
import { TrustError } from '../../src/trust/errors.ts';
import { exportTufKey, generateTufKey, importTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';

const lineage = createHash('sha256').update('lineage').digest('hex');
const tufError = (pattern: RegExp) => (e: unknown): boolean => e instanceof TrustError && e.code === 'TRUST_ERR_TUF' && pattern.test(e.message);

test('a reopened repository continues its versions; a gateway sees v1 then v2; rollback is still refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-tuf-open-'));
  const server = createServer((req, res) => {
    try {
      const body = readFileSync(path.join(dir, 'repo', path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))));
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
    const fleetKey = generateTufKey();
    // The caller keeps its keys as PEM files; the reopened repository signs with the re-imported ones.
    for (const [name, k] of Object.entries({ ...keys, fleet: fleetKey })) writeFileSync(path.join(dir, `${name}.key`), exportTufKey(k), { mode: 0o600 });
    const first = await TufRepository.create({ dir: path.join(dir, 'repo'), keys });
    await first.addFleet('plant-a', [fleetKey]);
    await first.publishModel('plant-a', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes: new Uint8Array([1, 1, 1]) });
    const before = first.versions;
    const trustedRoot = first.trustedRoot();
    const gateway = await ModelDelivery.open({ fleet: 'plant-a', trustedRoot, stateDir: path.join(dir, 'gw'), source: { kind: 'http', url } });
    assert.equal((await gateway.newerThan('ridge', 0))?.version, 1);

    const load = (name: string) => importTufKey(readFileSync(path.join(dir, `${name}.key`), 'utf8'));
    const reopened = await TufRepository.open({
      dir: path.join(dir, 'repo'),
      keys: { root: load('root'), targets: load('targets'), snapshot: load('snapshot'), timestamp: load('timestamp') },
      fleetKeys: { 'plant-a': [load('fleet')] },
    });
    assert.deepEqual(reopened.versions, before, 'every version restored');
    assert.equal(reopened.trustedRoot(), trustedRoot, 'the same root');
    await assert.rejects(reopened.publishModel('plant-a', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes: new Uint8Array([9]) }), tufError(/not above the published 1/));
    await reopened.publishModel('plant-a', { modelId: 'ridge', version: 2, lineageDigest: lineage, bytes: new Uint8Array([2, 2]) });
    assert.equal(reopened.versions.snapshot, before.snapshot + 1);
    assert.equal(reopened.versions.fleets['plant-a'], before.fleets['plant-a'] + 1);
    await reopened.refreshTimestamp();

    const v2 = await gateway.newerThan('ridge', 1);
    assert.equal(v2?.version, 2, 'the gateway that saw the old state accepts the new one');
    assert.deepEqual([...v2!.bytes], [2, 2]);
    const fresh = await ModelDelivery.open({ fleet: 'plant-a', trustedRoot, stateDir: path.join(dir, 'gw2'), source: { kind: 'http', url } });
    assert.equal((await fresh.newerThan('ridge', 0))?.version, 2);
    assert.equal(await fresh.newerThan('ridge', 2), null);

    // A second reopen after the restart keeps going too, and a new fleet can be added.
    const again = await TufRepository.open({ dir: path.join(dir, 'repo'), keys, fleetKeys: { 'plant-a': [fleetKey] } });
    assert.deepEqual(again.versions, reopened.versions);
    await again.addFleet('plant-b', [generateTufKey()]);
    assert.equal(again.versions.targets, reopened.versions.targets + 1);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('open refuses wrong keys, missing fleet keys and a folder without a repository', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-tuf-open-'));
  try {
    const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
    const repo = await TufRepository.create({ dir: path.join(dir, 'repo'), keys });
    await repo.addFleet('plant-a', [generateTufKey()]);
    await assert.rejects(TufRepository.open({ dir: path.join(dir, 'none'), keys, fleetKeys: {} }), tufError(/no root\.json/));
    await assert.rejects(TufRepository.open({ dir: repo.dir, keys: { ...keys, snapshot: generateTufKey() }, fleetKeys: {} }), tufError(/keys\.snapshot is not/));
    await assert.rejects(TufRepository.open({ dir: repo.dir, keys, fleetKeys: {} }), tufError(/no signing keys given for fleet plant-a/));
    await assert.rejects(TufRepository.open({ dir: repo.dir, keys, fleetKeys: { 'plant-a': [generateTufKey()] } }), tufError(/not the ones its delegation lists/));
    await assert.rejects(TufRepository.open({ dir: repo.dir, keys, fleetKeys: null as never }), TypeError);
    writeFileSync(path.join(repo.dir, 'metadata', 'root.json'), '{"not": "root"}');
    await assert.rejects(TufRepository.open({ dir: repo.dir, keys, fleetKeys: {} }), tufError(/root\.json is not root metadata/));
    assert.throws(() => importTufKey('not a pem'), TypeError);
    assert.throws(() => exportTufKey({ ...keys.root }), TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
