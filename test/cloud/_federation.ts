/**
 * Test helper: a cloud (lake, federations, jobs) on PGlite or PostgreSQL with a federation whose
 * key ceremony has run — three plants and a builder, each key holder's secret kept here as the
 * plants would keep theirs. Exports only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileBlobStore } from '../../src/cloud/blobs.ts';
import { Federations, type Member } from '../../src/cloud/federation.ts';
import { Jobs, type JobAudit } from '../../src/cloud/jobs.ts';
import { Lake } from '../../src/cloud/lake.ts';
import type { SqlClient } from '../../src/trust/storage/sql.ts';
import { SealEngine, type PublicKey, type SecretKey } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { PartySecret } from '../../src/he/mhe/secret.ts';
import { PublicKeyProtocol } from '../../src/he/mhe/public-key-gen.ts';
import { RelinKeyProtocol } from '../../src/he/mhe/relin-key-gen.ts';
import { PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec } from '../../src/he/wire.ts';

export const MEMBERS: readonly Member[] = [
  { tenant: 'plant-a', role: 'plant' }, { tenant: 'plant-b', role: 'plant' }, { tenant: 'plant-c', role: 'plant' }, { tenant: 'builder', role: 'builder' },
];

export interface TestCloud {
  engine: SealEngine;
  blobs: FileBlobStore;
  lake: Lake;
  federations: Federations;
  jobs: Jobs;
  secrets: Map<string, PartySecret>;
  collectivePk: PublicKey;
  builderSk: SecretKey;
  audit: JobAudit[];
  now: { value: Date };
  reopenJobs(): Promise<Jobs>;
  close(): void;
}

let enginePromise: Promise<SealEngine> | undefined;

/** Opens the cloud's services on `sql` and runs the ceremony of federation `fed`. */
export async function testCloud(sql: SqlClient, fed = 'mills'): Promise<TestCloud> {
  enginePromise ??= SealEngine.create(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }));
  const engine = await enginePromise;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-cloud-'));
  const blobs = await FileBlobStore.open(dir);
  const now = { value: new Date('2026-02-01T00:00:00Z') };
  const clock = (): Date => now.value;
  const engineOf = async (name: string): Promise<SealEngine> => {
    if (name !== engine.params.name) throw new RangeError(`unknown preset ${name}`);
    return engine;
  };
  const lake = await Lake.open({ sql, blobs, now: clock });
  const federations = await Federations.open({ sql, blobs, engine: engineOf, now: clock });
  const audit: JobAudit[] = [];
  const openJobs = (): Promise<Jobs> => Jobs.open({ sql, blobs, lake, federations, engine: engineOf, now: clock, threads: 1, revealWindowMs: 86_400_000, audit: async (a) => { audit.push(a); } });
  const jobs = await openJobs();
  const f = await federations.create({ id: fed, preset: engine.params.name, members: MEMBERS, receiver: 'builder', guards: { minPlants: 3, minRecords: 100 } });
  const seed = Buffer.from(f.seed, 'hex');
  const secrets = new Map(MEMBERS.map((m) => [m.tenant, PartySecret.generate(engine)]));
  const pkp = new PublicKeyProtocol(engine);
  const crp = pkp.sampleCrp(seed);
  for (const m of MEMBERS) await federations.submitShare(fed, m.tenant, 'pk', PublicKeyShareCodec.toBytes(engine, pkp.genShare(secrets.get(m.tenant)!, crp)));
  const rkp = new RelinKeyProtocol(engine);
  const rcrp = rkp.sampleCrp(seed);
  const r1 = new Map(MEMBERS.map((m) => [m.tenant, rkp.genShareRound1(secrets.get(m.tenant)!, rcrp)]));
  for (const m of MEMBERS) await federations.submitShare(fed, m.tenant, 'rlk1', RelinKeyShare1Codec.toBytes(engine, r1.get(m.tenant)!.public));
  const agg1 = RelinKeyShare1Codec.fromBytes(engine, await federations.material(fed, 'relinRound1'));
  for (const m of MEMBERS) await federations.submitShare(fed, m.tenant, 'rlk2', RelinKeyShare2Codec.toBytes(engine, rkp.genShareRound2(secrets.get(m.tenant)!, r1.get(m.tenant)!.secret, agg1)));
  const builderSk = engine.generateSecretKey();
  using builderPk = engine.publicKeyFor(builderSk);
  await federations.setReceiverKey(fed, 'builder', PublicKeyCodec.toBytes(engine, builderPk));
  const collectivePk = PublicKeyCodec.fromBytes(engine, await federations.material(fed, 'publicKey'));
  return {
    engine, blobs, lake, federations, jobs, secrets, collectivePk, builderSk, audit, now, reopenJobs: openJobs,
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
