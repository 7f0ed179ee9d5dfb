import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { anoMoments, anomalySchema, jsonBytes, metaFor, procRows } from './fixtures.ts';
import {
  activationEvent, createControls, createDriftMonitor, inferenceSummaryEvent, loadModel, ModelSlots, referenceFromSample,
  RUNTIME_ERR, RuntimeError, summariseInference,
} from '../../src/runtime/index.ts';
import { fitMahalanobis } from '../../src/models/mahalanobis.ts';
import { decodeEvent, encodeEvent } from '../../src/trust/events.ts';
import { TrustError } from '../../src/trust/errors.ts';

const model = await loadModel(jsonBytes(fitMahalanobis(anomalySchema, anoMoments), metaFor('spindle', 7)));

test('an inference summary holds counts and feature names only, and maps onto an inference_summary log event', async () => {
  const controlled = createControls(model, anoMoments, { fallback: { rule: 'constant', output: true } });
  const drift = createDriftMonitor(referenceFromSample(anomalySchema, procRows.slice(0, 2000)), { window: 1000, checkEvery: 100 });
  for (const r of procRows.slice(2000, 6000)) {
    await controlled.predict(r);
    drift.update(r);
  }
  await controlled.predict([Number.NaN, 308, 1500, 40, 10]);
  const summary = summariseInference({ model, counts: controlled.takeCounts(), drift: drift.report(), from: '2026-11-01T00:00:00Z', to: new Date('2026-11-01T01:00:00Z') });
  assert.equal(summary.records, 4001);
  assert.equal(summary.reasons.not_finite, 1);
  assert.equal(summary.served + summary.abstained, 4001);
  assert.deepEqual(summary.drift!.featuresInAlarm, ['air_temperature', 'process_temperature']);
  assert.ok(summary.drift!.alarmsRaised >= 2);
  // Nothing but integers, instants, ids and feature names.
  const leaves: unknown[] = [];
  const walk = (v: unknown): void => { if (v !== null && typeof v === 'object') Object.values(v).forEach(walk); else leaves.push(v); };
  walk(summary);
  for (const v of leaves) assert.ok(typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0), `leaf ${String(v)}`);

  const { event, payload } = inferenceSummaryEvent(summary, { actor: 'gateway.plant-a', tenant: 'plant-a' });
  assert.deepEqual(event.details, { model: 'spindle', version: 7, inferences: 4001, abstained: summary.abstained });
  assert.equal(event.kind, 'inference_summary');
  assert.equal(event.time, '2026-11-01T01:00:00.000Z');
  assert.equal(event.payloadHash, createHash('sha256').update(payload).digest('hex'));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), JSON.parse(JSON.stringify(summary)));
  assert.deepEqual(decodeEvent(encodeEvent(event)), event, 'a valid catalogue event');
  assert.throws(() => inferenceSummaryEvent(summary, { actor: 'a'.repeat(30), tenant: 'plant-a' }), TrustError);
});

test('summaries refuse counts that do not add up and bad periods', () => {
  const counts = { records: 3, served: 1, clamped: 0, abstained: 1, fallback: 1, unanswered: 0, reasons: { not_finite: 0, out_of_range: 1, out_of_distribution: 0, low_confidence: 0, model_error: 0 } };
  assert.throws(() => summariseInference({ model, counts, from: '2026-11-01T00:00:00Z', to: '2026-11-01T01:00:00Z' }), (e: unknown) => e instanceof RuntimeError && e.code === RUNTIME_ERR.MISMATCH);
  const ok = { ...counts, records: 2 };
  assert.throws(() => summariseInference({ model, counts: ok, from: '2026-11-01T02:00:00Z', to: '2026-11-01T01:00:00Z' }), RangeError);
  assert.throws(() => summariseInference({ model, counts: ok, from: 'soon', to: '2026-11-01T01:00:00Z' }), RangeError);
  assert.equal(summariseInference({ model, counts: ok, from: '2026-11-01T00:00:00Z', to: '2026-11-01T01:00:00Z' }).drift, null);
});

test('activation history entries map onto activation log events (activate, rollback, deactivate)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hedge-audit-'));
  try {
    const slots = await ModelSlots.open({ historyPath: path.join(dir, 'h.json'), modelId: 'spindle' });
    await slots.stage(createControls(model, anoMoments, { fallback: { rule: 'constant', output: true } }));
    const entry = await slots.activate({ actor: 'runtime', reason: 'release 7' });
    const who = { modelId: 'spindle', actor: 'gateway.plant-a', tenant: 'plant-a' };
    const { event, payload } = activationEvent(entry, who);
    assert.deepEqual(event.details, { model: 'spindle', version: 7, action: 'activate' });
    assert.equal(event.payloadHash, createHash('sha256').update(payload).digest('hex'));
    assert.deepEqual(decodeEvent(encodeEvent(event)), event);
    assert.equal(activationEvent({ ...entry, action: 'rollback', version: 6, previousVersion: 7 }, who).event.details.action, 'rollback');
    assert.deepEqual(activationEvent({ ...entry, action: 'rollback', version: null, sha256: null, previousVersion: 7, automatic: true }, who).event.details, { model: 'spindle', version: 7, action: 'deactivate' });
    assert.throws(() => activationEvent({ ...entry, version: null, previousVersion: null }, who), (e: unknown) => e instanceof RuntimeError && e.code === RUNTIME_ERR.MISMATCH);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
