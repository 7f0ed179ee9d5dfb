/**
 * Shared set-up of the `hedge edge start` end-to-end tests: three plants (product types L, M, H of
 * the AI4I 2020 file) and their users, a `hedge cloud start` process, a poller with a deadline, the
 * privacy policy, and a plant's folder of a gateway enrolled at that cloud (certificate, its rows
 * of the file, policy, keys, schema, its key holder's share and `gateway.yaml`), ready for
 * `startEdge`. Exports only.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kill, login, startServer, writeUsers, type Identity, type Server } from '../cloud/_https.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { preset } from '../../src/he/params.ts';
import { CUSTODY_KDF_MIN } from '../../src/edge/custody.ts';
import { KeyHolder } from '../../src/edge/keyholder.ts';
import type { EdgeServiceEvent, RunningEdge } from '../../src/edge/service.ts';

/** The AI4I 2020 predictive-maintenance file (shared data, outside the repository). */
export const AI4I = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/ai4i2020.csv');
/** The plants: each replays the rows of one product type of {@link AI4I}. */
export const PLANTS = [{ tenant: 'plant-l', type: 'L' }, { tenant: 'plant-m', type: 'M' }, { tenant: 'plant-h', type: 'H' }] as const;
/** A plant, one of {@link PLANTS}. */
export type Plant = (typeof PLANTS)[number];
/** The rows each plant replays. */
export const ROWS = 300;
/** Every user's password. */
export const PASSWORD = 'correct horse battery staple';
export const PRESET = 'TEST_INSECURE_BGV_2048';

/** A shared signal: its column in {@link AI4I}, its range and unit. */
export interface Feature { readonly name: string; readonly column: number; readonly lo: number; readonly hi: number; readonly unit: string }

const AI4I_FEATURES: readonly Feature[] = [
  { name: 'air_temperature', column: 3, lo: 295, hi: 305, unit: 'K' },
  { name: 'process_temperature', column: 4, lo: 305, hi: 315, unit: 'K' },
  { name: 'rotational_speed', column: 5, lo: 1100, hi: 2900, unit: 'rpm' },
  { name: 'torque', column: 6, lo: 0, hi: 80, unit: 'Nm' },
  { name: 'tool_wear', column: 7, lo: 0, hi: 260, unit: 'min' },
];
/** The AI4I file's numeric signals of these names, in the order given. */
export function ai4iFeatures(...names: readonly string[]): readonly Feature[] {
  return names.map((name) => {
    const f = AI4I_FEATURES.find((x) => x.name === name);
    if (f === undefined) throw new RangeError(`cannot find AI4I signal ${name}`);
    return f;
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A poller: calls `f` every 100 ms until it answers something other than `undefined`, and throws
 * naming `what` after `ms` (by default `defaultMs`).
 */
export function untilWithin(defaultMs: number): <T>(what: string, f: () => Promise<T | undefined>, ms?: number) => Promise<T> {
  return async (what, f, ms = defaultMs) => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
}

/** The dataset's schema literal: the features' names, ranges and units. */
export function schemaLiteralOf(features: readonly Feature[]): { features: { name: string; lo: number; hi: number; unit: string }[] } {
  return { features: features.map(({ name, lo, hi, unit }) => ({ name, lo, hi, unit })) };
}

/** The gateway's policy: every feature shared within its range; the `unshared` signals kept internal. */
export function policyYaml(features: readonly Feature[], unshared: readonly string[] = []): string {
  return [
    'version: 1', 'machineIds:', '  keyFile: pseudonym.key', 'minBatchSize: 50', 'signals:',
    ...features.flatMap((f) => [`  ${f.name}:`, '    classification: internal', '    share: true', `    unit: ${f.unit}`, `    range: { lo: ${f.lo}, hi: ${f.hi} }`, '    outOfRange: reject']),
    ...unshared.flatMap((name) => [`  ${name}:`, '    classification: internal', '    share: false']),
    '',
  ].join('\n');
}

/** A running story: its folder, engine, gateways and their events, and the cloud once started. */
export interface EdgeStory {
  readonly dir: string;
  readonly users: string;
  readonly engine: SealEngine;
  readonly edges: RunningEdge[];
  readonly events: { tenant: string; event: EdgeServiceEvent }[];
  server?: Server;
}

/** The cloud as the builder sees it: URL, CA (file and text), a login for the users, and `alice` logged in. */
export interface StoryCloud {
  readonly base: string;
  readonly caFile: string;
  readonly ca: string;
  readonly login: (username: string) => Promise<Identity>;
  readonly alice: Identity;
}

/** Opens a story: a temporary folder named from `prefix`, the users file of {@link PLANTS}, an engine at {@link PRESET}. */
export async function openStory(prefix: string): Promise<EdgeStory> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const users = path.join(dir, 'users.json');
  writeUsers(users, PLANTS.map((p) => p.tenant), PASSWORD);
  return { dir, users, engine: await SealEngine.create(preset(PRESET, { allowInsecure: true })), edges: [], events: [] };
}

/** Starts `hedge cloud start` (data in `<dir>/cloud`, on a random port, with `extra` options) and logs `alice` in. */
export async function startCloud(s: EdgeStory, extra: readonly string[]): Promise<StoryCloud> {
  s.server = await startServer(path.join(s.dir, 'cloud'), 20_000 + Math.floor(Math.random() * 20_000), s.users, extra);
  const base = s.server.url;
  const caFile = path.join(s.dir, 'cloud', 'ca.pem');
  const ca = readFileSync(caFile, 'utf8');
  const loginAs = (username: string): Promise<Identity> => login(base, ca, username, PASSWORD);
  return { base, caFile, ca, login: loginAs, alice: await loginAs('alice') };
}

/** Ends a story: stops its gateways, kills the cloud, frees the engine, removes the folder. */
export async function closeStory(s: EdgeStory): Promise<void> {
  await Promise.allSettled(s.edges.map((e) => e.stop()));
  if (s.server) await kill(s.server);
  s.engine[Symbol.dispose]();
  rmSync(s.dir, { recursive: true, force: true });
}

/** What {@link preparePlant} needs: the cloud, the plant and its enrolled gateway, the data it shares. */
export interface PlantOptions {
  /** The test's folder; the plant's is `<dir>/<tenant>`. */
  readonly dir: string;
  /** The cloud's URL and its CA file. */
  readonly base: string;
  readonly caFile: string;
  readonly engine: SealEngine;
  readonly plant: Plant;
  /** The gateway's client-certificate identity (from `enrolGateways`). */
  readonly gateway: Identity;
  readonly features: readonly Feature[];
  /** The policy file's text. */
  readonly policy: string;
  /** Lines added to `gateway.yaml` (models, admin endpoint). */
  readonly extraYaml?: readonly string[];
}

/**
 * Writes a plant's gateway folder, for federation `mills` and dataset `mills` (batches of 150):
 * its certificate and key, its first {@link ROWS} rows of its product type, policy, pseudonym and
 * custody keys, schema, its key holder's share (at the KDF floor, to keep tests fast) and
 * `gateway.yaml`. Returns the folder and the feature values of the rows it will read.
 */
export async function preparePlant(o: PlantOptions): Promise<{ pdir: string; rows: number[][] }> {
  const pdir = path.join(o.dir, o.plant.tenant);
  mkdirSync(pdir);
  writeFileSync(path.join(pdir, 'gateway.pem'), o.gateway.cert!);
  writeFileSync(path.join(pdir, 'gateway.key'), o.gateway.key!, { mode: 0o600 });
  const lines = readFileSync(AI4I, 'utf8').trim().split('\n');
  const mine = lines.slice(1).filter((l) => l.split(',')[2] === o.plant.type).slice(0, ROWS);
  writeFileSync(path.join(pdir, 'rows.csv'), [lines[0], ...mine].join('\n') + '\n');
  writeFileSync(path.join(pdir, 'policy.yaml'), o.policy);
  writeFileSync(path.join(pdir, 'pseudonym.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  writeFileSync(path.join(pdir, 'custody.key'), randomBytes(32), { mode: 0o600 });
  writeFileSync(path.join(pdir, 'schema.json'), JSON.stringify(schemaLiteralOf(o.features)));
  await KeyHolder.init(path.join(pdir, 'state', 'keyholder'), o.engine, { keyFile: path.join(pdir, 'custody.key') }, { kdf: CUSTODY_KDF_MIN });
  writeFileSync(path.join(pdir, 'gateway.yaml'), [
    'version: 1', `tenant: ${o.plant.tenant}`, 'federation: mills', 'stateDir: state', 'allowInsecureParams: true', 'sealIntervalMs: 100',
    'cloud:', `  url: ${o.base}`, `  ca: ${o.caFile}`, '  cert: gateway.pem', '  key: gateway.key', '  pollMs: 150',
    'policy: policy.yaml',
    'keyHolder:', '  custody: { keyFile: custody.key }', '  policy: { minPlants: 3, minRecords: 600, maxRevealsPerDay: 5 }',
    'connectors:', '  - kind: csv', '    path: rows.csv', '    layout: ai4i', `    machineId: ${o.plant.type.toLowerCase()}-mill`, '    stepMs: 1000',
    'datasets:', '  - id: mills', '    schema: schema.json', '    source: samples', '    batchSize: 150',
    ...(o.extraYaml ?? []), '',
  ].join('\n'));
  return { pdir, rows: mine.map((l) => o.features.map((f) => Number(l.split(',')[f.column]))) };
}

/** Prints the gateways' error events (for a failed test's log). */
export function logErrors(events: readonly { tenant: string; event: EdgeServiceEvent }[]): void {
  for (const x of events) if (x.event.kind === 'error') console.error(x.tenant, x.event.error.message);
}
