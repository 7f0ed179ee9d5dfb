import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CsvReader } from '../../../src/edge/connectors/csv.ts';
import { ai4iLayout, CsvReplay, type CsvLayout } from '../../../src/edge/connectors/replay.ts';
import { EDGE_ERR, EdgeError } from '../../../src/edge/errors.ts';
import { assertRawEvent, type RawEvent } from '../../../src/edge/sample.ts';
import { AI4I_PATH, loadAi4i } from '../../models/fixtures/ai4i.ts';

async function all(replay: CsvReplay): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  for await (const e of replay.events()) out.push(e);
  return out;
}

function tempFile(t: { after: (f: () => void) => void }, name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('replay: the whole AI4I file, row for row as an independent reader sees it, rows stepMs apart', async () => {
  const replay = new CsvReplay({ path: AI4I_PATH, layout: ai4iLayout({ machineId: 'mill-7', startMs: 1_000, stepMs: 60_000 }) });
  const events = await all(replay);
  const rows = loadAi4i();
  assert.equal(events.length, 10_000);
  events.forEach((e, i) => {
    assertRawEvent('check', `events[${i}]`, e);
    assert.equal(e.kind, 'sample');
    if (e.kind !== 'sample') return;
    assert.equal(e.machineId, 'mill-7');
    assert.equal(e.t, 1_000 + i * 60_000);
    const r = rows[i];
    assert.deepEqual(e.values, {
      air_temperature: r.air, process_temperature: r.process, rotational_speed: r.rpm,
      torque: r.torque, tool_wear: r.wear, machine_failure: r.failure ? 1 : 0,
    });
  });
  assert.deepEqual(replay.counters(), { rows: 10_000, samples: 10_000, gaps: 0, badRows: 0 });
});

test('replay: a time column (ISO or epoch), a machine column, quoted fields with commas, quotes and line breaks, CRLF', async (t) => {
  const text = 'when,machine,note,"torque [Nm]",on\r\n'
    + '2024-05-01T10:00:00Z,m-a,"first, with ""quotes""",41.5,true\r\n'
    + '2024-05-01T10:00:01.250Z,m-b,"two\r\nlines",-3e1,false\r\n'
    + '2024-05-01T10:00:02Z,m-a,,0,1';
  const file = tempFile(t, 'log.csv', text);
  const layout: CsvLayout = { columns: { torque: 'torque [Nm]', running: 'on' }, machine: { column: 'machine' }, time: { column: 'when', format: 'iso' } };
  const events = await all(new CsvReplay({ path: file, layout }));
  assert.deepEqual(events, [
    { kind: 'sample', machineId: 'm-a', t: Date.parse('2024-05-01T10:00:00Z'), values: { torque: 41.5, running: 1 } },
    { kind: 'sample', machineId: 'm-b', t: Date.parse('2024-05-01T10:00:01.250Z'), values: { torque: -30, running: 0 } },
    { kind: 'sample', machineId: 'm-a', t: Date.parse('2024-05-01T10:00:02Z'), values: { torque: 0, running: 1 } },
  ]);
  const epoch = tempFile(t, 'epoch.csv', 'ts,v\n1700000000,1\n1700000001.5,2\n');
  const byS = await all(new CsvReplay({ path: epoch, layout: { columns: { v: 'v' }, machine: { id: 'x' }, time: { column: 'ts', format: 'epoch-s' } } }));
  assert.deepEqual(byS.map((e) => e.t), [1_700_000_000_000, 1_700_000_001_500]);
  const byMs = await all(new CsvReplay({ path: epoch, layout: { columns: { v: 'v' }, machine: { id: 'x' }, time: { column: 'ts', format: 'epoch-ms' } } }));
  assert.deepEqual(byMs.map((e) => e.t), [1_700_000_000, 1_700_000_001.5]);
});

test('replay: CSV split into chunks at every position reads the same', () => {
  const text = 'a,b\r\n"x,""y""\n",2\n3,"4"\r\n,\n';
  const whole = new CsvReader('t.csv');
  const expected = [...whole.push(text), ...whole.end()];
  assert.deepEqual(expected.map((r) => [r.fields, r.line]), [[['a', 'b'], 1], [['x,"y"\n', '2'], 2], [['3', '4'], 4], [['', ''], 5]]);
  for (let cut = 0; cut <= text.length; cut++) {
    const reader = new CsvReader('t.csv');
    const got = [...reader.push(text.slice(0, cut)), ...reader.push(text.slice(cut)), ...reader.end()];
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
  const oneByOne = new CsvReader('t.csv');
  assert.deepEqual([...[...text].flatMap((c) => oneByOne.push(c)), ...oneByOne.end()], expected);
});

test('replay: malformed rows stop the replay with their line, or are skipped, counted and marked as gaps', async (t) => {
  const text = 'machine,v\nm1,1\nm1,oops\nm2,2\nm1,3,extra\nm1,4\n,5\n';
  const file = tempFile(t, 'bad.csv', text);
  const layout: CsvLayout = { columns: { v: 'v' }, machine: { column: 'machine' }, time: { startMs: 0, stepMs: 10 } };
  await assert.rejects(all(new CsvReplay({ path: file, layout })), (e: EdgeError) =>
    e.code === EDGE_ERR.REPLAY_FORMAT && e.message === `cannot replay CSV: column 'v' holds 'oops', not a number (${file} line 3)`);

  const replay = new CsvReplay({ path: file, layout, onBadRow: 'skip' });
  const events = await all(replay);
  assert.deepEqual(events, [
    { kind: 'sample', machineId: 'm1', t: 0, values: { v: 1 } },
    { kind: 'gap', machineId: 'm1', t: 0, reason: 'replay: malformed row at line 3' },
    { kind: 'sample', machineId: 'm2', t: 20, values: { v: 2 } },
    { kind: 'gap', machineId: 'm2', t: 20, reason: 'replay: malformed row at line 5' },
    { kind: 'sample', machineId: 'm1', t: 40, values: { v: 4 } },
    { kind: 'gap', machineId: 'm1', t: 40, reason: 'replay: malformed row at line 7' },
  ], 'a row whose machine is unknown (line 5: wrong field count; line 7: no id) marks every machine not already marked');
  assert.deepEqual(replay.counters(), { rows: 6, samples: 3, gaps: 3, badRows: 3 });
});

test('replay: bad files and options are typed errors', async (t) => {
  const layout = ai4iLayout();
  const missing = tempFile(t, 'cols.csv', 'UDI,Torque [Nm]\n1,2\n');
  await assert.rejects(all(new CsvReplay({ path: missing, layout })), (e: EdgeError) => e.code === EDGE_ERR.REPLAY_FORMAT && e.message.includes("has no column 'Air temperature [K]' (signal air_temperature)"));
  const dup = tempFile(t, 'dup.csv', 'a,a\n1,2\n');
  await assert.rejects(all(new CsvReplay({ path: dup, layout: { columns: { x: 'a' }, machine: { id: 'm' }, time: { startMs: 0, stepMs: 1 } } })), /has two columns 'a'/);
  const empty = tempFile(t, 'empty.csv', '');
  await assert.rejects(all(new CsvReplay({ path: empty, layout })), (e: EdgeError) => e.code === EDGE_ERR.REPLAY_FORMAT && /is empty/.test(e.message));
  await assert.rejects(all(new CsvReplay({ path: path.join(tmpdir(), 'hedge-no-such-file.csv'), layout })), (e: EdgeError) => e.code === EDGE_ERR.REPLAY_FORMAT && e.cause instanceof Error);
  const open = tempFile(t, 'open.csv', 'a\n"unterminated\n');
  await assert.rejects(all(new CsvReplay({ path: open, layout: { columns: { x: 'a' }, machine: { id: 'm' }, time: { startMs: 0, stepMs: 1 } } })), /ends inside a quoted field/);
  const stray = tempFile(t, 'stray.csv', 'a\nx"y\n');
  await assert.rejects(all(new CsvReplay({ path: stray, layout: { columns: { x: 'a' }, machine: { id: 'm' }, time: { startMs: 0, stepMs: 1 } } })), /a quote inside an unquoted field .* line 2/);
  const badTime = tempFile(t, 'time.csv', 't,a\nyesterday,1\n');
  await assert.rejects(all(new CsvReplay({ path: badTime, layout: { columns: { x: 'a' }, machine: { id: 'm' }, time: { column: 't', format: 'iso' } } })), /column 't' holds 'yesterday', not a iso time/);

  const replay = new CsvReplay({ path: AI4I_PATH, layout });
  const it = replay.events();
  await it.next();
  await it.return(undefined);
  await assert.rejects(all(replay), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR);

  const bad: [string, unknown, string][] = [
    ['options', null, 'options must be an object'],
    ['path', { layout }, 'options.path must be a string'],
    ['columns', { path: 'x', layout: { ...layout, columns: {} } }, 'options.layout.columns must name at least one signal'],
    ['column', { path: 'x', layout: { ...layout, columns: { a: '' } } }, 'options.layout.columns.a must not be empty'],
    ['machine', { path: 'x', layout: { ...layout, machine: {} } }, "options.layout.machine must have 'id' or 'column'"],
    ['format', { path: 'x', layout: { ...layout, time: { column: 't', format: 'unix' } } }, "options.layout.time.format must be 'iso'"],
    ['step', { path: 'x', layout: { ...layout, time: { startMs: 0, stepMs: -1 } } }, 'options.layout.time.stepMs must not be negative'],
    ['onBadRow', { path: 'x', layout, onBadRow: 'ignore' }, "options.onBadRow must be 'throw' or 'skip'"],
    ['signal', { path: 'x', layout, signal: {} }, 'options.signal must be an AbortSignal'],
  ];
  for (const [what, options, message] of bad) {
    assert.throws(() => new CsvReplay(options as never), (e: Error & { code?: string }) =>
      (e instanceof TypeError || e instanceof RangeError) && e.message.includes(message) && e.code!.startsWith('EDGE_ERR_'), what);
  }
  assert.throws(() => ai4iLayout({ stepMs: Number.NaN }), RangeError);
});

test('replay: an abort signal stops the replay', async () => {
  const controller = new AbortController();
  const replay = new CsvReplay({ path: AI4I_PATH, layout: ai4iLayout(), signal: controller.signal });
  let n = 0;
  await assert.rejects((async () => {
    for await (const _ of replay.events()) if (++n === 10) controller.abort();
  })(), (e: Error) => e.name === 'AbortError');
  assert.ok(replay.counters().rows < 10_000);
});
