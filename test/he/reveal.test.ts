/**
 * Reveals: packing with the exactness bound, flooding refused when the noise
 * budget cannot carry it, and single-use shares through the ledger.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { federation, engineFor } from './fixture.ts';
import { encryptBatch, exactnessBound, assertExact } from '../../src/he/packing.ts';
import { planFlooding } from '../../src/he/mhe/flooding.ts';
import { KeySwitchProtocol } from '../../src/he/mhe/key-switch.ts';
import { ShareLedger, MemoryLedgerStore } from '../../src/he/mhe/ledger.ts';
import { HeError } from '../../src/he/errors.ts';

const isHe = (code: string) => (e: unknown): boolean => e instanceof HeError && e.code === code;

describe('packing', () => {
  test('the exactness bound of the aggregation preset is ~2 M records and is enforced', async () => {
    const e = await engineFor('BGV_AGG_8192');
    const bound = exactnessBound(e.params, e.plainModulus, 2);
    assert.equal(BigInt(bound) * 2n ** 28n <= (e.plainModulus - 1n) / 2n, true);
    assert.equal(BigInt(bound + 1) * 2n ** 28n > (e.plainModulus - 1n) / 2n, true);
    assert.ok(bound > 1_000_000);
    assertExact(e.params, e.plainModulus, bound);
    assert.throws(() => assertExact(e.params, e.plainModulus, bound + 1), isHe('HE_ERR_EXACTNESS'));
  });

  test('a batch is column-major, padded with zeros, hashed, and sums exactly', async () => {
    const f = await federation('TEST_INSECURE_BGV_2048', 3);
    const e = f.engine;
    const records = 1000;
    const cols = [0, 1].map(() => Int32Array.from({ length: records }, () => Math.round((Math.random() * 2 - 1) * 2 ** 14)));
    const batch = encryptBatch(e, f.pk, cols);
    assert.equal(batch.recordCount, records);
    assert.match(batch.contentHash, /^[0-9a-f]{64}$/);
    for (const [c, ct] of batch.columns.entries()) {
      using pt = e.decrypt(ct, f.ideal);
      const slots = e.decodeIntegers(pt);
      for (let i = 0; i < records; i++) assert.equal(slots[i], BigInt(cols[c][i]));
      for (let i = records; i < e.n; i++) assert.equal(slots[i], 0n, 'padding is zero');
    }
    const again = encryptBatch(e, f.pk, cols);
    assert.notEqual(again.contentHash, batch.contentHash, 'fresh randomness, new content hash');
    assert.throws(() => encryptBatch(e, f.pk, [cols[0], cols[1].subarray(1)]), isHe('HE_ERR_ENCODE'));
    assert.throws(() => encryptBatch(e, f.pk, [Int32Array.of(2 ** 14 + 1)]), isHe('HE_ERR_ENCODE'));
    for (const b of [batch, again]) for (const ct of b.columns) ct[Symbol.dispose]();
  });
});

describe('flooding', () => {
  test('a reveal whose noise budget cannot carry 30 bits of flooding is refused', async () => {
    const e = await engineFor('BGV_AGG_8192');
    const ok = planFlooding(e, { k: 3, noiseBits: 140, parties: 3 });
    assert.ok(ok.statisticalBits >= 30);
    assert.throws(() => planFlooding(e, { k: 3, noiseBits: 150, parties: 3 }), isHe('HE_ERR_FLOODING_BUDGET'));
    assert.throws(() => planFlooding(e, { k: 1, noiseBits: 80, parties: 3 }), isHe('HE_ERR_FLOODING_BUDGET'));
    assert.throws(() => planFlooding(e, { k: 3, noiseBits: 100, parties: 3, securityBits: 20 }), RangeError);
    const ckks = await engineFor('CKKS_8192');
    const plan = planFlooding(ckks, { k: 2, noiseBits: 10, parties: 3 });
    assert.equal(plan.floodBits, 40);
    assert.ok(plan.precisionBits! < 1, 'CKKS at Δ = 2^40 keeps almost no precision under 30 bits of flooding');
  });

  test('flooding that exceeds the budget would corrupt every slot silently — which is why the plan refuses it', async () => {
    const f = await federation('TEST_INSECURE_BGV_2048', 3);
    const e = f.engine;
    const vals = BigInt64Array.from({ length: e.n }, (_, i) => BigInt(i));
    using ct = e.encrypt(e.encodeIntegers(vals), f.pk);
    const ks = new KeySwitchProtocol(e);
    const tooMuch = { floodBits: 135, statisticalBits: 0 }; // t·2^135·3 > Q/2 = 2^179
    using sw = ks.keySwitch(ct, ks.aggregateShares(f.parties.map((p) => ks.genShare(p, ct, tooMuch))));
    using pt = ks.decrypt(sw);
    const hits = e.decodeIntegers(pt).filter((v, i) => v === vals[i]).length;
    assert.ok(hits < 8, `${hits} slots survived`);
  });
});

describe('single-use shares', () => {
  test('a repeated request gets the stored share; a new input gets a new one', async () => {
    const f = await federation('TEST_INSECURE_BGV_2048', 3);
    const e = f.engine;
    using ct = e.encrypt(e.encodeIntegers(new BigInt64Array(4)), f.pk);
    const ks = new KeySwitchProtocol(e);
    const store = new MemoryLedgerStore();
    const ledger = new ShareLedger(store);
    const plan = planFlooding(e, { k: 3, noiseBits: 70, parties: 3 });
    let made = 0;
    const make = (): Uint8Array => {
      made++;
      return new Uint8Array(ks.genShare(f.parties[0], ct, plan).h.data.buffer.slice(0));
    };
    const input = e.save(ct);
    const a = ledger.issue('decrypt', 'job-1', input, make);
    const b = ledger.issue('decrypt', 'job-1', input, make);
    assert.equal(made, 1);
    assert.deepEqual(a, b);
    assert.ok(ledger.has('decrypt', 'job-1', input));
    ledger.issue('decrypt', 'job-2', input, make);
    assert.equal(made, 2);
    assert.equal(store.size, 2);
    // Two fresh shares of the same ciphertext differ (which is what a retry would leak).
    assert.notDeepEqual(make(), make());
    assert.throws(() => ledger.issue('', 'x', input, make), TypeError);
    assert.throws(() => ledger.issue('decrypt', 'x', 'bytes' as unknown as Uint8Array, make), TypeError);
  });
});
