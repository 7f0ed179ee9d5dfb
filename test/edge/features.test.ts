import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureWindows, STATS, windowStats, type FeatureRecord } from '../../src/edge/features.ts';
import type { SharedEvent } from '../../src/edge/sample.ts';
import { loadAi4i } from '../models/fixtures/ai4i.ts';

const sample = (machine: string, t: number, values: Record<string, number>, label?: string): SharedEvent =>
  label === undefined ? { kind: 'sample', machine, t, values } : { kind: 'sample', machine, t, values, label };
const gap = (machine: string, t: number): SharedEvent => ({ kind: 'gap', machine, t, reason: 'test' });
const feed = (w: FeatureWindows, events: SharedEvent[]): FeatureRecord[] => events.flatMap((e) => w.push(e));

/** Independent reference: the textbook formulas, written out separately from the module. */
function reference(ts: number[], xs: number[]) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const secs = ts.map((t) => t / 1000);
  const tm = secs.reduce((a, b) => a + b, 0) / n;
  const cov = secs.reduce((a, s, i) => a + (s - tm) * (xs[i] - mean), 0);
  const vt = secs.reduce((a, s) => a + (s - tm) ** 2, 0);
  return {
    mean,
    std: Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n),
    min: Math.min(...xs),
    max: Math.max(...xs),
    rms: Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / n),
    slope: vt === 0 ? 0 : cov / vt,
  };
}
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('features: windowStats gives the documented statistics', () => {
  assert.deepEqual(windowStats([0, 1000, 2000, 3000], [1, 3, 2, 6]), { mean: 3, std: Math.sqrt(3.5), min: 1, max: 6, rms: Math.sqrt(12.5), slope: 1.4 });
  assert.deepEqual(windowStats([5, 5, 5], [1, 2, 3]).slope, 0, 'no time spread → slope 0');
  assert.deepEqual(windowStats([7], [-2]), { mean: -2, std: 0, min: -2, max: -2, rms: 2, slope: 0 });
  // Epoch-sized times do not lose precision (times are taken relative to the first).
  assert.equal(windowStats([1.7e12, 1.7e12 + 500, 1.7e12 + 1000], [0, 1, 2]).slope, 2);
  for (const [ts, xs] of [[[], []], [[1], [1, 2]], [[1, 2], [1, Number.NaN]], [[1, Infinity], [1, 2]]] as [number[], number[]][]) {
    assert.throws(() => windowStats(ts, xs), RangeError);
  }
  assert.throws(() => windowStats('x' as never, [1]), TypeError);
  assert.throws(() => windowStats([1], ['1'] as never), TypeError);
});

test('features: count windows per machine match the reference on AI4I rows, interleaved machines', () => {
  const rows = loadAi4i().slice(0, 600);
  const signals = ['torque', 'rpm'];
  const w = new FeatureWindows({ window: { kind: 'count', size: 50 }, signals, labelClasses: ['failure', 'ok'] });
  assert.deepEqual(w.names, signals.flatMap((s) => STATS.map((st) => `${s}.${st}`)));
  const events = rows.map((r, i) => sample(`m-${r.plant}`, i * 1000, { torque: r.torque, rpm: r.rpm, wear: r.wear }, r.failure ? 'failure' : 'ok'));
  const records = feed(w, events);
  for (const plant of ['L', 'M', 'H']) {
    const mine = rows.map((r, i) => ({ r, t: i * 1000 })).filter((x) => x.r.plant === plant);
    const got = records.filter((rec) => rec.machine === `m-${plant}`);
    assert.equal(got.length, Math.floor(mine.length / 50), plant);
    got.forEach((rec, k) => {
      const slice = mine.slice(k * 50, (k + 1) * 50);
      assert.equal(rec.count, 50);
      assert.equal(rec.start, slice[0].t);
      assert.equal(rec.end, slice[49].t);
      assert.equal(rec.label, slice.some((x) => x.r.failure) ? 'failure' : 'ok');
      signals.forEach((s, j) => {
        const ref = reference(slice.map((x) => x.t), slice.map((x) => (s === 'torque' ? x.r.torque : x.r.rpm)));
        STATS.forEach((st, q) => close(rec.values[j * STATS.length + q], ref[st], `${plant}#${k} ${s}.${st}`));
      });
    });
  }
  const c = w.counters();
  assert.equal(c.samples, 600);
  assert.equal(c.records, records.length);
  // Deterministic: a fresh instance gives identical records.
  assert.deepEqual(feed(new FeatureWindows({ window: { kind: 'count', size: 50 }, signals, labelClasses: ['failure', 'ok'] }), events), records);
  // A partial window at the end is discarded by flush, and counted.
  assert.equal(w.flush(), 3);
  assert.deepEqual(w.counters().discardedWindows, { gap: 0, tooFew: 0, flush: 3 });
  assert.equal(w.counters().discardedSamples, 600 - records.length * 50);
});

test('features: time windows are aligned to the origin, closed by later samples or closeUntil, and need minSamples', () => {
  const w = new FeatureWindows({ window: { kind: 'time', durationMs: 10_000, originMs: 1_000 }, signals: ['x'], stats: ['max', 'mean'] });
  assert.deepEqual(w.names, ['x.mean', 'x.max'], 'record order follows STATS, not the option order');
  const out = feed(w, [
    sample('a', 1_000, { x: 1 }), sample('a', 5_000, { x: 3 }), sample('b', 9_000, { x: 7 }),
    sample('a', 11_000, { x: 10 }), // closes a's [1000, 11000)
    sample('b', 12_000, { x: 8 }), // closes b's window: 1 sample < minSamples 2 → discarded
    sample('a', 30_999, { x: 4 }), // skips a window: closes a's [11000, 21000), 1 sample → discarded
  ]);
  assert.deepEqual(out, [{ machine: 'a', start: 1_000, end: 11_000, count: 2, values: [2, 3] }]);
  assert.deepEqual(w.closeUntil(30_000), [], 'no window ends by then');
  assert.deepEqual(w.closeUntil(31_000), [], "a's [21000, 31000) has one sample: discarded; b's [11000, 21000) has one: discarded");
  assert.equal(w.counters().discardedWindows.tooFew, 4);
  w.push(sample('c', 42_000, { x: 1 }));
  w.push(sample('c', 45_000, { x: 2 }));
  assert.deepEqual(w.closeUntil(50_999), []);
  assert.deepEqual(w.closeUntil(51_000), [{ machine: 'c', start: 41_000, end: 51_000, count: 2, values: [1.5, 2] }]);
  const lenient = new FeatureWindows({ window: { kind: 'time', durationMs: 1000, minSamples: 1 }, signals: ['x'] });
  assert.equal(feed(lenient, [sample('a', 0, { x: 1 }), sample('a', 1000, { x: 1 })]).length, 1);
  const count = new FeatureWindows({ window: { kind: 'count', size: 2 }, signals: ['x'] });
  assert.deepEqual(count.closeUntil(1e15), [], 'closeUntil leaves count windows alone');
});

test('features: a window never spans a gap — gap markers and long silences discard it, and it is counted', () => {
  // Count windows: the open window is discarded; the next one starts after the gap.
  const c = new FeatureWindows({ window: { kind: 'count', size: 3 }, signals: ['x'] });
  const out = feed(c, [
    sample('a', 1, { x: 1 }), sample('a', 2, { x: 2 }), gap('a', 3),
    sample('a', 4, { x: 3 }), sample('a', 5, { x: 4 }), sample('a', 6, { x: 5 }),
    gap('b', 7), // a machine not seen yet: counted, nothing to discard
  ]);
  assert.deepEqual(out.map((r) => [r.start, r.end, r.values[0]]), [[4, 6, 4]]);
  assert.deepEqual(c.counters(), { samples: 5, records: 1, gaps: 2, discardedWindows: { gap: 1, tooFew: 0, flush: 0 }, discardedSamples: 2, outOfOrder: 0 });

  // Time windows: the open window and the rest of the window containing the gap are discarded.
  const t = new FeatureWindows({ window: { kind: 'time', durationMs: 100 }, signals: ['x'] });
  const timed = feed(t, [
    sample('a', 0, { x: 1 }), sample('a', 50, { x: 2 }), gap('a', 60), sample('a', 70, { x: 3 }), sample('a', 90, { x: 4 }),
    sample('a', 100, { x: 5 }), sample('a', 150, { x: 6 }), sample('a', 200, { x: 7 }),
  ]);
  assert.deepEqual(timed.map((r) => [r.start, r.count]), [[100, 2]]);
  assert.deepEqual(t.counters().discardedWindows, { gap: 1, tooFew: 0, flush: 0 });
  assert.equal(t.counters().discardedSamples, 4);

  // maxGapMs: a silence longer than that is a gap at the later sample.
  const s = new FeatureWindows({ window: { kind: 'count', size: 2 }, signals: ['x'], maxGapMs: 1000 });
  const silent = feed(s, [sample('a', 0, { x: 1 }), sample('a', 5000, { x: 2 }), sample('a', 5500, { x: 3 }), sample('a', 6500, { x: 4 }), sample('a', 7000, { x: 5 })]);
  assert.deepEqual(silent.map((r) => [r.start, r.end]), [[5000, 5500], [6500, 7000]], 'exactly maxGapMs apart is no gap');
  assert.equal(s.counters().gaps, 1);
  assert.equal(s.counters().discardedWindows.gap, 1);
});

test('features: out-of-order samples are dropped and counted; labels follow precedence', () => {
  const w = new FeatureWindows({ window: { kind: 'count', size: 3 }, signals: ['x'], labelClasses: ['failure', 'warn', 'ok'] });
  const out = feed(w, [
    sample('a', 10, { x: 1 }, 'ok'), sample('a', 9, { x: 100 }, 'failure'), sample('a', 10, { x: 2 }, 'warn'), sample('a', 11, { x: 3 }, 'ok'),
    sample('a', 12, { x: 1 }, 'ok'), sample('a', 13, { x: 1 }, 'ok'), sample('a', 14, { x: 1 }, 'ok'),
  ]);
  assert.deepEqual(out.map((r) => [r.label, r.values[0]]), [['warn', 2], ['ok', 1]]);
  assert.equal(w.counters().outOfOrder, 1);
});

test('features: bad options and events give typed errors and leave the windows unchanged', () => {
  const badOptions: unknown[] = [
    null, {}, { window: { kind: 'count', size: 0 }, signals: ['x'] }, { window: { kind: 'count', size: 1.5 }, signals: ['x'] },
    { window: { kind: 'time', durationMs: 0 }, signals: ['x'] }, { window: { kind: 'time', durationMs: 10, minSamples: 0 }, signals: ['x'] },
    { window: { kind: 'hopping', size: 3 }, signals: ['x'] }, { window: { kind: 'count', size: 3 }, signals: [] },
    { window: { kind: 'count', size: 3 }, signals: ['x', 'x'] }, { window: { kind: 'count', size: 3 }, signals: 'x' },
    { window: { kind: 'count', size: 3 }, signals: ['x'], stats: ['median'] }, { window: { kind: 'count', size: 3 }, signals: ['x'], stats: [] },
    { window: { kind: 'count', size: 3 }, signals: ['x'], maxGapMs: -1 }, { window: { kind: 'count', size: 3 }, signals: ['x'], labelClasses: [''] },
  ];
  for (const o of badOptions) {
    assert.throws(() => new FeatureWindows(o as never), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && /^cannot create feature windows/.test((e as Error).message), JSON.stringify(o));
  }
  const w = new FeatureWindows({ window: { kind: 'count', size: 2 }, signals: ['x'], labelClasses: ['a', 'b'] });
  w.push(sample('m', 1, { x: 1 }, 'a'));
  const badEvents: unknown[] = [
    null, { kind: 'sample', machine: '', t: 1, values: { x: 1 }, label: 'a' }, { kind: 'sample', machine: 'm', t: Number.NaN, values: { x: 1 }, label: 'a' },
    { kind: 'sample', machine: 'm', t: 2, values: { y: 1 }, label: 'a' }, { kind: 'sample', machine: 'm', t: 2, values: { x: Infinity }, label: 'a' },
    { kind: 'sample', machine: 'm', t: 2, values: { x: '1' }, label: 'a' }, { kind: 'sample', machine: 'm', t: 2, values: { x: 1 } },
    { kind: 'sample', machine: 'm', t: 2, values: { x: 1 }, label: 'c' }, { kind: 'burst', machine: 'm', t: 2 },
  ];
  for (const e of badEvents) {
    assert.throws(() => w.push(e as never), (err: unknown) => (err instanceof TypeError || err instanceof RangeError) && /^cannot push to feature windows/.test((err as Error).message), JSON.stringify(e));
  }
  assert.deepEqual(w.push(sample('m', 2, { x: 3 }, 'b')).map((r) => r.values[0]), [2], 'the window was not disturbed');
  assert.throws(() => w.closeUntil(Number.NaN), RangeError);
});
