import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connectAsync } from 'mqtt';
import { get } from 'sparkplug-payload';
import { SparkplugHost, type SparkplugHostOptions } from '../../../src/edge/connectors/sparkplug.ts';
import { EDGE_ERR, EdgeError } from '../../../src/edge/errors.ts';
import { Collector, eventually } from './_collector.ts';
import { BROKER, TestEdgeNode, type TestMetric } from './_edge-node.ts';

const codec = get('spBv1.0')!;

/** A group id and host id no other run shares (the broker is shared). */
function unique(): { group: string; hostId: string } {
  const id = randomUUID().slice(0, 8);
  return { group: `hedge-test-${id}`, hostId: `hedge-host-${id}` };
}

const metrics = (): TestMetric[] => [
  { name: 'torque', alias: 1, type: 'Double', value: 40.5 },
  { name: 'spindle_on', alias: 2, type: 'Boolean', value: true },
  { name: 'program', alias: 3, type: 'String', value: 'O1234' },
  { name: 'parts', alias: 4, type: 'Int32', value: 7 },
];

async function startHost(t: { after: (f: () => Promise<void>) => void }, group: string, hostId: string, extra: Partial<SparkplugHostOptions> = {}): Promise<{ host: SparkplugHost; events: Collector; errors: EdgeError[] }> {
  const events = new Collector();
  const errors: EdgeError[] = [];
  const host = new SparkplugHost({ brokerUrl: BROKER, hostId, groups: [group], onEvent: events.onEvent, onError: (e) => errors.push(e), ...extra });
  await host.start();
  t.after(() => host.stop());
  return { host, events, errors };
}

async function startNode(t: { after: (f: () => Promise<void>) => void }, group: string, node = 'edge1', bdSeq = 0): Promise<TestEdgeNode> {
  const n = new TestEdgeNode(group, node, metrics(), bdSeq);
  await n.connect();
  t.after(() => n.close());
  return n;
}

test('sparkplug: NBIRTH / DBIRTH aliases name the metrics of NDATA / DDATA; one sample per message', async (t) => {
  const { group, hostId } = unique();
  const { host, events } = await startHost(t, group, hostId);
  const node = await startNode(t, group);
  await node.dbirth('spindle', [{ name: 'speed', alias: 10, type: 'Double', value: 1500 }]);
  const m = `${group}/edge1`;
  const d = `${group}/edge1/spindle`;
  await events.until(() => events.samples(m).length === 1 && events.samples(d).length === 1, 5000, 'the birth samples');
  assert.deepEqual(events.samples(m)[0].values, { torque: 40.5, spindle_on: 1, parts: 7 }, 'numbers and Booleans; not String, bdSeq or Node Control');
  assert.deepEqual(events.samples(d)[0].values, { speed: 1500 });

  await node.ndata({ 1: 41.25 });
  await node.ddata('spindle', { 10: 1600 });
  await node.ndata({ 2: false, 4: 8 }, { timestamp: 1_700_000_000_000 });
  await events.until(() => events.samples(m).length === 3 && events.samples(d).length === 2, 5000, 'the data samples');
  assert.deepEqual(events.samples(m)[1].values, { torque: 41.25, spindle_on: 1, parts: 7 }, 'alias 1 is torque; the others are held');
  assert.deepEqual(events.samples(m)[2].values, { torque: 41.25, spindle_on: 0, parts: 8 });
  assert.equal(events.samples(m)[2].t, 1_700_000_000_000, 'the metric timestamp is the sample time');
  assert.deepEqual(events.samples(d)[1].values, { speed: 1600 });
  const c = host.counters();
  assert.equal(c.gaps + c.sequenceGaps + c.unknownAliases + c.rebirthRequests + c.decodeErrors, 0);
  assert.equal(c.births, 2);
  assert.ok(c.nonNumeric >= 1, 'the String metric is counted, not delivered');
  assert.equal(node.rebirthRequests.length, 0);
});

test('sparkplug: a lost message (seq jump) → a gap for the node and its devices and a rebirth request; the rebirth resumes data', async (t) => {
  const { group, hostId } = unique();
  const { host, events } = await startHost(t, group, hostId);
  const node = await startNode(t, group);
  await node.dbirth('spindle', [{ name: 'speed', alias: 10, type: 'Double', value: 1500 }]);
  node.answerRebirth = true;
  const m = `${group}/edge1`;
  await node.ndata({ 1: 1 });
  await events.until(() => events.samples(m).length === 2, 5000, 'birth and first data');
  const last = events.samples(m)[1];

  node.skip();
  await node.ndata({ 1: 2 });
  await events.until(() => events.gaps().length === 2, 5000, 'gaps for node and device');
  const gap = events.gaps(m)[0];
  assert.equal(gap.t, last.t, 'stamped with the last sample before the loss');
  assert.match(gap.reason, /^sparkplug: sequence gap \(expected seq 3, got 4\)$/);
  assert.equal(events.gaps(`${group}/edge1/spindle`).length, 1);
  await eventually(() => node.rebirthRequests.length === 1, 5000, 'the NCMD rebirth request');

  // The node answers with NBIRTH + DBIRTH; data after it is in sequence again.
  await events.until(() => events.samples(m).some((s) => s.values.torque === 2) && host.counters().births >= 4, 5000, 'the rebirth');
  await node.ndata({ 1: 3 });
  await events.until(() => events.samples(m).at(-1)!.values.torque === 3, 5000, 'data after the rebirth');
  const c = host.counters();
  assert.equal(c.sequenceGaps, 1);
  assert.equal(c.gaps, 2, 'no further gap: the rebirth was asked for');
  assert.equal(c.rebirthRequests, 1);
});

test('sparkplug: NDEATH (the Will, matching bdSeq) takes the node and its devices offline; stale NDEATH ignored; DDEATH', async (t) => {
  const { group, hostId } = unique();
  const { host, events } = await startHost(t, group, hostId);
  const node = await startNode(t, group, 'edge1', 5);
  await node.dbirth('spindle', [{ name: 'speed', alias: 10, type: 'Double', value: 1500 }]);
  const m = `${group}/edge1`;
  const d = `${group}/edge1/spindle`;
  await events.until(() => events.samples(d).length === 1, 5000, 'births');

  await node.raw('NDEATH', codec.encodePayload({ timestamp: Date.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: 4 }] }));
  await eventually(() => host.counters().staleDeaths === 1, 5000, 'the stale NDEATH');
  assert.equal(events.gaps().length, 0, 'an NDEATH of an earlier session marks nothing');

  node.crash();
  await events.until(() => events.gaps().length === 2, 10_000, 'the Will NDEATH');
  assert.deepEqual(events.gaps().map((g) => [g.machineId, g.reason]).sort(), [[m, 'sparkplug: NDEATH'], [d, 'sparkplug: NDEATH']]);

  const again = await startNode(t, group, 'edge1', 6);
  await events.until(() => events.samples(m).length === 2, 5000, 'the new session\'s NBIRTH');
  await again.dbirth('spindle', [{ name: 'speed', alias: 10, type: 'Double', value: 1700 }]);
  await events.until(() => events.samples(d).length === 2, 5000, 'the new DBIRTH');
  await again.ddeath('spindle');
  await events.until(() => events.gaps(d).length === 2, 5000, 'the DDEATH');
  assert.equal(events.gaps(d)[1].reason, 'sparkplug: DDEATH');
  assert.equal(events.gaps(m).length, 1, 'the new NBIRTH after a death adds no gap');
  assert.equal(host.counters().sequenceGaps, 0);
});

test('sparkplug: data of a node born before the host started, and unknown aliases, ask for a rebirth (rate-limited)', async (t) => {
  const { group, hostId } = unique();
  const node = await startNode(t, group);
  const { host, events } = await startHost(t, group, hostId, { rebirthIntervalMs: 60_000 });
  const m = `${group}/edge1`;
  await node.ndata({ 1: 10 });
  await eventually(() => node.rebirthRequests.length === 1, 5000, 'a rebirth request for the unborn node');
  assert.equal(host.counters().unborn, 1);
  assert.equal(events.events.length, 0, 'nothing is delivered from a node whose aliases are unknown');

  await node.birth();
  await events.until(() => events.samples(m).length === 1, 5000, 'the sample of the requested NBIRTH');
  assert.equal(events.events[0].kind, 'gap', 'the undecodable data before the birth is marked');
  assert.equal(events.events[0].t, events.events[1].t, 'stamped with the first sample (no earlier one exists)');

  await node.ndata({ 99: 1 });
  await node.ndata({ 98: 1, 1: 11 });
  await events.until(() => events.samples(m).some((s) => s.values.torque === 11), 5000, 'the known metric of the second message');
  await eventually(() => node.rebirthRequests.length === 2, 5000, 'a rebirth request for the unknown alias');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(node.rebirthRequests.length, 2, 'one request per node per rebirthIntervalMs');
  const c = host.counters();
  assert.equal(c.unknownAliases, 2);
  assert.equal(events.gaps(m).length, 2);
});

test('sparkplug: STATE (3.0.0): retained online with the Will\'s timestamp, offline with the same timestamp on stop; a foreign offline is corrected', async (t) => {
  const { group, hostId } = unique();
  const topic = `spBv1.0/STATE/${hostId}`;
  const watcher = await connectAsync(BROKER, { clientId: `watch-${hostId}`, clean: true });
  t.after(async () => {
    await watcher.publishAsync(topic, '', { qos: 1, retain: true }); // clear the retained message
    await watcher.endAsync();
  });
  const seen: { online: boolean; timestamp: number }[] = [];
  watcher.on('message', (_topic, payload) => { if (payload.length > 0) seen.push(JSON.parse(payload.toString())); });
  await watcher.subscribeAsync(topic, { qos: 1 });

  const { host } = await startHost(t, group, hostId);
  await eventually(() => seen.length === 1, 5000, 'STATE online');
  assert.equal(seen[0].online, true);
  assert.ok(Math.abs(seen[0].timestamp - Date.now()) < 10_000);

  await watcher.publishAsync(topic, JSON.stringify({ online: false, timestamp: 1 }), { qos: 1, retain: true });
  await eventually(() => seen.length === 3, 5000, 'the host republishing online');
  assert.deepEqual(seen[2], seen[0]);

  await host.stop();
  await eventually(() => seen.length === 4, 5000, 'STATE offline');
  assert.deepEqual(seen[3], { online: false, timestamp: seen[0].timestamp });
});

test('sparkplug: undecodable payloads, missing seq or bdSeq and bad topics are reported, marked and answered with a rebirth', async (t) => {
  const { group, hostId } = unique();
  const { host, events, errors } = await startHost(t, group, hostId, { rebirthIntervalMs: 0 });
  const node = await startNode(t, group);
  const m = `${group}/edge1`;
  await events.until(() => events.samples(m).length === 1, 5000, 'the birth');

  await node.raw('NDATA', Buffer.from('not protobuf at all'));
  await eventually(() => errors.length === 1, 5000, 'a decode error');
  assert.equal(errors[0].code, EDGE_ERR.SPARKPLUG_DECODE);
  assert.match(errors[0].message, /^cannot read Sparkplug message: NDATA of .* is not a Sparkplug B payload$/);
  await events.until(() => events.gaps(m).length === 1, 5000, 'a gap');
  await eventually(() => node.rebirthRequests.length === 1, 5000, 'a rebirth request');

  await node.raw('NDATA', codec.encodePayload({ timestamp: Date.now(), metrics: [{ alias: 1, type: 'Double', value: 3 }] }));
  await eventually(() => errors.length === 2, 5000, 'a missing seq');
  assert.match(errors[1].message, /has no seq in \[0, 255\]/);

  await node.raw('NBIRTH', codec.encodePayload({ timestamp: Date.now(), seq: 0, metrics: [{ name: 'torque', type: 'Double', value: 1 }] }));
  await eventually(() => errors.length === 3, 5000, 'a birth without bdSeq');
  assert.match(errors[2].message, /NBIRTH of .* has no bdSeq metric/);

  const raw = await connectAsync(BROKER, { clientId: `raw-${hostId}`, clean: true });
  t.after(() => raw.endAsync());
  await raw.publishAsync(`spBv1.0/${group}/NDATA`, Buffer.from([1]), { qos: 1 });
  await eventually(() => errors.length === 4, 5000, 'a bad topic');
  assert.match(errors[3].message, /is not spBv1\.0\/<group>\/<type>\/<node>\[\/<device>\]/);
  assert.ok(errors.every((e) => e.code === EDGE_ERR.SPARKPLUG_DECODE));
  assert.equal(host.counters().decodeErrors, 4);
});

test('sparkplug: bad options are typed errors; an unreachable broker fails start', async () => {
  const onEvent = (): void => {};
  const base: SparkplugHostOptions = { brokerUrl: BROKER, hostId: 'h', onEvent };
  const bad: [string, unknown, string][] = [
    ['options', 'x', 'options must be an object'],
    ['brokerUrl', { ...base, brokerUrl: 'http://x' }, 'options.brokerUrl must be mqtt://host'],
    ['hostId', { ...base, hostId: 'a/b' }, "options.hostId must not contain '/', '+' or '#'"],
    ['hostId type', { ...base, hostId: 3 }, 'options.hostId must be a string'],
    ['groups', { ...base, groups: [] }, 'options.groups must not be empty'],
    ['group', { ...base, groups: ['#'] }, "options.groups[0] must not contain"],
    ['machineId', { ...base, machineId: 'x' }, 'options.machineId must be a function'],
    ['rebirthIntervalMs', { ...base, rebirthIntervalMs: -1 }, 'options.rebirthIntervalMs must be an integer'],
    ['onEvent', { ...base, onEvent: undefined }, 'onEvent must be a function'],
  ];
  for (const [what, options, message] of bad) {
    assert.throws(() => new SparkplugHost(options as SparkplugHostOptions), (e: Error & { code?: string }) =>
      (e instanceof TypeError || e instanceof RangeError) && e.message.includes(message) && e.code!.startsWith('EDGE_ERR_'), what);
  }
  const host = new SparkplugHost({ ...base, brokerUrl: 'mqtt://127.0.0.1:1', connectTimeoutMs: 300 });
  await assert.rejects(host.start(), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR && /cannot start Sparkplug host/.test(e.message));
  await assert.rejects(host.start(), (e: EdgeError) => e.code === EDGE_ERR.CONNECTOR && /stopped/.test(e.message));
});
