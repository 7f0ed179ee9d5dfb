/**
 * A federation's key ceremony through the cloud's registry: key holders send public shares for
 * rounds pk, rlk1, rlk2; the cloud aggregates; the resulting keys encrypt, multiply and
 * relinearize correctly for the ideal key that no one holds. Repeats, conflicts, wrong rounds,
 * outsiders and garbage are refused with codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { CloudError } from '../../src/cloud/errors.ts';
import { Federations, type CeremonyAudit } from '../../src/cloud/federation.ts';
import { openSql } from '../../src/trust/storage/sql.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec, RelinKeysCodec } from '../../src/he/wire.ts';

const code = (c: string) => (e: unknown): boolean => e instanceof CloudError && e.code === c;

test('key ceremony through the federation registry', async () => {
  const engine = await SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const sql = await openSql({ databaseUrl: null });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-fed-'));
  const audit: CeremonyAudit[] = [];
  try {
    const federations = await Federations.open({
      sql, blobs: await FileBlobStore.open(dir), audit: async (a) => { audit.push(a); },
      engine: async (name) => {
        if (name !== engine.params.name) throw new RangeError(`unknown preset ${name}`);
        return engine;
      },
    });
    const members = [{ tenant: 'plant-a', role: 'plant' }, { tenant: 'plant-b', role: 'plant' }, { tenant: 'builder', role: 'builder' }] as const;
    await assert.rejects(federations.create({ id: 'x', preset: 'NOPE', members: [...members], receiver: 'builder', guards: { minPlants: 2, minRecords: 10 } }), RangeError);
    await assert.rejects(federations.create({ id: 'x', preset: engine.params.name, members: [...members], receiver: 'plant-a', guards: { minPlants: 2, minRecords: 10 } }), RangeError);
    await assert.rejects(federations.create({ id: 'x', preset: engine.params.name, members: [...members], receiver: 'builder', guards: { minPlants: 3, minRecords: 10 } }), RangeError);
    const fed = await federations.create({ id: 'mills', preset: engine.params.name, members: [...members], receiver: 'builder', guards: { minPlants: 2, minRecords: 10 } });
    await assert.rejects(federations.create({ id: 'mills', preset: engine.params.name, members: [...members], receiver: 'builder', guards: { minPlants: 2, minRecords: 10 } }), code('CLOUD_ERR_CONFLICT'));
    assert.equal(fed.round, 'pk');
    const seed = Buffer.from(fed.seed, 'hex');
    const secrets = members.map(() => PartySecret.generate(engine));

    // Round pk.
    const pkp = new PublicKeyProtocol(engine);
    const crp = pkp.sampleCrp(seed);
    const pkShares = secrets.map((s) => PublicKeyShareCodec.toBytes(engine, pkp.genShare(s, crp)));
    assert.equal((await federations.submitShare('mills', 'plant-a', 'pk', pkShares[0])).status, 'accepted');
    assert.equal((await federations.submitShare('mills', 'plant-a', 'pk', pkShares[0])).status, 'duplicate');
    await assert.rejects(federations.submitShare('mills', 'plant-a', 'pk', pkShares[1]), code('CLOUD_ERR_CONFLICT'));
    await assert.rejects(federations.submitShare('mills', 'outsider', 'pk', pkShares[1]), code('CLOUD_ERR_ACCESS_DENIED'));
    await assert.rejects(federations.submitShare('mills', 'plant-b', 'rlk1', pkShares[1]), code('CLOUD_ERR_STATE'));
    await assert.rejects(federations.submitShare('mills', 'plant-b', 'pk', new Uint8Array(100)), code('CLOUD_ERR_VALIDATION'));
    await assert.rejects(federations.material('mills', 'publicKey'), code('CLOUD_ERR_STATE'));
    assert.deepEqual((await federations.status('mills')).missing, ['plant-b', 'builder']);
    await federations.submitShare('mills', 'plant-b', 'pk', pkShares[1]);
    assert.equal((await federations.submitShare('mills', 'builder', 'pk', pkShares[2])).round, 'rlk1');

    // Rounds rlk1, rlk2 (each key holder keeps its round-1 ephemeral secret).
    const rkp = new RelinKeyProtocol(engine);
    const rcrp = rkp.sampleCrp(seed);
    const r1 = secrets.map((s) => rkp.genShareRound1(s, rcrp));
    for (const [i, m] of members.entries()) await federations.submitShare('mills', m.tenant, 'rlk1', RelinKeyShare1Codec.toBytes(engine, r1[i].public));
    const agg1 = RelinKeyShare1Codec.fromBytes(engine, await federations.material('mills', 'relinRound1'));
    for (const [i, m] of members.entries()) await federations.submitShare('mills', m.tenant, 'rlk2', RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(secrets[i], r1[i].secret, agg1)));
    assert.equal((await federations.get('mills')).round, 'ready');

    // The keys work for the ideal key Σ sᵢ.
    using pk = PublicKeyCodec.fromBytes(engine, await federations.material('mills', 'publicKey'));
    using rk = RelinKeysCodec.fromBytes(engine, await federations.material('mills', 'relinKeys'));
    using ideal = engine.secretKeyFromPoly(engine.sum(secrets.map((s) => [s.poly()]))[0]);
    const a = BigInt64Array.from({ length: engine.n }, (_, i) => BigInt(i - 1000));
    using pa = engine.encodeIntegers(a);
    using ct = engine.encrypt(pa, pk);
    using sq = engine.multiply(ct, ct);
    using rel = engine.relinearize(sq, rk);
    using out = engine.decrypt(rel, ideal);
    assert.deepEqual(engine.decodeIntegers(out), a.map((v) => v * v));
    assert.deepEqual(audit.map((x) => `${x.round}:${x.step}`), [
      'pk:public_share', 'pk:public_share', 'pk:public_share', 'pk:combine',
      'rlk1:public_share', 'rlk1:public_share', 'rlk1:public_share', 'rlk1:combine',
      'rlk2:public_share', 'rlk2:public_share', 'rlk2:public_share', 'rlk2:complete',
    ]);
  } finally {
    await sql.close();
    engine[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
