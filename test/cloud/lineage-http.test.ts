/**
 * The OpenLineage HTTP sink against a real HTTP server: an event arrives as the JSON it was, at
 * `/api/v1/lineage`, with the API key as a bearer token; an error status, a timeout or a closed
 * port rejects (so JobLineage keeps the event pending); malformed options are TypeErrors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jobRunEvent } from '../../src/cloud/lineage.ts';
import { openLineageHttpSink } from '../../src/cloud/lineage-http.ts';

function event() {
  const batches = [0, 1, 2].map((i) => ({ plant: `plant-${i}`, batchId: `b-${i}`, contentHash: String(i).repeat(64), recordCount: 100 }));
  const job = {
    id: 'job-x', federation: 'fed', dataset: 'ds', requestedBy: 'builder', state: 'running', progress: { done: 0, total: 3 },
    plan: { spec: { features: ['a'], label: false }, batches, excluded: [], plants: ['plant-0', 'plant-1', 'plant-2'], records: 300 },
    approvals: [], shares: [], deadline: new Date(0).toISOString(),
  } as unknown as Parameters<typeof jobRunEvent>[0];
  return jobRunEvent(job, 'START', { time: new Date('2026-01-01T00:00:00Z') });
}

async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

test('lineage HTTP sink: POSTs the event as JSON to /api/v1/lineage with the API key', async () => {
  const got: { method?: string; url?: string; auth?: string; type?: string; body: unknown }[] = [];
  const backend = await serve((req, body, res) => {
    got.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(body) });
    res.writeHead(201).end();
  });
  try {
    const e = event();
    await openLineageHttpSink({ url: `${backend.url}/marquez/`, apiKey: 'k-1' })(e);
    assert.deepEqual(got, [{ method: 'POST', url: '/marquez/api/v1/lineage', auth: 'Bearer k-1', type: 'application/json', body: JSON.parse(JSON.stringify(e)) }]);
    await openLineageHttpSink({ url: backend.url, endpoint: '/events' })(e);
    assert.equal(got[1].url, '/events');
    assert.equal(got[1].auth, undefined, 'no key, no header');
  } finally {
    await backend.close();
  }
});

test('lineage HTTP sink: an error status, a timeout and a closed port reject', async () => {
  const backend = await serve((req, _body, res) => {
    if (req.url === '/slow/api/v1/lineage') return; // never answers
    res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
  });
  try {
    await assert.rejects(openLineageHttpSink({ url: backend.url })(event()), /HTTP 503: maintenance/);
    await assert.rejects(openLineageHttpSink({ url: `${backend.url}/slow`, timeoutMs: 200 })(event()), (e: Error) => e.name === 'TimeoutError');
  } finally {
    await backend.close();
  }
  await assert.rejects(openLineageHttpSink({ url: backend.url })(event()), TypeError, 'connection refused');
});

test('lineage HTTP sink: malformed options are TypeErrors', () => {
  assert.throws(() => openLineageHttpSink({ url: 'not a url' }), TypeError);
  assert.throws(() => openLineageHttpSink({ url: 'ftp://lineage.example' }), TypeError);
  assert.throws(() => openLineageHttpSink({ url: 'http://lineage.example', endpoint: 'api' }), TypeError);
  assert.throws(() => openLineageHttpSink({ url: 'http://lineage.example', timeoutMs: 0 }), TypeError);
});
