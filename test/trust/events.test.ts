/**
 * The event catalogue: every kind round-trips; a bad-input matrix is refused;
 * and a planted secret never reaches the stored bytes — PGlite's files on
 * disk and every row of the PostgreSQL tables are scanned for it.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkEvent, decodeEvent, encodeEvent, EVENT_KINDS, hashPayload, type LogEvent } from '../../src/trust/events.ts';
import { openSql, type SqlClient } from '../../src/trust/storage/sql.ts';
import { TransparencyLog } from '../../src/trust/log/transparency-log.ts';
import { KeyRing } from '../../src/trust/note/key-ring.ts';
import { generateNoteSigner } from '../../src/trust/note/keys.ts';
import { sampleEvent } from './_fixtures.ts';
import { withPostgresDatabase } from './_postgres.ts';

test('every event kind round-trips through its canonical encoding', () => {
  for (const kind of EVENT_KINDS) {
    const e = sampleEvent(kind, 3);
    const bytes = encodeEvent(e);
    assert.deepEqual(decodeEvent(bytes), checkEvent(e));
    // Canonical: sorted keys, so the same event always gives the same bytes.
    const reordered = Object.fromEntries(Object.entries(e).reverse()) as unknown as LogEvent;
    assert.deepEqual(encodeEvent(reordered), bytes);
  }
  const bytes = encodeEvent(sampleEvent('ingest'));
  const spaced = new TextEncoder().encode(new TextDecoder().decode(bytes).replace(':', ': '));
  assert.throws(() => decodeEvent(spaced), { code: 'TRUST_ERR_EVENT_INVALID' });
  assert.throws(() => decodeEvent(new Uint8Array([0xff])), { code: 'TRUST_ERR_EVENT_INVALID' });
});

test('events outside the catalogue are refused (bad-input matrix)', () => {
  const base = sampleEvent('release', 1);
  const cases: [string, unknown][] = [
    ['not an object', 'release'],
    ['unknown kind', { ...base, kind: 'ssh_login' }],
    ['extra field', { ...base, plaintext: 21.5 }],
    ['missing detail', { ...base, details: { model: 'm' } }],
    ['unknown detail', { ...base, details: { ...base.details, temperature: 21.5 } }],
    ['negative count', { ...base, details: { ...base.details, version: -1 } }],
    ['fractional count', { ...base, details: { ...base.details, version: 1.5 } }],
    ['bad enum', { ...sampleEvent('job'), details: { dataset: 'd', state: 'leaked' } }],
    ['bad hash', { ...base, payloadHash: 'ABC' }],
    ['upper-case hash', { ...base, payloadHash: base.payloadHash.toUpperCase() }],
    ['bad time', { ...base, time: '2025-01-01 00:00' }],
    ['impossible time', { ...base, time: '2025-02-30T00:00:00.000Z' }],
    ['space in actor', { ...base, actor: 'alice smith' }],
    ['too long subject', { ...base, subject: 'a-'.repeat(70) }],
    ['key-like subject', { ...base, subject: randomBytes(16).toString('hex') }],
    ['hex-suffixed tenant', { ...base, tenant: `plant-${randomBytes(20).toString('hex')}` }],
    ['base64-like tenant', { ...base, tenant: randomBytes(24).toString('base64').replace(/[+=]/g, 'A') }],
    ['null details', { ...base, details: null }],
  ];
  for (const [name, value] of cases) assert.throws(() => checkEvent(value), { code: 'TRUST_ERR_EVENT_INVALID' }, name);
  assert.throws(() => hashPayload('x' as unknown as Uint8Array), TypeError);
});

/** A secret in three spellings; none may appear in stored bytes. */
function plantSecret(): { secret: Uint8Array; spellings: Buffer[] } {
  const secret = randomBytes(32);
  const text = `SECRET-${secret.toString('hex')}`;
  return {
    secret: new Uint8Array(secret),
    spellings: [secret, Buffer.from(text), Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))],
  };
}

const MARKER = 'visible-marker-subject';

async function writeWithSecret(sql: SqlClient, secret: Uint8Array): Promise<void> {
  const key = generateNoteSigner('log.hedge.example/secrets');
  const log = await TransparencyLog.open({ sql, origin: 'log.hedge.example/secrets', keys: new KeyRing([{ signer: key, notBefore: new Date(0) }]) });
  const hex = Buffer.from(secret).toString('hex');
  // The secret is part of every payload (a key share, a plaintext record); only its hash may be logged.
  const payload = (i: number): Uint8Array => Buffer.concat([Buffer.from(`record ${i} temperature=21.5 share=`), secret]);
  const events = EVENT_KINDS.map((kind, i) => ({ ...sampleEvent(kind, i, payload(i)), subject: i === 0 ? MARKER : `subject-${i}` }));
  await log.append(events);
  // Every attempt to smuggle the secret into a field is refused before anything is written.
  const attempts: unknown[] = [
    { ...events[0], subject: hex },
    { ...events[0], actor: `key:${hex}` },
    { ...events[0], details: { ...events[0].details, ceremony: `c-${hex.slice(0, 40)}` } },
    { ...events[0], secret: hex },
    { ...events[0], payloadHash: hex.slice(0, 63) + 'X' },
  ];
  for (const a of attempts) await assert.rejects(log.append([a as LogEvent]), { code: 'TRUST_ERR_EVENT_INVALID' });
  await log.signCheckpoint();
  assert.equal(log.size, EVENT_KINDS.length);
}

function scan(haystack: Buffer, spellings: Buffer[]): void {
  assert.ok(haystack.includes(Buffer.from(MARKER)), 'positive control: the scan must see logged identifiers');
  for (const s of spellings) assert.equal(haystack.indexOf(s), -1, `secret spelling ${s.toString('hex').slice(0, 16)}… found in storage`);
}

function readTree(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir).map((name) => {
      const p = path.join(dir, name);
      return statSync(p).isDirectory() ? readTree(p) : readFileSync(p);
    }),
  );
}

test('a planted secret never reaches PGlite files on disk', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hedge-trust-secret-'));
  try {
    const { secret, spellings } = plantSecret();
    const sql = await openSql({ databaseUrl: null, dataDir: dir });
    await writeWithSecret(sql, secret);
    await sql.query('CHECKPOINT'); // flush WAL and heap pages
    await sql.close();
    scan(readTree(dir), spellings);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a planted secret never reaches any row of the PostgreSQL tables', async (t: TestContext) => {
  await withPostgresDatabase(t, async (url) => {
    const { secret, spellings } = plantSecret();
    const sql = await openSql({ databaseUrl: url });
    try {
      await writeWithSecret(sql, secret);
      const rows: Buffer[] = [];
      for (const table of ['trust_log', 'trust_log_entry', 'trust_log_node', 'trust_checkpoint']) {
        const r = await sql.query<{ row: string }>(`SELECT t::text AS row FROM ${table} t`);
        rows.push(...r.map((x) => Buffer.from(x.row)));
      }
      for (const table of ['trust_log_entry']) {
        const r = await sql.query<{ data: Uint8Array }>(`SELECT data FROM ${table}`);
        rows.push(...r.map((x) => Buffer.from(x.data)));
      }
      scan(Buffer.concat(rows), spellings);
    } finally {
      await sql.close();
    }
  });
});
