/**
 * The TUF publisher consumed by the real `tuf-js` Updater over HTTP
 * (node:http on 127.0.0.1, ephemeral port): a gateway finds and downloads a
 * model with its custom metadata; rollback, freeze (expired timestamp),
 * mix-and-match, a tampered target and a fleet key signing for another
 * fleet are each rejected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Updater } from 'tuf-js';
import { Metadata, Targets, TargetFile } from '@tufjs/models';
import { generateTufKey, TufRepository, type TufSigningKey } from '../../src/trust/tuf/repository.ts';

interface Served {
  url: string;
  /** URL path → bytes served instead of the file (an attacker controlling the mirror). */
  overrides: Map<string, Buffer>;
  close(): Promise<void>;
}

async function serve(dir: string): Promise<Served> {
  const overrides = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const body = overrides.get(urlPath) ?? readOrUndefined(path.join(dir, path.normalize(urlPath)));
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, overrides, close: () => new Promise((r) => server.close(() => r())) };
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

const DAY = 86_400_000;

/** A rejection whose class name or message (tuf-js wraps some errors) matches `pattern`. */
const refused = (pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof Error);
  assert.match(`${e.constructor.name}: ${e.message}`, pattern);
  return true;
};
const lineage = createHash('sha256').update('lineage of ridge v1').digest('hex');

async function setup(): Promise<{ base: string; repo: TufRepository; server: Served; fleetKey: TufSigningKey; otherKey: TufSigningKey; client: (newGateway?: boolean) => Updater; cleanup: () => Promise<void> }> {
  const base = mkdtempSync(path.join(tmpdir(), 'hedge-tuf-'));
  const repoDir = path.join(base, 'repo');
  const keys = { root: generateTufKey(), targets: generateTufKey(), snapshot: generateTufKey(), timestamp: generateTufKey() };
  const repo = await TufRepository.create({ dir: repoDir, keys });
  const fleetKey = generateTufKey();
  const otherKey = generateTufKey();
  await repo.addFleet('press-line', [fleetKey]);
  await repo.addFleet('mill-line', [otherKey]);
  const server = await serve(repoDir);
  let n = 0;
  // One gateway whose trusted metadata persists between refreshes; `newGateway` provisions another.
  const { mkdirSync } = await import('node:fs');
  const provision = (): string => {
    const dir = path.join(base, `gw-metadata-${n++}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'root.json'), repo.trustedRoot());
    return dir;
  };
  const gatewayDir = provision();
  const client = (newGateway = false): Updater => {
    const metadataDir = newGateway ? provision() : gatewayDir;
    const targetDir = path.join(base, `gw-targets-${n++}`);
    mkdirSync(targetDir);
    return new Updater({
      metadataDir,
      metadataBaseUrl: `${server.url}/metadata`,
      targetDir,
      targetBaseUrl: `${server.url}/targets`,
      config: { fetchRetries: 0, fetchRetry: 0, fetchTimeout: 5000 },
    });
  };
  return {
    base,
    repo,
    server,
    fleetKey,
    otherKey,
    client,
    cleanup: async () => {
      await server.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

test('tuf-js Updater downloads a published model with its custom metadata', async () => {
  const { repo, client, cleanup } = await setup();
  try {
    const bytes = new TextEncoder().encode('model weights v1');
    const target = await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes });
    const updater = client();
    await updater.refresh();
    const info = await updater.getTargetInfo(target);
    assert.ok(info, 'target found through the fleet delegation');
    assert.deepEqual(info.custom, { modelId: 'ridge', version: 1, lineageDigest: lineage, fleet: 'press-line' });
    const file = await updater.downloadTarget(info);
    assert.deepEqual(new Uint8Array(readFileSync(file)), bytes);
    assert.equal(await updater.getTargetInfo('fleets/press-line/ridge/v2'), undefined);
    // The publisher refuses to publish the same or an older model version.
    await assert.rejects(repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes }), { code: 'TRUST_ERR_TUF' });
    await assert.rejects(repo.publishModel('nowhere', { modelId: 'ridge', version: 9, lineageDigest: lineage, bytes }), { code: 'TRUST_ERR_TUF' });
    await assert.rejects(repo.publishModel('press-line', { modelId: 'ridge', version: 2, lineageDigest: 'xyz', bytes }), TypeError);
    await assert.rejects(repo.addFleet('press-line', [generateTufKey()]), { code: 'TRUST_ERR_TUF' });
  } finally {
    await cleanup();
  }
});

test('rollback: an older timestamp is rejected once a newer one was seen', async () => {
  const { base, repo, server, client, cleanup } = await setup();
  try {
    await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes: new Uint8Array([1]) });
    const oldTimestamp = readFileSync(path.join(base, 'repo/metadata/timestamp.json'));
    await repo.publishModel('press-line', { modelId: 'ridge', version: 2, lineageDigest: lineage, bytes: new Uint8Array([2]) });
    await client().refresh(); // the gateway now trusts the newer timestamp
    server.overrides.set('/metadata/timestamp.json', oldTimestamp);
    await assert.rejects(client().refresh(), refused(/BadVersionError: New timestamp version \d+ is less than current version \d+/));
  } finally {
    await cleanup();
  }
});

test('freeze: an expired timestamp is rejected', async () => {
  const { repo, client, cleanup } = await setup();
  try {
    repo.setClock(() => new Date(Date.now() - 3 * DAY)); // the attacker replays what was valid three days ago
    await repo.refreshTimestamp();
    await assert.rejects(client().refresh(), refused(/ExpiredMetadataError: .*timestamp.json is expired/));
    repo.setClock(() => new Date());
    await repo.refreshTimestamp();
    await client().refresh(); // a fresh timestamp is accepted again
  } finally {
    await cleanup();
  }
});

test('mix-and-match: metadata from another repository state is rejected', async () => {
  const { base, repo, server, client, cleanup } = await setup();
  try {
    await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes: new Uint8Array([1]) });
    const fleetV2 = readFileSync(path.join(base, 'repo/metadata/2.fleet-press-line.json'));
    const snapshotNow = repo.versions.snapshot;
    const oldSnapshot = readFileSync(path.join(base, `repo/metadata/${snapshotNow}.snapshot.json`));
    await repo.publishModel('press-line', { modelId: 'ridge', version: 2, lineageDigest: lineage, bytes: new Uint8Array([2]) });
    // An old fleet file (listing ridge v1 only) served where the current snapshot expects version 3.
    server.overrides.set('/metadata/3.fleet-press-line.json', fleetV2);
    const u = client();
    await assert.rejects(u.getTargetInfo('fleets/press-line/ridge/v2'), refused(/Version 2 of fleet-press-line does not match snapshot version 3/));
    server.overrides.clear();
    // An old snapshot served under the current snapshot's name: the timestamp pins its hash and length.
    server.overrides.set(`/metadata/${repo.versions.snapshot}.snapshot.json`, oldSnapshot);
    const fresh = client(true);
    await assert.rejects(fresh.refresh(), refused(/LengthOrHashMismatchError|DownloadLengthMismatchError|Expected hash|length/i));
  } finally {
    await cleanup();
  }
});

test('a tampered target is rejected on download', async () => {
  const { repo, server, client, cleanup } = await setup();
  try {
    const bytes = new TextEncoder().encode('genuine model');
    const target = await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes });
    const u = client();
    const info = await u.getTargetInfo(target);
    assert.ok(info);
    const sha = info.hashes.sha256;
    server.overrides.set(`/targets/fleets/press-line/ridge/${sha}.v1`, Buffer.from('evil model!!!'));
    await assert.rejects(u.downloadTarget(info), refused(/LengthOrHashMismatchError|DownloadLengthMismatchError/));
    server.overrides.set(`/targets/fleets/press-line/ridge/${sha}.v1`, Buffer.from('genuine modeX'));
    await assert.rejects(u.downloadTarget(info), refused(/LengthOrHashMismatchError: Expected hash/));
  } finally {
    await cleanup();
  }
});

test("one fleet's key cannot sign another fleet's models", async () => {
  const { repo, server, otherKey, client, cleanup } = await setup();
  try {
    await repo.publishModel('press-line', { modelId: 'ridge', version: 1, lineageDigest: lineage, bytes: new Uint8Array([1]) });
    // The mill-line key holder forges press-line metadata at the version the snapshot expects.
    const version = repo.versions.fleets['press-line'];
    const forged = new Metadata(
      new Targets({
        version,
        specVersion: '1.0.31',
        expires: new Date(Date.now() + DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        targets: { 'fleets/press-line/ridge/v1': new TargetFile({ path: 'fleets/press-line/ridge/v1', length: 4, hashes: { sha256: createHash('sha256').update('evil').digest('hex') } }) },
      }),
    );
    forged.sign((b) => otherKey.sign(b));
    server.overrides.set(`/metadata/${version}.fleet-press-line.json`, Buffer.from(JSON.stringify(forged.toJSON())));
    await assert.rejects(client().getTargetInfo('fleets/press-line/ridge/v1'), refused(/fleet-press-line was signed by 0\/1 keys/));
  } finally {
    await cleanup();
  }
});
