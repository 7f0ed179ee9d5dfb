import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anoMoments, anomalySchema, jsonBytes, metaFor, procRows, shuffled } from './fixtures.ts';
import { createControls, loadModel, ModelSlots, RUNTIME_ERR, RuntimeError, type ControlledModel, type LoadedModel } from '../../src/runtime/index.ts';
import { fitMahalanobis } from '../../src/models/mahalanobis.ts';

const isCode = (code: string) => (e: unknown) => e instanceof RuntimeError && e.code === code && /^cannot /.test(e.message);
const rows = shuffled(procRows, 3).slice(0, 1500);

/** A controlled Mahalanobis detector, version v, with nominal false-alarm rate alpha. */
async function detector(v: number, alpha = 0.01, modelId = 'spindle'): Promise<ControlledModel> {
  const model = await loadModel(jsonBytes(fitMahalanobis(anomalySchema, anoMoments, { alpha }), metaFor(modelId, v)));
  return createControls(model, anoMoments, { fallback: { rule: 'constant', output: true } });
}

/** A controlled detector whose predict starts throwing after `healthyCalls` calls (a crashing runtime). */
async function flaky(v: number, healthyCalls: number): Promise<{ controlled: ControlledModel; calls: () => number }> {
  const model = await loadModel(jsonBytes(fitMahalanobis(anomalySchema, anoMoments), metaFor('spindle', v)));
  let calls = 0;
  const broken: LoadedModel = { ...model, predict: async (r) => { calls++; if (calls > healthyCalls) throw new Error('session lost'); return model.predict(r); } };
  return { controlled: createControls(broken, anoMoments, { fallback: { rule: 'constant', output: true } }), calls: () => calls };
}

class Clock {
  t = Date.parse('2026-11-01T00:00:00.000Z');
  now = (): Date => new Date((this.t += 60_000));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hedge-runtime-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const policy = { minShadowRecords: 200, minHealthRecords: 100, probationRecords: 300, recentRecords: 500 };

test('stage, shadow run, activate; older and equal versions refused without an explicit admin rollback', () => withDir(async (dir) => {
  const clock = new Clock();
  const historyPath = path.join(dir, 'spindle.history.json');
  const slots = await ModelSlots.open({ historyPath, modelId: 'spindle', policy, now: clock.now });
  await assert.rejects(slots.predict(rows[0]), isCode(RUNTIME_ERR.NO_ACTIVE_MODEL));
  const v1 = await detector(1);
  await slots.stage(v1);
  const first = await slots.activate({ actor: 'runtime', reason: 'first delivery' });
  assert.deepEqual({ ...first }, { seq: 1, time: '2026-11-01T00:01:00.000Z', action: 'activate', version: 1, sha256: v1.model.sha256, previousVersion: null, automatic: false, actor: 'runtime', reason: 'first delivery' });
  for (const r of rows.slice(0, 400)) await slots.predict(r);
  assert.equal(v1.counts().records, 400);

  const v2 = await detector(2, 0.02);
  const stats = await slots.stage(v2);
  assert.equal(stats.records, 400, 'shadow-run at once on the recent records');
  for (const r of rows.slice(400, 600)) await slots.predict(r);
  const shadow = slots.shadow!;
  assert.equal(shadow.records, 600);
  assert.ok(shadow.compared >= 550 && shadow.agreement > 0.97 && shadow.agreement < 1, `agreement ${shadow.agreement}`);
  assert.equal(shadow.candidate.records, 600);
  assert.equal(v2.counts().records, 0, 'shadow decisions are never served or counted as served');
  await slots.activate({ actor: 'runtime', reason: 'release 2' });
  assert.equal(slots.active, v2);

  await assert.rejects(slots.stage(await detector(1)), isCode(RUNTIME_ERR.DOWNGRADE));
  await assert.rejects(slots.stage(await detector(2)), isCode(RUNTIME_ERR.DOWNGRADE));
  await assert.rejects(slots.stage(await detector(3, 0.01, 'other-model')), isCode(RUNTIME_ERR.MISMATCH));

  const admin = await slots.rollback({ actor: 'admin@plant-a', reason: 'v2 flags too much on line 3', to: v1 });
  assert.equal(admin.action, 'rollback');
  assert.equal(admin.automatic, false);
  assert.equal(admin.version, 1);
  assert.equal(admin.previousVersion, 2);
  assert.equal(slots.active, v1);

  assert.deepEqual(slots.history().map((e) => [e.action, e.version]), [['activate', 1], ['activate', 2], ['rollback', 1]]);
  assert.equal(slots.activeAt('2026-10-01T00:00:00.000Z'), null);
  assert.equal(slots.activeAt('2026-11-01T00:02:30.000Z')?.version, 2);
  assert.equal(slots.activeAt(new Date('2026-11-02T00:00:00.000Z'))?.version, 1);
  assert.deepEqual(slots.history({ version: 1 }).map((e) => e.seq), [1, 3]);
  assert.deepEqual(slots.history({ since: '2026-11-01T00:02:00.000Z', until: '2026-11-01T00:02:59.000Z' }).map((e) => e.seq), [2]);
  assert.ok(slots.history({ since: '2026-11-01T00:02:00.000Z' }).length >= 1);
  assert.throws(() => slots.history({ since: 'yesterday' }), RangeError);
}));

test('the shadow gate refuses a candidate that disagrees or errs, and nothing changes', () => withDir(async (dir) => {
  const slots = await ModelSlots.open({ historyPath: path.join(dir, 'h.json'), modelId: 'spindle', policy });
  await slots.stage(await detector(1));
  await slots.activate({ actor: 'runtime', reason: 'first' });
  await assert.rejects(slots.activate({ actor: 'runtime', reason: 'again' }), isCode(RUNTIME_ERR.NO_ACTIVE_MODEL), 'nothing staged');
  for (const r of rows.slice(0, 150)) await slots.predict(r);
  await slots.stage(await detector(2));
  await assert.rejects(slots.activate({ actor: 'runtime', reason: 'too early' }), (e: unknown) => isCode(RUNTIME_ERR.SHADOW_CHECK)(e) && /compared 1\d\d records, 200/.test((e as Error).message));
  for (const r of rows.slice(150, 500)) await slots.predict(r);
  await slots.stage(await detector(3, 0.6)); // flags most records: disagrees with v1
  await assert.rejects(slots.activate({ actor: 'runtime', reason: 'disagrees' }), (e: unknown) => isCode(RUNTIME_ERR.SHADOW_CHECK)(e) && /agrees/.test((e as Error).message));
  await slots.stage((await flaky(4, 0)).controlled);
  await assert.rejects(slots.activate({ actor: 'runtime', reason: 'errs' }), (e: unknown) => isCode(RUNTIME_ERR.SHADOW_CHECK)(e) && /error rate/.test((e as Error).message));
  assert.equal(slots.activeVersion, 1);
  assert.equal(slots.history().length, 1);
}));

test('a model that fails its health check is rolled back automatically, recorded, and refused if staged again', () => withDir(async (dir) => {
  const historyPath = path.join(dir, 'h.json');
  const slots = await ModelSlots.open({ historyPath, modelId: 'spindle', policy });
  const v1 = await detector(1);
  await slots.stage(v1);
  await slots.activate({ actor: 'runtime', reason: 'first' });
  for (const r of rows.slice(0, 500)) await slots.predict(r);

  // Healthy through the shadow run (1000 calls: 500 recent + 500 live), broken right after the switch.
  const v2 = await flaky(2, 500);
  await slots.stage(v2.controlled);
  await assert.rejects(slots.activate({ actor: 'runtime', reason: 'release 2' }), (e: unknown) => isCode(RUNTIME_ERR.HEALTH_CHECK)(e) && /rolled back to version 1/.test((e as Error).message));
  assert.equal(slots.active, v1);
  const last = slots.history().at(-1)!;
  assert.deepEqual([last.action, last.version, last.previousVersion, last.automatic, last.actor], ['rollback', 1, 2, true, 'runtime']);
  assert.deepEqual(slots.failedVersions, [2]);
  await assert.rejects(slots.stage((await flaky(2, 1e9)).controlled), isCode(RUNTIME_ERR.HEALTH_CHECK));

  // Healthy through the shadow run and the check on recent records, failing on live traffic during probation.
  const v3 = await flaky(3, 1500);
  await slots.stage(v3.controlled);
  for (const r of rows.slice(0, 500)) await slots.predict(r);
  await slots.activate({ actor: 'runtime', reason: 'release 3' });
  assert.equal(slots.activeVersion, 3);
  assert.ok(slots.onProbation);
  let served = 0;
  for (const r of rows.slice(500, 800)) {
    const d = await slots.predict(r);
    if (slots.activeVersion === 3) served++;
    assert.ok(d.source === 'model' || (d.abstained && d.source === 'fallback' && d.answer === true), 'every decision is explicit');
  }
  assert.equal(slots.active, v1, 'rolled back during probation');
  assert.ok(served < 150, `rolled back after ${served} live records`);
  assert.deepEqual(slots.failedVersions, [2, 3]);
  assert.equal(slots.history().at(-1)!.automatic, true);
  assert.match(slots.history().at(-1)!.reason, /live records after activation/);

  // The history survives a restart, and resume takes only the version it names.
  const again = await ModelSlots.open({ historyPath, modelId: 'spindle', policy });
  assert.deepEqual(again.history(), slots.history());
  assert.equal(again.activeVersion, 1);
  await assert.rejects(again.predict(rows[0]), isCode(RUNTIME_ERR.NO_ACTIVE_MODEL));
  assert.throws(() => again.resume(v3.controlled), isCode(RUNTIME_ERR.MISMATCH));
  again.resume(await detector(1));
  assert.equal((await again.predict(rows[0])).source, 'model');
}));

test('a failed first activation leaves no active model', () => withDir(async (dir) => {
  const slots = await ModelSlots.open({ historyPath: path.join(dir, 'h.json'), modelId: 'spindle', policy: { ...policy, minHealthRecords: 20 } });
  const v1 = await flaky(1, 30);
  await slots.stage(v1.controlled);
  await slots.activate({ actor: 'runtime', reason: 'first' });
  for (const r of rows.slice(0, 60)) await slots.predict(r).catch(() => undefined);
  assert.equal(slots.active, undefined);
  assert.equal(slots.activeVersion, null);
  assert.deepEqual(slots.history().map((e) => [e.action, e.version, e.automatic]), [['activate', 1, false], ['rollback', null, true]]);
  await assert.rejects(slots.predict(rows[0]), isCode(RUNTIME_ERR.NO_ACTIVE_MODEL));
  await assert.rejects(slots.rollback({ actor: 'admin', reason: 'back' }), isCode(RUNTIME_ERR.NO_ACTIVE_MODEL));
}));

test('the history file is written crash-safely and a corrupt or foreign one is refused', () => withDir(async (dir) => {
  const historyPath = path.join(dir, 'models', 'h.json');
  const slots = await ModelSlots.open({ historyPath, modelId: 'spindle', policy });
  await slots.stage(await detector(1));
  await slots.activate({ actor: 'runtime', reason: 'first' });
  const text = await readFile(historyPath, 'utf8');
  const json = JSON.parse(text);
  assert.equal(json.format, 'hedge.activation-history');
  assert.equal(json.entries.length, 1);
  assert.ok(!/29[5-9]\.\d|air_temperature/.test(text), 'no record values in the file');
  assert.deepEqual(await readdir(path.dirname(historyPath)), ['h.json'], 'no temporary file left behind');

  // A crash between writing the temporary file and the rename leaves it behind: open cleans it up.
  await writeFile(`${historyPath}.123.abc.tmp`, '{"partial": ');
  await ModelSlots.open({ historyPath, modelId: 'spindle' });
  assert.deepEqual(await readdir(path.dirname(historyPath)), ['h.json']);

  const history = RUNTIME_ERR.HISTORY;
  await assert.rejects(ModelSlots.open({ historyPath, modelId: 'press' }), isCode(history));
  for (const bad of ['{', '[]', JSON.stringify({ ...json, formatVersion: 9 }), JSON.stringify({ ...json, entries: [{ ...json.entries[0], seq: 2 }] }),
    JSON.stringify({ ...json, entries: [{ ...json.entries[0], previousVersion: 4 }] }), JSON.stringify({ ...json, entries: [{ ...json.entries[0], sha256: 'x' }] })]) {
    await writeFile(historyPath, bad);
    await assert.rejects(ModelSlots.open({ historyPath, modelId: 'spindle' }), isCode(history), bad.slice(0, 60));
  }
  // A history that cannot be written stops the change.
  const blocked = await ModelSlots.open({ historyPath: path.join(dir, 'blocked', 'h.json'), modelId: 'spindle' });
  await rm(path.join(dir, 'blocked'), { recursive: true });
  await writeFile(path.join(dir, 'blocked'), 'a file where the directory was');
  await blocked.stage(await detector(1));
  await assert.rejects(blocked.activate({ actor: 'runtime', reason: 'x' }), isCode(history));
  assert.equal(blocked.active, undefined);
  await assert.rejects(ModelSlots.open({ historyPath: path.join(dir, 'x.json'), modelId: 'spindle', policy: { minAgreement: 2 } }), RangeError);
  await assert.rejects(ModelSlots.open({ historyPath: '', modelId: 'spindle' }), RangeError);
}));
