import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  applyPolicy, assertMinBatch, emptyCounters, loadPolicy, loadPseudonymKey, mergeCounters, moreSensitive, parsePolicy, pseudonymise,
  PseudonymKey, validatePolicy, type DataPolicy,
} from '../../src/edge/policy.ts';
import { EDGE_ERR, EdgeError } from '../../src/edge/errors.ts';
import type { RawEvent, SharedSample } from '../../src/edge/sample.ts';
import { loadAi4i } from '../models/fixtures/ai4i.ts';
import { POLICY_YAML } from './_fixtures.ts';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
/** Asserts that `fn` throws an EdgeError with `c` whose message contains every fragment. */
const throwsWith = (fn: () => unknown, c: string, ...fragments: string[]) => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.equal((e as { code?: string }).code, c, (e as Error).message);
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `«${(e as Error).message}» lacks «${f}»`);
    assert.match((e as Error).message, /^cannot /);
    return true;
  });
};

const key = PseudonymKey.fromBytes(Buffer.alloc(32, 7));
const policy = parsePolicy(POLICY_YAML, { source: 'policy.yaml', baseDir: '/etc/hedge' });

test('policy: the example parses into a frozen policy with defaults and the key file resolved', () => {
  assert.equal(policy.version, 1);
  assert.equal(policy.minBatchSize, 64);
  assert.equal(policy.maxClassification, 'confidential');
  assert.equal(policy.machineIds?.keyFile, '/etc/hedge/pseudonym.key');
  assert.deepEqual(policy.signals.map((s) => [s.name, s.classification, s.share, s.outOfRange]), [
    ['air_temperature', 'internal', true, 'clamp'],
    ['torque', 'confidential', true, 'reject'],
    ['operator_badge', 'secret', false, 'reject'],
    ['machine_failure', 'internal', false, 'reject'],
  ]);
  assert.deepEqual(policy.signals[1].range, { lo: 3, hi: 77 });
  assert.deepEqual(policy.label, { signal: 'machine_failure', classes: [{ raw: 1, name: 'failure' }, { raw: 0, name: 'ok' }] });
  assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.signals) && Object.isFrozen(policy.signals[0]));
  // Without baseDir the key file stays as written; validatePolicy takes a literal.
  assert.equal(parsePolicy(POLICY_YAML).machineIds?.keyFile, 'pseudonym.key');
  const literal = validatePolicy({ version: 1, minBatchSize: 1, signals: { a: { classification: 'public', share: true, range: { lo: 0, hi: 1 } } } });
  assert.equal(literal.signals[0].outOfRange, 'reject');
  assert.equal(literal.maxClassification, 'confidential');
});

test('policy: every bad field gives EDGE_ERR_POLICY_INVALID naming its path and line', () => {
  const edit = (from: string, to: string) => {
    assert.ok(POLICY_YAML.includes(from), from);
    return POLICY_YAML.replace(from, to);
  };
  const cases: [string, ...string[]][] = [
    [edit('      lo: 3', "      lo: 'three'"), 'signals.torque.range.lo must be a number, got string', 'policy.yaml line 19'],
    [edit('      hi: 77', '      hi: .nan'), 'signals.torque.range.hi must be finite'],
    [edit('      hi: 77', '      hi: 2'), 'signals.torque.range needs lo < hi'],
    [edit('version: 1', 'version: 2'), 'version must be 1, got 2', 'line 2'],
    [edit('version: 1\n', ''), 'version is required'],
    [edit('signals:', 'sigals:'), 'sigals is not a known field', 'line 7'],
    [edit('minBatchSize: 64', 'minBatchSize: 0'), 'minBatchSize must be a positive integer'],
    [edit('minBatchSize: 64', 'minBatchSize: 1.5'), 'minBatchSize must be a positive integer'],
    [edit('minBatchSize: 64', "minBatchSize: '64'"), 'minBatchSize must be a number, got string'],
    [edit('minBatchSize: 64\n', ''), 'minBatchSize is required'],
    [edit('maxClassification: confidential', 'maxClassification: top'), "maxClassification must be one of: public, internal, confidential, secret; got 'top'"],
    // YAML 1.2: `yes` is a string, so it is refused rather than read as true.
    [edit('    share: true\n    unit: K', '    share: yes\n    unit: K'), "signals.air_temperature.share must be true or false, got 'yes'"],
    [edit('    classification: secret\n    share: false', '    classification: secret\n    share: true'),
      'signals.operator_badge.share cannot be true for a signal classified secret (maxClassification is confidential)'],
    [edit('maxClassification: confidential', 'maxClassification: internal'), 'signals.torque.share cannot be true for a signal classified confidential'],
    [edit('    unit: K\n    range: { lo: 295, hi: 305 }\n', '    unit: K\n'), 'signals.air_temperature.range is required for a shared signal'],
    [edit('    classification: internal\n    share: true', '    classification: restricted\n    share: true'), 'signals.air_temperature.classification must be one of'],
    [edit('    share: false\n    description', '    description'), 'signals.operator_badge.share is required'],
    [edit('outOfRange: clamp', 'outOfRange: drop'), 'signals.air_temperature.outOfRange must be one of: clamp, reject'],
    [edit('    unit: Nm', '    units: Nm'), 'signals.torque.units is not a known field'],
    [edit('  torque:', '  1torque:'), 'signals.1torque is not a valid signal name'],
    [edit('  torque:', '  __proto__:'), 'signals.__proto__ is not a valid signal name'],
    [edit('  signal: machine_failure', '  signal: spindle'), "label.signal names 'spindle', which is not declared"],
    [edit('  machine_failure:\n    classification: internal', '  machine_failure:\n    classification: secret'), 'label.signal names \'machine_failure\', classified secret'],
    [edit('    - { raw: 0, name: ok }', '    - { raw: 1, name: ok }'), 'label.classes[1].raw repeats the raw value 1'],
    [edit('    - { raw: 0, name: ok }', '    - { raw: 0, name: failure }'), "label.classes[1].name repeats the class name 'failure'"],
    [edit('    - { raw: 0, name: ok }\n', ''), 'label.classes must list at least 2 classes'],
    [edit('    - { raw: 0, name: ok }', '    - { raw: false, name: ok }'), 'label.classes[1].raw must be a number, got boolean'],
    [edit('    - { raw: 0, name: ok }', '    - [0, ok]'), 'label.classes[1] must be a mapping, got a list'],
    [edit('  keyFile: pseudonym.key', "  keyFile: ''"), 'machineIds.keyFile must not be empty'],
    [edit('  machine_failure:\n    classification: internal\n    share: false\n', '  machine_failure:\n'), 'signals.machine_failure must be a mapping, got nothing'],
    ['version: 1\nminBatchSize: 1\nsignals: {}\n', 'signals must declare at least one signal'],
    ['version: 1\nminBatchSize: 1\n', 'signals is required'],
    ['', 'the policy must be a mapping, got nothing'],
    ['- 1\n- 2\n', 'the policy must be a mapping, got a list'],
  ];
  for (const [text, ...fragments] of cases) {
    throwsWith(() => parsePolicy(text, { source: 'policy.yaml' }), EDGE_ERR.POLICY_INVALID, ...fragments);
  }
  throwsWith(() => validatePolicy({ version: 1, minBatchSize: 1, signals: { a: { classification: 'public', share: true, range: { lo: 0, hi: 'x' } } } }),
    EDGE_ERR.POLICY_INVALID, 'signals.a.range.hi must be a number, got string');
  throwsWith(() => validatePolicy(null), EDGE_ERR.POLICY_INVALID, 'the policy must be a mapping');
});

test('policy: malformed YAML gives EDGE_ERR_POLICY_SYNTAX with the position; wrong argument types a TypeError', () => {
  throwsWith(() => parsePolicy('version: 1\nversion: 1\n', { source: 'p.yaml' }), EDGE_ERR.POLICY_SYNTAX, 'unique', 'p.yaml line 2');
  throwsWith(() => parsePolicy('signals: [1,\n'), EDGE_ERR.POLICY_SYNTAX, 'line 2');
  throwsWith(() => parsePolicy('version: 1\n---\nversion: 1\n'), EDGE_ERR.POLICY_SYNTAX, 'multiple documents');
  // An alias bomb ("billion laughs") is refused, not expanded.
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) bomb.push(`${'abcdefgh'[i]}: &${'abcdefgh'[i]} [${Array(10).fill(`*${'abcdefgh'[i - 1]}`).join(', ')}]`);
  throwsWith(() => parsePolicy(bomb.join('\n')), EDGE_ERR.POLICY_SYNTAX, 'alias');
  assert.throws(() => parsePolicy(42 as never), (e: unknown) => e instanceof TypeError && code(EDGE_ERR.INVALID_ARGUMENT)(e));
});

test('policy: loadPolicy and loadPseudonymKey read files and refuse weak or exposed keys', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-policy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policyPath = path.join(dir, 'policy.yaml');
  writeFileSync(policyPath, POLICY_YAML);
  const loaded = await loadPolicy(policyPath);
  assert.equal(loaded.machineIds?.keyFile, path.join(dir, 'pseudonym.key'));

  const keyHex = randomBytes(32).toString('hex');
  const keyPath = loaded.machineIds!.keyFile;
  writeFileSync(keyPath, `${keyHex}\n`, { mode: 0o600 });
  const fileKey = await loadPseudonymKey(keyPath);
  assert.equal(pseudonymise(fileKey, 'mill-3'), pseudonymise(PseudonymKey.fromBytes(Buffer.from(keyHex, 'hex')), 'mill-3'));

  if (process.platform !== 'win32') {
    chmodSync(keyPath, 0o640);
    await assert.rejects(loadPseudonymKey(keyPath), (e: unknown) => code(EDGE_ERR.KEY_PERMISSIONS)(e) && /chmod 600/.test((e as Error).message));
    chmodSync(keyPath, 0o600);
  }
  writeFileSync(keyPath, keyHex.slice(0, 62), { mode: 0o600 });
  await assert.rejects(loadPseudonymKey(keyPath), code(EDGE_ERR.KEY));
  writeFileSync(keyPath, `${keyHex.slice(0, 63)}z`, { mode: 0o600 });
  await assert.rejects(loadPseudonymKey(keyPath), (e: unknown) => code(EDGE_ERR.KEY)(e) && !(e as Error).message.includes(keyHex.slice(0, 63)));
  await assert.rejects(loadPseudonymKey(path.join(dir, 'absent.key')), (e: unknown) => code(EDGE_ERR.KEY)(e) && /ENOENT/.test((e as Error).message));
  await assert.rejects(loadPolicy(path.join(dir, 'absent.yaml')), code(EDGE_ERR.POLICY_INVALID));
  await assert.rejects(loadPseudonymKey(7 as never), TypeError);
});

test('policy: the pseudonymisation key never shows, and is unusable once destroyed', () => {
  const bytes = Buffer.alloc(32, 0xab);
  const k = PseudonymKey.fromBytes(bytes);
  const hexKey = bytes.toString('hex');
  for (const shown of [inspect(k), JSON.stringify({ k }), String(k), inspect({ nested: { k } }, { depth: 5, showHidden: true })]) {
    assert.ok(!shown.includes(hexKey) && !shown.includes('171, 171') && shown.includes('redacted'), shown);
  }
  bytes.fill(0);
  assert.equal(pseudonymise(k, 'a'), pseudonymise(PseudonymKey.fromBytes(Buffer.alloc(32, 0xab)), 'a'), 'fromBytes copies its input');
  k.destroy();
  k.destroy();
  assert.throws(() => pseudonymise(k, 'a'), code(EDGE_ERR.KEY_DESTROYED));
  assert.throws(() => PseudonymKey.fromBytes(new Uint8Array(31)), code(EDGE_ERR.KEY));
  assert.throws(() => PseudonymKey.fromBytes('x'.repeat(32) as never), TypeError);
  assert.throws(() => pseudonymise({} as never, 'a'), TypeError);
  assert.throws(() => pseudonymise(key, ''), RangeError);
});

test('policy: pseudonyms are HMAC-SHA256 of the documented message, keyed, stable and log-safe', () => {
  const keyBytes = Buffer.alloc(32, 7);
  const expected = createHmac('sha256', keyBytes).update('hedge/machine-id/v1\nmill-3').digest('hex').slice(0, 32);
  const p = pseudonymise(key, 'mill-3');
  assert.equal(p.replaceAll('-', '').slice(1), expected);
  assert.match(p, /^m-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  assert.ok(!/[A-Za-z0-9+/=]{24,}/.test(p), 'no run the transparency log would refuse as key material');
  assert.equal(pseudonymise(key, 'mill-3'), p);
  assert.notEqual(pseudonymise(key, 'mill-4'), p);
  assert.notEqual(pseudonymise(PseudonymKey.fromBytes(Buffer.alloc(32, 8)), 'mill-3'), p);
});

test('policy: applyPolicy lets only shareable signals leave, clamps, rejects and counts', () => {
  const m = pseudonymise(key, 'mill-3');
  const events: RawEvent[] = [
    { kind: 'sample', machineId: 'mill-3', t: 1, values: { air_temperature: 300, torque: 40, operator_badge: 4711, machine_failure: 0 } },
    { kind: 'sample', machineId: 'mill-3', t: 2, values: { air_temperature: 310, torque: 40, machine_failure: 1, spindle_current: 3 } },
    { kind: 'sample', machineId: 'mill-3', t: 3, values: { air_temperature: 290, torque: 78, machine_failure: 0 } },
    { kind: 'gap', machineId: 'mill-3', t: 4, reason: 'opcua: subscription recreated' },
    { kind: 'sample', machineId: 'mill-3', t: 5, values: { air_temperature: Number.NaN, torque: 40, machine_failure: 0 } },
    { kind: 'sample', machineId: 'mill-3', t: 6, values: { air_temperature: 300, machine_failure: 0 } },
    { kind: 'sample', machineId: 'mill-3', t: 7, values: { air_temperature: 300, torque: 40, machine_failure: 2 } },
    { kind: 'sample', machineId: 'mill-3', t: 8, values: { air_temperature: 300, torque: 40 } },
    { kind: 'sample', machineId: 'mill-3', t: 9, values: { air_temperature: 300, torque: 40, machine_failure: Infinity } },
    { kind: 'sample', machineId: 'mill-9', t: 10, values: { air_temperature: 295, torque: 77, machine_failure: 1, __proto__x: 1 } },
  ];
  const { events: out, counters } = applyPolicy(policy, key, events);
  assert.deepEqual(out, [
    { kind: 'sample', machine: m, t: 1, values: { air_temperature: 300, torque: 40 }, label: 'ok' },
    { kind: 'sample', machine: m, t: 2, values: { air_temperature: 305, torque: 40 }, label: 'failure' },
    { kind: 'gap', machine: m, t: 4, reason: 'opcua: subscription recreated' },
    { kind: 'sample', machine: pseudonymise(key, 'mill-9'), t: 10, values: { air_temperature: 295, torque: 77 }, label: 'failure' },
  ]);
  const bag = (o: Record<string, number>) => Object.assign(Object.create(null), o);
  assert.deepEqual(counters, {
    samplesIn: 9, samplesOut: 3, samplesRejected: 6, gaps: 1,
    clamped: bag({ air_temperature: 1 }),
    outOfRange: bag({ torque: 1 }),
    nonFinite: bag({ air_temperature: 1, machine_failure: 1 }),
    missing: bag({ torque: 1, machine_failure: 1 }),
    unmappedLabel: 1,
    withheld: bag({ operator_badge: 1, machine_failure: 9 - 1 }),
    undeclared: bag({ spindle_current: 1, __proto__x: 1 }),
  });
  // Nothing of what must stay is in what leaves.
  const leaving = JSON.stringify(out);
  for (const secret of ['mill-3', 'mill-9', 'operator_badge', '4711', 'spindle_current', 'machine_failure']) assert.ok(!leaving.includes(secret), secret);
  assert.ok(Object.isFrozen(out[0]) && Object.isFrozen((out[0] as SharedSample).values));
  // Empty input, and pure: the same call gives the same result.
  assert.deepEqual(applyPolicy(policy, key, []).events, []);
  assert.deepEqual(applyPolicy(policy, key, events), { events: out, counters });
});

test('policy: applyPolicy refuses malformed events and unvalidated policies with typed errors, naming the event', () => {
  const ok = { kind: 'sample', machineId: 'm', t: 1, values: { torque: 40 } };
  const bad: [unknown, string][] = [
    [[ok, null], 'events[1] must be an object'],
    [[ok, { ...ok, machineId: 3 }], 'events[1].machineId must be a string'],
    [[{ ...ok, machineId: '' }], 'events[0].machineId must not be empty'],
    [[{ ...ok, t: '1' }], 'events[0].t must be a number'],
    [[{ ...ok, t: Number.NaN }], 'events[0].t must be finite'],
    [[{ ...ok, values: [1] }], 'events[0].values must be an object'],
    [[{ ...ok, values: { torque: '40' } }], 'events[0].values.torque must be a number, got string'],
    [[{ ...ok, kind: 'reading' }], "events[0].kind must be 'sample' or 'gap', got 'reading'"],
    [[{ kind: 'gap', machineId: 'm', t: 1 }], 'events[0].reason must be a string'],
    ['events', 'events must be an array'],
  ];
  for (const [events, fragment] of bad) {
    assert.throws(() => applyPolicy(policy, key, events as never), (e: unknown) =>
      (e instanceof TypeError || e instanceof RangeError) && (e as Error).message.includes(fragment) && /^cannot apply policy/.test((e as Error).message));
  }
  const forged = { ...policy } as DataPolicy;
  assert.throws(() => applyPolicy(forged, key, []), TypeError);
  assert.throws(() => applyPolicy(policy, 'key' as never, []), TypeError);
});

test('policy: minimum batch size, classification order and counter merging', () => {
  assert.ok(moreSensitive('secret', 'confidential') && !moreSensitive('public', 'internal') && !moreSensitive('internal', 'internal'));
  assert.doesNotThrow(() => assertMinBatch(policy, 64));
  throwsWith(() => assertMinBatch(policy, 63), EDGE_ERR.BATCH_TOO_SMALL, 'holds 63 records', 'minBatchSize is 64');
  assert.throws(() => assertMinBatch(policy, -1), RangeError);
  assert.throws(() => assertMinBatch(policy, 1.5), RangeError);
  const a = applyPolicy(policy, key, [{ kind: 'sample', machineId: 'm', t: 1, values: { air_temperature: 400, torque: 40, machine_failure: 0, x: 1 } }]).counters;
  const sum = mergeCounters(mergeCounters(emptyCounters(), a), a);
  assert.equal(sum.samplesIn, 2);
  assert.equal(sum.clamped.air_temperature, 2);
  assert.equal(sum.undeclared.x, 2);
  assert.equal(a.samplesIn, 1, 'inputs unchanged');
  assert.throws(() => mergeCounters(a, null as never), TypeError);
});

test('policy: on the AI4I data the counts equal an independent count of out-of-range values', () => {
  const rows = loadAi4i();
  const p = validatePolicy({
    version: 1, minBatchSize: 64,
    signals: {
      air_temperature: { classification: 'internal', share: true, range: { lo: 296, hi: 304 }, outOfRange: 'clamp' },
      torque: { classification: 'internal', share: true, range: { lo: 10, hi: 70 }, outOfRange: 'reject' },
      machine_failure: { classification: 'internal', share: false },
    },
    label: { signal: 'machine_failure', classes: [{ raw: 1, name: 'failure' }, { raw: 0, name: 'ok' }] },
  });
  const events: RawEvent[] = rows.map((r, i) => ({
    kind: 'sample', machineId: `plant-${r.plant}`, t: i * 1000, values: { air_temperature: r.air, torque: r.torque, machine_failure: r.failure ? 1 : 0 },
  }));
  const { events: out, counters } = applyPolicy(p, key, events);
  const torqueOut = rows.filter((r) => r.torque < 10 || r.torque > 70);
  const kept = rows.filter((r) => r.torque >= 10 && r.torque <= 70);
  assert.ok(torqueOut.length > 0 && kept.some((r) => r.air < 296 || r.air > 304), 'the ranges bite on this data');
  assert.equal(counters.outOfRange.torque, torqueOut.length);
  assert.equal(counters.samplesOut, kept.length);
  assert.equal(counters.clamped.air_temperature, kept.filter((r) => r.air < 296 || r.air > 304).length);
  assert.equal(out.filter((e) => e.kind === 'sample' && e.label === 'failure').length, kept.filter((r) => r.failure).length);
  assert.ok(out.every((e) => e.kind === 'sample' && e.values.air_temperature >= 296 && e.values.air_temperature <= 304));
  assert.equal(new Set(out.map((e) => e.machine)).size, 3);
});
