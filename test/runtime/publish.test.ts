/**
 * Publishing inside the plant: decisions of an activated model on the real Mosquitto broker
 * (127.0.0.1:1883, a topic prefix of its own) and on the local HTTP endpoint; bad requests get
 * typed 4xx answers, never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createControls } from '../../src/runtime/controls.ts';
import { loadModel } from '../../src/runtime/load.ts';
import { ModelSlots } from '../../src/runtime/activation.ts';
import { DecisionPublisher, publishedDecision, startInferenceEndpoint, type PublishedDecision } from '../../src/runtime/publish.ts';
import { cases, jsonBytes, metaFor } from './fixtures.ts';

const BROKER = 'mqtt://127.0.0.1:1883';

test('decisions go to MQTT and the local endpoint; bad requests are refused with codes', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hedge-publish-'));
  const lda = cases.find((c) => c.name === 'lda')!;
  const model = await loadModel(jsonBytes(lda.model, metaFor('failure', 1)));
  const slots = await ModelSlots.open({ historyPath: path.join(dir, 'failure.json'), modelId: 'failure' });
  await slots.stage(createControls(model, lda.moments, { fallback: lda.fallback }));
  await slots.activate({ actor: 'test', reason: 'publish test' });

  const prefix = `hedge-test/${randomBytes(6).toString('hex')}`;
  let sub: mqtt.MqttClient;
  try {
    sub = await mqtt.connectAsync(BROKER, { connectTimeout: 3000, reconnectPeriod: 0 });
  } catch (e) {
    t.skip(`Mosquitto unreachable at ${BROKER}: ${(e as Error).message}`);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const received: PublishedDecision[] = [];
  await sub.subscribeAsync(`${prefix}/#`, { qos: 1 });
  sub.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString()) as PublishedDecision));
  const publisher = await DecisionPublisher.connect({ url: BROKER, prefix });
  const endpoint = await startInferenceEndpoint({ models: new Map([['failure', slots]]), onDecision: (d) => publisher.publish(d) });
  try {
    // A live record: decided, published, remembered.
    const live = publishedDecision(slots, 'mill-7', new Date(), await slots.predict(lda.rows[0]));
    await publisher.publish(live);
    endpoint.remember(live);
    // Through the endpoint: an in-envelope record and one far outside (abstains, the fallback answers).
    const ok = await fetch(`${endpoint.url}/v1/models/failure/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record: lda.rows[1], machine: 'mill-8' }) });
    assert.equal(ok.status, 200);
    const okBody = await ok.json() as PublishedDecision;
    assert.equal(okBody.source, 'model');
    assert.equal(okBody.version, 1);
    const far = await (await fetch(`${endpoint.url}/v1/models/failure/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record: [400, 400, 9000, 500, 900] }) })).json() as PublishedDecision;
    assert.equal(far.abstained, true);
    assert.ok(far.reasons.includes('out_of_range'));
    assert.notEqual(far.source, 'model');

    const deadline = Date.now() + 5000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(received.length, 3);
    assert.deepEqual(received.map((d) => d.machine).sort(), ['endpoint', 'mill-7', 'mill-8']);
    const state = await (await fetch(`${endpoint.url}/v1/models`)).json() as { model: string; activeVersion: number; counts: { records: number; abstained: number } }[];
    assert.deepEqual(state.map((s) => [s.model, s.activeVersion]), [['failure', 1]]);
    assert.equal(state[0].counts.records, 3);
    assert.equal(state[0].counts.abstained, 1);
    assert.equal((await (await fetch(`${endpoint.url}/v1/models/failure/decisions`)).json() as unknown[]).length, 3);

    // Bad requests: typed codes, never a 500.
    const post = (model: string, body: string, type = 'application/json') => endpoint.app.inject({ method: 'POST', url: `/v1/models/${model}/predict`, headers: { 'content-type': type }, payload: body });
    for (const [res, status, code] of [
      [await post('failure', '{"record": "x"}'), 400, 'RUNTIME_ERR_OUT_OF_RANGE'],
      [await post('failure', '{"record": [1, 2]}'), 400, 'RUNTIME_ERR_OUT_OF_RANGE'],
      [await post('failure', '{not json'), 400, 'RUNTIME_ERR_ENDPOINT'],
      [await post('failure', 'a=1', 'application/x-www-form-urlencoded'), 415, 'RUNTIME_ERR_ENDPOINT'],
      [await post('nope', '{"record": [1]}'), 409, 'RUNTIME_ERR_NO_ACTIVE_MODEL'],
      [await endpoint.app.inject({ method: 'GET', url: '/v1/elsewhere' }), 404, 'RUNTIME_ERR_ENDPOINT'],
    ] as const) {
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().code, code, res.body);
    }
  } finally {
    await endpoint.close();
    await publisher.close();
    await sub.endAsync();
    await model.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
