import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ai4iLayout, CsvReplay } from '../../../src/edge/connectors/replay.ts';
import { DurableBuffer } from '../../../src/edge/buffer.ts';
import { FeatureWindows } from '../../../src/edge/features.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../../../src/edge/policy.ts';
import type { RawEvent } from '../../../src/edge/sample.ts';
import { AI4I_PATH } from '../../models/fixtures/ai4i.ts';
import { POLICY_YAML } from '../_fixtures.ts';

test('pipeline: replayed AI4I rows with a damaged row → buffer → policy → windows; the gap discards exactly its window', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-connector-pipeline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The first 200 data rows, with data row 130 (file line 132) damaged.
  const lines = readFileSync(AI4I_PATH, 'utf8').split('\n').slice(0, 201);
  lines[131] = lines[131].replace(/,[^,]*,([01]),/, ',n/a,$1,');
  const file = path.join(dir, 'ai4i-damaged.csv');
  writeFileSync(file, lines.join('\n') + '\n');

  const replay = new CsvReplay({ path: file, layout: ai4iLayout({ machineId: 'mill-7' }), onBadRow: 'skip' });
  using buffer = DurableBuffer.open<RawEvent>({ path: path.join(dir, 'buffer.db'), maxEntries: 1000, whenFull: 'refuse' });
  for await (const event of replay.events()) buffer.append([event]);
  assert.deepEqual(replay.counters(), { rows: 200, samples: 199, gaps: 1, badRows: 1 });

  const policy = parsePolicy(POLICY_YAML);
  const windows = new FeatureWindows({ window: { kind: 'count', size: 50 }, signals: ['air_temperature', 'torque'], labelClasses: ['failure', 'ok'] });
  const out = applyPolicy(policy, PseudonymKey.fromBytes(Buffer.alloc(32, 7)), buffer.lease(1000).map((e) => e.value));
  const records = out.events.flatMap((e) => windows.push(e));
  assert.equal(out.counters.samplesOut, 199, 'every replayed sample passes the policy (AI4I values lie in its ranges)');
  assert.equal(out.events.filter((e) => e.kind === 'gap').length, 1, 'the gap passes the policy, pseudonymised');
  // Rows 0–129 → two windows (0–49, 50–99), 100–129 discarded by the gap; rows 131–199 (69) → one window, 19 left open.
  assert.equal(records.length, 3);
  assert.equal(windows.counters().discardedWindows.gap, 1);
  assert.equal(windows.counters().gaps, 1);
});
