import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DurableBuffer } from '../../src/edge/buffer.ts';
import { FeatureWindows } from '../../src/edge/features.ts';
import { applyPolicy, emptyCounters, mergeCounters, parsePolicy, PseudonymKey } from '../../src/edge/policy.ts';
import type { RawEvent } from '../../src/edge/sample.ts';
import { loadAi4i } from '../models/fixtures/ai4i.ts';
import { POLICY_YAML } from './_fixtures.ts';

test('pipeline: connector events → durable buffer → policy → feature windows, on AI4I rows', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-pipeline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = parsePolicy(POLICY_YAML);
  const key = PseudonymKey.fromBytes(Buffer.alloc(32, 1));
  const rows = loadAi4i().filter((r) => r.plant === 'H').slice(0, 400);
  using buffer = DurableBuffer.open<RawEvent>({ path: path.join(dir, 'buffer.db'), maxEntries: 1_000, whenFull: 'refuse' });
  buffer.append(rows.map((r, i): RawEvent => ({
    kind: 'sample', machineId: 'mill-7', t: i * 1_000,
    values: { air_temperature: r.air, torque: r.torque, operator_badge: 4711, machine_failure: r.failure ? 1 : 0 },
  })));
  buffer.append([{ kind: 'gap', machineId: 'mill-7', t: 400_000, reason: 'mqtt: seq gap' }]);

  const windows = new FeatureWindows({
    window: { kind: 'count', size: 50 },
    signals: policy.signals.filter((s) => s.share).map((s) => s.name),
    labelClasses: policy.label!.classes.map((c) => c.name),
  });
  let counters = emptyCounters();
  const records = [];
  for (let batch = buffer.lease(64); batch.length > 0; batch = buffer.lease(64)) {
    const out = applyPolicy(policy, key, batch.map((e) => e.value));
    counters = mergeCounters(counters, out.counters);
    for (const event of out.events) records.push(...windows.push(event));
    buffer.ack(batch.map((e) => e.id));
  }
  const rejected = rows.filter((r) => r.torque < 3 || r.torque > 77).length;
  assert.equal(counters.samplesOut, rows.length - rejected);
  assert.equal(counters.withheld.operator_badge, rows.length);
  assert.equal(records.length, Math.floor((rows.length - rejected) / 50));
  assert.equal(windows.counters().discardedWindows.gap, (rows.length - rejected) % 50 === 0 ? 0 : 1, 'the gap discards the open window');
  assert.deepEqual(windows.names.slice(0, 2), ['air_temperature.mean', 'air_temperature.std']);
  assert.ok(records.every((r) => r.machine.startsWith('m-') && (r.label === 'failure' || r.label === 'ok')));
  assert.equal(buffer.metrics().entries, 0);
});
