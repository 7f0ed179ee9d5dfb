import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OpcuaConnector, opcuaClientCertificate, trustOpcuaServerCertificate, type OpcuaConnectorOptions } from '../../../src/edge/connectors/opcua.ts';
import { EDGE_ERR, EdgeError } from '../../../src/edge/errors.ts';
import { MILLING_SIGNALS, MillingMachineSim } from '../../../src/edge/sim/milling-machine.ts';
import { Collector } from './_collector.ts';
import { machinesOf, rowIndexOf, someRows } from './_opcua-fixtures.ts';

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-opcua-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const fast = { samplingIntervalMs: 0, publishingIntervalMs: 50, reconnectDelayMs: { initial: 50, max: 200 } } as const;

test('opcua: reads EURange and units, and every sample is one whole AI4I row, rows in order', async (t) => {
  const dir = tempDir(t);
  const rows = await someRows();
  await using sim = await MillingMachineSim.start({ rows, machines: ['mill-1', 'mill-2'], pkiDir: path.join(dir, 'server'), intervalMs: 80 });
  const events = new Collector();
  await using connector = new OpcuaConnector({
    endpointUrl: sim.endpointUrl, pkiDir: path.join(dir, 'client'), machines: machinesOf(sim, ['mill-1', 'mill-2']), onEvent: events.onEvent, ...fast,
  });
  await connector.start();

  const signals = connector.signals();
  assert.equal(signals.length, 12);
  for (const spec of MILLING_SIGNALS) {
    const info = signals.find((s) => s.machineId === 'mill-2' && s.name === spec.signal)!;
    assert.equal(info.nodeId, `ns=1;s=mill-2.${spec.browseName}`);
    assert.equal(info.unit, spec.unit, `${spec.signal} unit`);
    assert.equal(info.lo, spec.range?.lo, `${spec.signal} EURange low`);
    assert.equal(info.hi, spec.range?.hi, `${spec.signal} EURange high`);
  }

  await events.until(() => events.samples('mill-1').length >= 8 && events.samples('mill-2').length >= 8, 10_000, '8 samples per machine');
  for (const machineId of ['mill-1', 'mill-2']) {
    const samples = events.samples(machineId);
    const first = rowIndexOf(rows, samples[0].values);
    assert.ok(first >= 0, `${machineId}: the first sample is an AI4I row`);
    samples.forEach((s, k) => {
      assert.deepEqual(s.values, Object.fromEntries(MILLING_SIGNALS.map((sig) => [sig.signal, rows[(first + k) % rows.length][sig.signal]])),
        `${machineId}: sample ${k} is row ${first + k}, whole`);
      if (k > 0) assert.ok(s.t > samples[k - 1].t, 'one sample per source timestamp, ascending');
    });
  }
  assert.equal(events.gaps().length, 0);
  assert.ok(rowIndexOf(rows, events.samples('mill-2')[0].values) >= 150, 'mill-2 starts half-way through the rows');
  const c = connector.counters();
  assert.equal(c.samples, events.samples().length);
  assert.equal(c.badValues + c.nonNumeric + c.gaps + c.deliveryFailures + c.connectionLosses, 0);
});

test('opcua: the server restarts → a gap stamped at the last sample, then samples of the new server', async (t) => {
  const dir = tempDir(t);
  const rows = await someRows();
  const pki = path.join(dir, 'server');
  let sim = await MillingMachineSim.start({ rows, pkiDir: pki, intervalMs: 80 });
  t.after(() => sim.stop());
  const events = new Collector();
  await using connector = new OpcuaConnector({
    endpointUrl: sim.endpointUrl, pkiDir: path.join(dir, 'client'), machines: machinesOf(sim, ['mill-1']), onEvent: events.onEvent, ...fast,
  });
  await connector.start();
  await events.until(() => events.samples().length >= 5, 10_000, '5 samples before the restart');

  const port = sim.port;
  await sim.stop();
  await events.until(() => events.gaps().length === 1, 10_000, 'a gap after the server stopped');
  const before = events.samples();
  const gap = events.gaps()[0];
  assert.equal(gap.machineId, 'mill-1');
  assert.equal(gap.reason, 'opcua: connection lost');
  assert.equal(gap.t, before.at(-1)!.t, 'the gap is stamped with the last sample before the loss');
  assert.equal(events.events.at(-1), gap, 'nothing after the gap yet');

  sim = await MillingMachineSim.start({ rows, pkiDir: pki, intervalMs: 80, port, startRow: 200 });
  await events.until(() => events.samples().length >= before.length + 5, 20_000, '5 samples after the restart');
  const after = events.samples().slice(before.length);
  assert.ok(rowIndexOf(rows, after[0].values) >= 200, 'samples come from the restarted server');
  assert.ok(after[0].t > gap.t);
  assert.equal(events.gaps().length, 1, 'one loss, one gap (the recreated subscription adds none)');
  const c = connector.counters();
  assert.ok(c.connectionLosses >= 1);
  assert.equal(c.gaps, 1);
});

test('opcua: SignAndEncrypt (Basic256Sha256), each side trusting the other\'s certificate', async (t) => {
  const dir = tempDir(t);
  const rows = await someRows();
  await using sim = await MillingMachineSim.start({ rows, pkiDir: path.join(dir, 'server'), intervalMs: 80, security: 'sign-and-encrypt' });
  const clientPki = path.join(dir, 'client');
  const options = (security: 'none' | 'sign-and-encrypt', events = new Collector()): OpcuaConnectorOptions => ({
    endpointUrl: sim.endpointUrl, pkiDir: clientPki, machines: machinesOf(sim, ['mill-1']), onEvent: events.onEvent,
    security, connectAttempts: 1, ...fast,
  });
  const refused = async (security: 'none' | 'sign-and-encrypt', why: RegExp, message: string): Promise<void> => {
    const connector = new OpcuaConnector(options(security));
    await assert.rejects(connector.start(), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR && why.test(e.message), message);
  };

  await refused('none', /./, 'the server offers no unencrypted endpoint');
  await refused('sign-and-encrypt', /BadCertificateUntrusted/, 'the client refuses a server certificate it does not trust');
  await trustOpcuaServerCertificate(clientPki, sim.certificate());
  await refused('sign-and-encrypt', /./, 'the server refuses a client certificate it does not trust');
  await sim.trustClientCertificate(await opcuaClientCertificate(clientPki));

  const events = new Collector();
  await using connector = new OpcuaConnector(options('sign-and-encrypt', events));
  await connector.start();
  await events.until(() => events.samples().length >= 3, 10_000, '3 samples over SignAndEncrypt');
  assert.ok(rowIndexOf(rows, events.samples()[0].values) >= 0);
  assert.equal(connector.signals().find((s) => s.name === 'torque')!.unit, 'Nm');

  await assert.rejects(trustOpcuaServerCertificate(clientPki, Buffer.from('not a certificate')), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR);
  await assert.rejects(trustOpcuaServerCertificate(clientPki, 'x' as never), TypeError);
});

test('opcua: bad configuration, unknown nodes and unreachable servers are typed errors', async (t) => {
  const dir = tempDir(t);
  const onEvent = (): void => {};
  const base: OpcuaConnectorOptions = {
    endpointUrl: 'opc.tcp://127.0.0.1:4840', pkiDir: dir, onEvent,
    machines: [{ machineId: 'mill-1', signals: [{ name: 'torque', nodeId: 'ns=1;s=mill-1.Torque' }] }],
  };
  const bad: [string, unknown, string][] = [
    ['options', null, 'options must be an object'],
    ['endpointUrl', { ...base, endpointUrl: 'http://x' }, 'options.endpointUrl must start with opc.tcp://'],
    ['machines', { ...base, machines: [] }, 'options.machines must not be empty'],
    ['machineId', { ...base, machines: [{ machineId: '', signals: base.machines[0].signals }] }, 'options.machines[0].machineId must not be empty'],
    ['twice', { ...base, machines: [base.machines[0], base.machines[0]] }, "machine 'mill-1' is configured twice"],
    ['nodeId', { ...base, machines: [{ machineId: 'm', signals: [{ name: 'a', nodeId: 'ns=1;q=&' }] }] }, 'nodeId is not a node id'],
    ['signal twice', { ...base, machines: [{ machineId: 'm', signals: [{ name: 'a', nodeId: 'i=1' }, { name: 'a', nodeId: 'i=2' }] }] }, "signal 'a' of machine 'm' is configured twice"],
    ['security', { ...base, security: 'sign' }, "options.security must be 'none' or 'sign-and-encrypt'"],
    ['queueSize', { ...base, queueSize: 0 }, 'options.queueSize must be an integer in [1, 65535]'],
    ['onEvent', { ...base, onEvent: 'x' }, 'onEvent must be a function'],
  ];
  for (const [what, options, message] of bad) {
    assert.throws(() => new OpcuaConnector(options as OpcuaConnectorOptions), (e: Error & { code?: string }) =>
      (e instanceof TypeError || e instanceof RangeError) && e.message.includes(message) && e.code!.startsWith('EDGE_ERR_'), what);
  }

  const rows = await someRows();
  await using sim = await MillingMachineSim.start({ rows, pkiDir: path.join(dir, 'server'), intervalMs: 1000 });
  const unknown = new OpcuaConnector({ ...base, endpointUrl: sim.endpointUrl, pkiDir: path.join(dir, 'client'), machines: [{ machineId: 'mill-1', signals: [{ name: 'x', nodeId: 'ns=1;s=mill-1.Nope' }] }] });
  await assert.rejects(unknown.start(), (e: EdgeError) => e.code === EDGE_ERR.OPCUA_NODE && e.message.includes('ns=1;s=mill-1.Nope'));
  await assert.rejects(unknown.start(), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR && /stopped/.test(e.message), 'a failed connector cannot be restarted');

  const port = sim.port;
  await sim.stop();
  const unreachable = new OpcuaConnector({ ...base, endpointUrl: `opc.tcp://127.0.0.1:${port}`, pkiDir: path.join(dir, 'client'), connectAttempts: 1 });
  await assert.rejects(unreachable.start(), (e: EdgeError) => e instanceof EdgeError && e.code === EDGE_ERR.CONNECTOR);
  await unreachable.stop();
});

test('opcua: a throwing onEvent loses the sample, reports it, and marks a gap before the next one', async (t) => {
  const dir = tempDir(t);
  const rows = await someRows();
  await using sim = await MillingMachineSim.start({ rows, pkiDir: path.join(dir, 'server'), intervalMs: 80 });
  const events = new Collector();
  const errors: EdgeError[] = [];
  let refuse = 2;
  await using connector = new OpcuaConnector({
    endpointUrl: sim.endpointUrl, pkiDir: path.join(dir, 'client'), machines: machinesOf(sim, ['mill-1']), ...fast,
    onEvent: (e) => {
      if (events.samples().length === 3 && refuse-- > 0) throw new Error('buffer full');
      events.onEvent(e);
    },
    onError: (e) => errors.push(e),
  });
  await connector.start();
  await events.until(() => events.samples().length >= 6, 10_000, '6 samples');
  assert.equal(errors.length, 2);
  assert.ok(errors.every((e) => e.code === EDGE_ERR.CONNECTOR_DELIVERY && e.cause instanceof Error));
  const gapAt = events.events.findIndex((e) => e.kind === 'gap');
  assert.equal(gapAt, 3, 'the gap comes right after the last delivered sample');
  assert.equal(events.events[gapAt].t, events.events[2].t);
  assert.equal(connector.counters().deliveryFailures, 2);
});
