/**
 * Parameters and the SEAL backend: validation, security refusal, typed errors,
 * and deterministic freeing (the WebAssembly heap stays bounded).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createParams, preset, PRESETS, MAX_LOG_QP_128, type ParamsLiteral } from '../../src/he/params.ts';
import { SealEngine } from '../../src/he/backend/seal.ts';
import { HeError } from '../../src/he/errors.ts';
import { engineFor, randomInts } from './fixture.ts';

const isHe = (code: string) => (e: unknown): boolean => e instanceof HeError && e.code === code;

describe('parameters', () => {
  test('every secure preset is within the 128-bit table and frozen', () => {
    for (const [name, lit] of Object.entries(PRESETS)) {
      if (name.startsWith('TEST_INSECURE_')) continue;
      const p = createParams(lit);
      assert.ok(Object.isFrozen(p));
      assert.ok(p.coeffModulusBits.reduce((a, b) => a + b, 0) <= MAX_LOG_QP_128[p.n]);
    }
  });

  test('TEST_INSECURE_* sets are refused without the explicit opt-in', () => {
    assert.throws(() => preset('TEST_INSECURE_BGV_2048'), isHe('HE_ERR_INSECURE_PARAMS'));
    assert.throws(() => createParams(PRESETS.TEST_INSECURE_CKKS_2048), isHe('HE_ERR_INSECURE_PARAMS'));
    assert.equal(preset('TEST_INSECURE_BGV_2048', { allowInsecure: true }).insecure, true);
  });

  test('bad literals are refused with HE_ERR_PARAMS', () => {
    const base = PRESETS.BGV_AGG_8192;
    const bad: ParamsLiteral[] = [
      { ...base, name: 'lower' },
      { ...base, logN: 12.5 },
      { ...base, logN: 9 },
      { ...base, coeffModulusBits: [60] },
      { ...base, coeffModulusBits: [60, 60, 60, 60] }, // 240 > 218
      { ...base, coeffModulusBits: [61, 60, 60, 30] },
      { ...base, plainModulusBits: 16 },
      { ...base, quantBits: 30 },
      { ...base, plainModulusBits: 60, coeffModulusBits: [50, 60, 60, 38] },
      { ...PRESETS.CKKS_8192, scaleBits: 61 },
      { ...PRESETS.CKKS_8192, scaleBits: 60 },
      { ...base, scheme: 'bfv' } as unknown as ParamsLiteral,
    ];
    for (const lit of bad) assert.throws(() => createParams(lit), isHe('HE_ERR_PARAMS'), JSON.stringify(lit));
    assert.throws(() => preset('NO_SUCH_SET'), isHe('HE_ERR_PARAMS'));
    assert.throws(() => createParams(null as unknown as ParamsLiteral), TypeError);
  });

  test("SEAL's own tc128 check backs the table: an insecure modulus under a secure name fails in SEAL too", async () => {
    // Bypass createParams' table to show SEAL would refuse the set as well.
    const forged = Object.freeze({ ...preset('BGV_AGG_8192'), coeffModulusBits: Object.freeze([60, 60, 60, 60]) });
    await assert.rejects(SealEngine.create(forged), (e: unknown) => e instanceof HeError && (e.code === 'HE_ERR_PARAMS' || e.code === 'HE_ERR_SEAL'));
  });
});

describe('SEAL backend', () => {
  test('SEAL exceptions become typed errors', async () => {
    const e = await engineFor('TEST_INSECURE_BGV_2048');
    assert.throws(() => e.load('ciphertext', new Uint8Array(64)), isHe('HE_ERR_SEAL'));
    using ct = e.encrypt(e.encodeIntegers(randomInts(16, 5)), e.publicKeyFor(e.generateSecretKey()));
    const bytes = e.save(ct);
    bytes[200] = 0xff; bytes[201] = 0xff; bytes[202] = 0xff; bytes[203] = 0xff; bytes[204] = 0xff; bytes[205] = 0xff; bytes[206] = 0xff; bytes[207] = 0xff;
    assert.throws(() => e.load('ciphertext', bytes), isHe('HE_ERR_SEAL'));
    assert.throws(() => e.encodeIntegers(new BigInt64Array(e.n + 1)), isHe('HE_ERR_ENCODE'));
    assert.throws(() => e.encodeReals(new Float64Array(4), 2 ** 40), isHe('HE_ERR_MISMATCH'));
  });

  test('a disposed object cannot be used', async () => {
    const e = await engineFor('TEST_INSECURE_BGV_2048');
    const sk = e.generateSecretKey();
    sk[Symbol.dispose]();
    assert.equal(sk.disposed, true);
    assert.throws(() => e.publicKeyFor(sk), isHe('HE_ERR_WIPED'));
    sk[Symbol.dispose](); // idempotent
  });

  test('10,000 encrypt/decrypt cycles leave the WebAssembly heap within 8 MiB of its warm size', async () => {
    const e = await engineFor('TEST_INSECURE_BGV_2048');
    using sk = e.generateSecretKey();
    using pk = e.publicKeyFor(sk);
    const values = randomInts(e.n, 1000);
    const cycle = (): void => {
      using pt = e.encodeIntegers(values);
      using ct = e.encrypt(pt, pk);
      using out = e.decrypt(ct, sk);
      assert.equal(out.disposed, false);
    };
    for (let i = 0; i < 200; i++) cycle();
    const warm = e.heapBytes();
    assert.ok(warm > 0);
    for (let i = 0; i < 10_000; i++) cycle();
    const after = e.heapBytes();
    assert.ok(after - warm <= 8 * 2 ** 20, `heap grew by ${(after - warm) / 2 ** 20} MiB`);
    // The check can fail: leaking one ciphertext per cycle would grow the heap by ~1 GB here.
    using check = e.encrypt(e.encodeIntegers(values), pk);
    assert.ok(e.save(check).length * 10_000 > 8 * 2 ** 20);
  });
});
