/**
 * The gateway configuration of `hedge edge start` (a valid file, and a bad-input matrix: each
 * mistake a typed error naming the field's path and line), and `hedge edge policy explain` as a
 * command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEdgeConfig } from '../../src/edge/config.ts';
import { EdgeError, EdgeTypeError } from '../../src/edge/errors.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const VALID = `version: 1
tenant: plant-a
federation: mills
stateDir: state
cloud:
  url: https://cloud.example:8443/
  ca: ca.pem
  cert: gateway.pem
  key: gateway.key
policy: policy.yaml
keyHolder:
  custody: { passphraseEnv: HEDGE_CUSTODY_PASSPHRASE }
  policy: { minPlants: 3, minRecords: 1000, maxRevealsPerDay: 10 }
connectors:
  - kind: csv
    path: rows.csv
    layout: ai4i
    machineId: mill-1
  - kind: opcua
    endpointUrl: opc.tcp://10.0.3.7:4840
    pkiDir: pki
    security: sign-and-encrypt
    machines:
      - machineId: mill-2
        signals: [{ name: torque, nodeId: "ns=1;s=mill-2.Torque" }]
  - kind: sparkplug
    brokerUrl: mqtt://127.0.0.1:1883
    hostId: hedge-plant-a
    groups: [line-1]
datasets:
  - id: mills
    schema: schema.json
    batchSize: 512
  - id: mills-windows
    schema: windows.json
    source: { kind: windows, window: { kind: count, size: 10 }, signals: [torque], stats: [mean, max] }
models:
  fleet: plant-a
  trustedRoot: root.json
  repository: https://cloud.example:8443/tuf
  mqtt: { url: "mqtt://127.0.0.1:1883", prefix: hedge/decisions }
  endpoint: { port: 8710 }
  run:
    - id: torque
      moments: torque.moments.json
      fallback: { rule: constant, output: 40 }
      oodAlpha: 0.001
`;

function fixture(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-edge-config-'));
  for (const f of ['ca.pem', 'gateway.pem', 'gateway.key', 'root.json']) writeFileSync(path.join(dir, f), `-----BEGIN ${f}-----\n`);
  writeFileSync(path.join(dir, 'schema.json'), JSON.stringify({ features: [{ name: 'torque', lo: 0, hi: 80 }] }));
  writeFileSync(path.join(dir, 'windows.json'), JSON.stringify({ features: [{ name: 'torque.mean', lo: 0, hi: 80 }, { name: 'torque.max', lo: 0, hi: 80 }] }));
  return dir;
}

const env = { HEDGE_CUSTODY_PASSPHRASE: 'a long enough passphrase' };

test('a valid gateway config: paths resolved against its folder, TLS material read, defaults filled', () => {
  const dir = fixture();
  try {
    const c = parseEdgeConfig(VALID, { source: 'gateway.yaml', baseDir: dir, env });
    assert.equal(c.cloud.url, 'https://cloud.example:8443');
    assert.equal(c.cloud.ca, '-----BEGIN ca.pem-----\n');
    assert.equal(c.cloud.pollMs, 2000);
    assert.equal(c.stateDir, path.join(dir, 'state'));
    assert.deepEqual(c.keyHolder.unlock, { passphrase: env.HEDGE_CUSTODY_PASSPHRASE });
    assert.deepEqual(c.connectors.map((x) => x.kind), ['csv', 'opcua', 'sparkplug']);
    const csv = c.connectors[0];
    assert.ok(csv.kind === 'csv' && csv.path === path.join(dir, 'rows.csv') && 'id' in csv.layout.machine && csv.layout.machine.id === 'mill-1');
    assert.deepEqual(c.datasets.map((d) => [d.id, d.source.kind, d.schema.features.length]), [['mills', 'samples', 1], ['mills-windows', 'windows', 2]]);
    assert.equal(c.sealIntervalMs, 1000);
    assert.equal(c.allowInsecureParams, false);
    assert.deepEqual(c.models?.source, { kind: 'http', url: 'https://cloud.example:8443/tuf' });
    assert.deepEqual(c.models?.endpoint, { host: '127.0.0.1', port: 8710 });
    assert.equal(c.models?.checkMs, 60_000);
    assert.deepEqual(c.models?.run.map((m) => [m.id, m.moments, m.controls]), [['torque', path.join(dir, 'torque.moments.json'), { fallback: { rule: 'constant', output: 40 }, oodAlpha: 0.001 }]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gateway config bad-input matrix: typed errors naming the path and the line', () => {
  const dir = fixture();
  try {
    const expect = (text: string, code: string, pattern: RegExp, e: NodeJS.ProcessEnv = env): void => {
      assert.throws(() => parseEdgeConfig(text, { source: 'gateway.yaml', baseDir: dir, env: e }), (err: unknown) => {
        assert.ok(err instanceof EdgeError, String(err));
        assert.equal(err.code, code, err.message);
        assert.match(err.message, pattern);
        return true;
      });
    };
    expect('tenant: [unclosed', 'EDGE_ERR_CONFIG_SYNTAX', /gateway\.yaml line 1/);
    expect(`${VALID}tenant: again\n`, 'EDGE_ERR_CONFIG_SYNTAX', /gateway\.yaml line \d+/);
    expect(VALID.replace('connectors:', 'conectors:'), 'EDGE_ERR_CONFIG_INVALID', /conectors is not a known field .*line 14/);
    expect(VALID.replace('tenant: plant-a\n', ''), 'EDGE_ERR_CONFIG_INVALID', /tenant is required/);
    expect(VALID.replace('version: 1', 'version: 2'), 'EDGE_ERR_CONFIG_INVALID', /version must be 1, got 2 \(gateway\.yaml line 1\)/);
    expect(VALID.replace('tenant: plant-a', 'tenant: "plant a"'), 'EDGE_ERR_CONFIG_INVALID', /tenant must be an id/);
    expect(VALID.replace('https://cloud.example:8443/', 'http://cloud.example'), 'EDGE_ERR_CONFIG_INVALID', /cloud\.url must be an https:\/\/ URL, got "http:\/\/cloud\.example" \(gateway\.yaml line 6\)/);
    expect(VALID.replace('ca: ca.pem', 'ca: missing.pem'), 'EDGE_ERR_CONFIG_INVALID', /cloud\.ca names a file that cannot be read: .*missing\.pem \(ENOENT\) \(gateway\.yaml line 7\)/);
    expect(VALID, 'EDGE_ERR_CONFIG_INVALID', /passphraseEnv names the environment variable HEDGE_CUSTODY_PASSPHRASE, which is not set/, {});
    expect(VALID.replace('{ passphraseEnv: HEDGE_CUSTODY_PASSPHRASE }', '{ passphraseEnv: X, keyFile: k }'), 'EDGE_ERR_CONFIG_INVALID', /keyHolder\.custody must name exactly one/);
    expect(VALID.replace('minPlants: 3', 'minPlants: 0'), 'EDGE_ERR_CONFIG_INVALID', /keyHolder\.policy\.minPlants must be an integer in \[1, 65536\], got 0/);
    expect(VALID.replace('  policy: { minPlants', '  receiverKeyHash: abc\n  policy: { minPlants'), 'EDGE_ERR_CONFIG_INVALID', /keyHolder\.receiverKeyHash must be 64/);
    expect(VALID.replace('kind: sparkplug', 'kind: modbus'), 'EDGE_ERR_CONFIG_INVALID', /connectors\.2\.kind must be one of csv, opcua, sparkplug, got "modbus"/);
    expect(VALID.replace('    layout: ai4i\n', ''), 'EDGE_ERR_CONFIG_INVALID', /connectors\.0\.layout is required/);
    expect(VALID.replace('security: sign-and-encrypt', 'security: maybe'), 'EDGE_ERR_CONFIG_INVALID', /connectors\.1\.security must be one of none, sign-and-encrypt/);
    expect(VALID.replace('batchSize: 512', 'batchSize: -1'), 'EDGE_ERR_CONFIG_INVALID', /datasets\.0\.batchSize must be an integer/);
    expect(VALID.replace('id: mills-windows', 'id: mills'), 'EDGE_ERR_CONFIG_INVALID', /datasets\.1\.id repeats dataset mills/);
    expect(VALID.replace('schema: schema.json', 'schema: ca.pem'), 'EDGE_ERR_CONFIG_INVALID', /datasets\.0\.schema is not a dataset schema/);
    expect(VALID.replace('kind: windows,', 'kind: hours,'), 'EDGE_ERR_CONFIG_INVALID', /datasets\.1\.source\.kind must be one of windows/);
    expect(VALID.replace('  repository:', '  mirror: /media/usb\n  repository:'), 'EDGE_ERR_CONFIG_INVALID', /models must name exactly one of repository .*, mirror/);
    expect(VALID.replace('rule: constant', 'rule: guess'), 'EDGE_ERR_CONFIG_INVALID', /models\.run\.0\.fallback\.rule must be one of constant, threshold, none, got "guess"/);
    expect(VALID.replace('oodAlpha: 0.001', 'oodAlpha: small'), 'EDGE_ERR_CONFIG_INVALID', /models\.run\.0\.oodAlpha must be a number, got "small"/);
    expect(VALID.replace('{ port: 8710 }', '{ port: 70000 }'), 'EDGE_ERR_CONFIG_INVALID', /models\.endpoint\.port must be an integer in \[0, 65535\]/);
    expect('[]', 'EDGE_ERR_CONFIG_INVALID', /the document must be a mapping/);
    assert.throws(() => parseEdgeConfig(42 as never), EdgeTypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hedge edge policy explain prints what leaves and what stays; a bad policy is a typed error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-edge-explain-'));
  try {
    writeFileSync(path.join(dir, 'pseudonym.key'), 'ab'.repeat(32), { mode: 0o600 });
    writeFileSync(path.join(dir, 'policy.yaml'), [
      'version: 1', 'machineIds:', '  keyFile: pseudonym.key', 'minBatchSize: 64', 'signals:',
      '  torque:', '    classification: confidential', '    share: true', '    unit: Nm', '    range: { lo: 3, hi: 77 }', '    outOfRange: reject',
      '  operator_badge:', '    classification: secret', '    share: false', '',
    ].join('\n'));
    writeFileSync(path.join(dir, 'signals.json'), JSON.stringify([{ name: 'torque', unit: 'Nm', lo: 0, hi: 70 }, { name: 'spindle_current' }]));
    const run = (...args: string[]) => spawnSync(process.execPath, ['bin/hedge.js', 'edge', 'policy', 'explain', ...args], { cwd: root, encoding: 'utf8' });
    const r = run('--policy', path.join(dir, 'policy.yaml'), '--signals', path.join(dir, 'signals.json'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^machine ids: leave only as pseudonyms/);
    assert.match(r.stdout, /batches: at least 64 records/);
    assert.match(r.stdout, /LEAVES\n  torque \[confidential\]: values as features, sample rejected outside \[3, 77\] Nm\n    note: the policy's range \[3, 77\] reaches beyond the source's EU range \[0, 70\]/);
    assert.match(r.stdout, /STAYS\n  operator_badge \[secret\]: share is false/);
    assert.match(r.stdout, /spindle_current: not declared in the policy/);
    const start = spawnSync(process.execPath, ['bin/hedge.js', 'edge', 'start', '--config', path.join(dir, 'policy.yaml')], { cwd: root, encoding: 'utf8' });
    assert.equal(start.status, 1, 'hedge edge start with a file that is not a gateway config');
    assert.match(start.stderr, /^error EDGE_ERR_CONFIG_INVALID: cannot load gateway config: machineIds is not a known field .*\(policy\.yaml line 2\)/);
    writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nsigals: {}\n');
    const bad = run('--policy', path.join(dir, 'bad.yaml'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error EDGE_ERR_POLICY_INVALID: cannot load policy: .*bad\.yaml line 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
