import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainPolicy, renderExplanation } from '../../src/edge/policy-explain.ts';
import { applyPolicy, parsePolicy, PseudonymKey, validatePolicy } from '../../src/edge/policy.ts';
import type { RawEvent } from '../../src/edge/sample.ts';
import { POLICY_YAML } from './_fixtures.ts';

const policy = parsePolicy(POLICY_YAML, { baseDir: '/etc/hedge' });
const source = {
  signals: [
    { name: 'air_temperature', unit: 'K', lo: 290, hi: 310 },
    { name: 'torque', unit: 'N·m', lo: 0, hi: 70 },
    { name: 'operator_badge' },
    { name: 'spindle_current', unit: 'A', lo: 0, hi: 40 },
  ],
};

test('explain: says which signals leave, as what, and why the others stay', () => {
  const e = explainPolicy(policy, source);
  assert.deepEqual(e.leaving, ['air_temperature', 'torque']);
  assert.deepEqual(e.staying, ['operator_badge', 'machine_failure', 'spindle_current']);
  const by = Object.fromEntries(e.signals.map((s) => [s.name, s]));
  assert.deepEqual(by.air_temperature.leavesAs, ['features']);
  assert.equal(by.air_temperature.reason, 'shared');
  assert.equal(by.air_temperature.outOfRange, 'clamp');
  assert.deepEqual(by.air_temperature.notes, []);
  assert.deepEqual(by.machine_failure.leavesAs, ['label']);
  assert.equal(by.machine_failure.reason, 'label-only');
  assert.deepEqual(by.machine_failure.notes, ['no connector reports this signal, so nothing of it can leave']);
  assert.equal(by.operator_badge.reason, 'not-shareable');
  assert.equal(by.operator_badge.classification, 'secret');
  assert.deepEqual(by.operator_badge.leavesAs, []);
  assert.equal(by.spindle_current.reason, 'undeclared');
  assert.equal(by.spindle_current.classification, undefined);
  assert.deepEqual(by.torque.notes, [
    "the policy's unit Nm differs from the source's unit N·m",
    "the policy's range [3, 77] reaches beyond the source's EU range [0, 70]",
  ]);
  assert.deepEqual(e.machineIds, { leavesAs: 'pseudonym', method: 'HMAC-SHA256, 128 bits', key: 'key file /etc/hedge/pseudonym.key (stays in the plant)' });
  assert.equal(e.minBatchSize, 64);
  assert.deepEqual(e.label?.classes.map((c) => c.name), ['failure', 'ok']);
});

test('explain: agrees with what applyPolicy actually lets out', () => {
  const e = explainPolicy(policy, source);
  const values = { air_temperature: 300, torque: 40, operator_badge: 1, spindle_current: 3, machine_failure: 0 };
  const raw: RawEvent[] = [{ kind: 'sample', machineId: 'm', t: 0, values }];
  const out = applyPolicy(policy, PseudonymKey.fromBytes(new Uint8Array(32)), raw).events[0];
  assert.ok(out.kind === 'sample');
  assert.deepEqual(Object.keys(out.values), e.leaving);
  for (const name of e.staying) assert.ok(!(name in out.values), name);
  assert.ok(e.label && out.label === e.label.classes.find((c) => c.raw === 0)?.name);
});

test('explain: the text rendering lists leaving and staying signals with reasons', () => {
  const text = renderExplanation(explainPolicy(policy, source));
  assert.match(text, /^machine ids: leave only as pseudonyms \(HMAC-SHA256, 128 bits\); key: key file \/etc\/hedge\/pseudonym.key/);
  assert.match(text, /batches: at least 64 records; no signal above confidential may be shared/);
  const [leaves, stays] = text.split('\nSTAYS\n');
  assert.match(leaves, /air_temperature \[internal\]: values as features, clamped into \[295, 305\] K/);
  assert.match(leaves, /torque \[confidential\]: values as features, sample rejected outside \[3, 77\] Nm\n {4}note: the policy's unit Nm differs/);
  assert.match(leaves, /machine_failure \[internal\]: only the label class \(1 → failure, 0 → ok\); raw values stay/);
  assert.match(stays, /operator_badge \[secret\]: share is false\n {4}the operator's badge number/);
  assert.match(stays, /spindle_current: not declared in the policy \(undeclared signals never leave\)/);
  assert.ok(!stays.includes('air_temperature') && !leaves.includes('spindle_current'));
  // Without a source and with nothing shared but the label.
  const minimal = validatePolicy({
    version: 1, minBatchSize: 10,
    signals: { flag: { classification: 'public', share: false }, x: { classification: 'public', share: false } },
    label: { signal: 'flag', classes: [{ raw: 1, name: 'bad' }, { raw: 0, name: 'good' }] },
  });
  const t = renderExplanation(explainPolicy(minimal));
  assert.match(t, /key: passed in by the gateway/);
  assert.match(t, /LEAVES\n {2}flag \[public\]: only the label class/);
  assert.deepEqual(explainPolicy(minimal).leaving, []);
  assert.deepEqual(explainPolicy(minimal).signals.map((s) => s.notes), [[], []], 'no source, no notes');
});

test('explain: a malformed source schema gives typed errors', () => {
  const bad: unknown[] = [
    'signals', { signals: 'x' }, { signals: [null] }, { signals: [{ name: '' }] }, { signals: [{ name: 'a', lo: 1 }] },
    { signals: [{ name: 'a', lo: 2, hi: 1 }] }, { signals: [{ name: 'a', lo: 'x', hi: 1 }] }, { signals: [{ name: 'a' }, { name: 'a' }] },
    { signals: [{ name: 'a', unit: 3 }] },
  ];
  for (const s of bad) {
    assert.throws(() => explainPolicy(policy, s as never), (e: unknown) => (e instanceof TypeError || e instanceof RangeError) && /^cannot explain policy/.test((e as Error).message), JSON.stringify(s));
  }
  assert.throws(() => explainPolicy(null as never), TypeError);
  assert.throws(() => renderExplanation(undefined as never), TypeError);
});
