/**
 * Child process of gateway-crash.test.ts: a gateway that ingests rows, seals batches and uploads
 * them over HTTP until it is killed. It reports on stdout (synchronous for pipes on Linux):
 *   `ready`         opened (and recovered) the record buffer and the outbox
 *   `A <n>`         rows 0 … n−1 are durably in the record buffer
 *   `E`             about to seal (a full batch is waiting) · `S <seq> <records>` a batch is in the outbox
 *   `P <seq>`       an upload is in flight · `R <seq> <status>` the cloud answered
 *   `DONE <n>`      (finish mode) everything ingested is uploaded; n rows in all
 * Usage: node gateway-crash-child.ts <dir> <url> <run | finish>
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATASET, PLANT, PRESET, SCHEMA, TOKEN, rawRow } from './_gateway.ts';
import { POLICY_YAML } from './_fixtures.ts';
import { engineFor } from '../he/fixture.ts';
import { PublicKeyCodec } from '../../src/he/wire.ts';
import { Gateway } from '../../src/edge/gateway.ts';
import { Outbox } from '../../src/edge/outbox.ts';
import { Uploader, type BatchSink } from '../../src/edge/uploader.ts';
import { HttpSink } from '../../src/edge/sinks/http.ts';
import { applyPolicy, parsePolicy, PseudonymKey } from '../../src/edge/policy.ts';

const BATCH = 200;
const [dir, url, mode] = process.argv.slice(2);
const say = (line: string): void => { process.stdout.write(`${line}\n`); };
const engine = await engineFor(PRESET);
const publicKey = PublicKeyCodec.fromBytes(engine, readFileSync(path.join(dir, 'pk.bin')));
const policy = parsePolicy(POLICY_YAML);
const key = PseudonymKey.fromBytes(Buffer.alloc(32, 9));
const outbox = Outbox.open({ path: path.join(dir, 'outbox.db') });
const gw = Gateway.open({
  recordsPath: path.join(dir, 'records.db'), outbox, engine, publicKey, schema: SCHEMA, dataset: DATASET, plant: PLANT, policy,
  source: { kind: 'samples' }, batchSize: BATCH,
});
const http = new HttpSink({ url, token: TOKEN, timeoutMs: 10_000 });
const sink: BatchSink = {
  upload: async (dataset, plant, bytes, options) => {
    say('P');
    const status = await http.upload(dataset, plant, bytes, options);
    say(`R ${status}`);
    return status;
  },
};
const uploader = new Uploader({ outbox, sink, backoff: { initialMs: 10, maxMs: 50 } });
uploader.start();
say('ready');

const add = (from: number, count: number): void => {
  gw.add(applyPolicy(policy, key, Array.from({ length: count }, (_, i) => rawRow(from + i))).events);
  say(`A ${from + count}`);
};

if (mode === 'finish') {
  for (const b of gw.seal({ force: true })) say(`S ${b.seq} ${b.records}`);
  // What is left is below minBatchSize and may not leave: top it up to a batch.
  const waiting = gw.metrics().waitingRecords;
  if (waiting > 0) add(gw.metrics().storedTotal, policy.minBatchSize - waiting);
  for (const b of gw.seal({ force: true })) say(`S ${b.seq} ${b.records}`);
  uploader.kick();
  await uploader.idle();
  await uploader.stop();
  say(`DONE ${gw.metrics().storedTotal}`);
  gw.close();
  outbox.close();
} else {
  for (;;) {
    const next = gw.metrics().storedTotal;
    add(next, 1 + (next % 37));
    if (gw.metrics().waitingRecords >= BATCH) {
      say('E');
      for (const b of gw.seal()) say(`S ${b.seq} ${b.records}`);
    }
    uploader.kick();
    await new Promise((r) => setTimeout(r, 2));
  }
}
