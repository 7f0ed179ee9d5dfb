/**
 * Verified delivery (src/runtime/delivery.ts) with the real tuf-js Updater, from the cloud's TUF
 * repository over HTTP and from a mirror folder: the newest version above the active one, only the
 * gateway's own fleet, and refusals (typed) for a tampered artifact and an expired timestamp; an
 * older version is never offered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateTufKey, TufRepository } from '../../src/trust/tuf/repository.ts';
import { ModelDelivery } from '../../src/runtime/delivery.ts';
import { loadModel } from '../../src/runtime/load.ts';
import { RuntimeError } from '../../src/runtime/errors.ts';
import { fitRidge, lineageDigest } from '../../src/models/index.ts';
import { jsonBytes, metaFor, regMoments, regressionSchema } from './fixtures.ts';

const DAY = 86_400_000;

async function serve(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    readFile(path.join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))).then(
      (body) => res.writeHead(200, { 'content-length': body.length }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

const isDelivery = (e: unknown): boolean => e instanceof RuntimeError && e.code === 'RUNTIME_ERR_DELIVERY';

test('delivery: newest verified version above the active one, own fleet only, over HTTP and from a mirror', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'hedge-delivery-'));
  const repoDir = path.join(base, 'repo');
  const repo = await TufRepository.create({ dir: repoDir, keys: { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() } });
  await repo.addFleet('plant-a', [generateTufKey()]);
  await repo.addFleet('plant-b', [generateTufKey()]);
  const server = await serve(repoDir);
  try {
    const model = fitRidge(regressionSchema, regMoments);
    const artifact = (v: number): { bytes: Uint8Array; lineage: string } => {
      const meta = metaFor('torque', v);
      return { bytes: jsonBytes(model, meta), lineage: lineageDigest(meta.lineage).replace(/^sha256:/, '') };
    };
    const v1 = artifact(1);
    await repo.publishModel('plant-a', { modelId: 'torque', version: 1, lineageDigest: v1.lineage, bytes: v1.bytes });
    const gateway = (name: string, fleet: string, source: { kind: 'http'; url: string } | { kind: 'mirror'; dir: string }) =>
      ModelDelivery.open({ fleet, trustedRoot: repo.trustedRoot(), stateDir: path.join(base, name), source });

    const a = await gateway('gw-a', 'plant-a', { kind: 'http', url: server.url });
    const got = await a.newerThan('torque', 0);
    assert.ok(got);
    assert.equal(got.version, 1);
    assert.deepEqual(got.bytes, v1.bytes);
    assert.equal(got.lineageDigest, v1.lineage);
    const loaded = await loadModel(got.bytes, { expect: { sha256: got.sha256, modelId: 'torque', modelVersion: 1 } });
    assert.equal(loaded.modelVersion, 1);
    assert.equal(await a.newerThan('torque', 1), null, 'nothing newer than the active version');
    assert.equal(await a.newerThan('other', 0), null);
    assert.equal(await (await gateway('gw-b', 'plant-b', { kind: 'http', url: server.url })).newerThan('torque', 0), null, 'another fleet sees nothing');

    const v2 = artifact(2);
    await repo.publishModel('plant-a', { modelId: 'torque', version: 2, lineageDigest: v2.lineage, bytes: v2.bytes });
    assert.equal((await a.newerThan('torque', 1))?.version, 2);
    assert.equal(await a.newerThan('torque', 2), null, 'v1 is never offered to a gateway running v2');

    // A plant without a line to the cloud: the repository copied onto its disk.
    const mirror = path.join(base, 'mirror');
    cpSync(repoDir, mirror, { recursive: true });
    const m = await gateway('gw-mirror', 'plant-a', { kind: 'mirror', dir: mirror });
    assert.equal((await m.newerThan('torque', 0))?.version, 2);

    // A tampered artifact on the mirror is refused, for a fresh gateway too.
    const targetDir = path.join(mirror, 'targets', 'fleets', 'plant-a', 'torque');
    const v2file = readdirSync(targetDir).find((f) => f.endsWith('.v2'))!;
    const tampered = Buffer.from(v2.bytes);
    tampered[tampered.length - 3] ^= 1;
    writeFileSync(path.join(targetDir, v2file), tampered);
    await assert.rejects((await gateway('gw-mirror-2', 'plant-a', { kind: 'mirror', dir: mirror })).newerThan('torque', 0), isDelivery);

    // A repository whose timestamp has expired (a freeze attack, or a stalled publisher) is refused.
    repo.setClock(() => new Date(Date.now() - 2 * DAY));
    await repo.publishModel('plant-a', { modelId: 'torque', version: 3, lineageDigest: artifact(3).lineage, bytes: artifact(3).bytes });
    await assert.rejects(a.newerThan('torque', 2), isDelivery);
  } finally {
    await server.close();
    rmSync(base, { recursive: true, force: true });
  }
});
