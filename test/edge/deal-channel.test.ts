/**
 * The private channel of a t-of-n deal: a sealed share opens only with the receiver's key and
 * only in its own context (federation, ceremony, sender, receiver, point); sealing is
 * deterministic (a retried deal re-sends identical bytes); tampering fails with a typed error;
 * the bundle format round-trips byte for byte and refuses malformed bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dealPublicKey, generateDealKey, openDealShare, sealDealShare, type DealContext } from '../../src/edge/deal-channel.ts';
import { EdgeError, EdgeRangeError, EdgeTypeError } from '../../src/edge/errors.ts';
import { DealBundleCodec, type SealedShare } from '../../src/wire/deal.ts';

const isChannel = (e: unknown): boolean => e instanceof EdgeError && e.code === 'EDGE_ERR_DEAL_CHANNEL';
const ctx: DealContext = { federation: 'mills', ceremony: 'mills', from: 'plant-a', to: 'plant-b', point: 2 };
const share = new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff));

test('a sealed share opens with the receiver key only, and sealing is deterministic', () => {
  const a = generateDealKey();
  const b = generateDealKey();
  const c = generateDealKey();
  assert.deepEqual(dealPublicKey(a.privateKey), a.publicKey);
  const sealed = sealDealShare(ctx, a.privateKey, b.publicKey, share);
  assert.deepEqual(sealDealShare(ctx, a.privateKey, b.publicKey, share), sealed, 'the same share seals to the same bytes');
  assert.notDeepEqual(sealed.ciphertext.subarray(0, share.length), share, 'the ciphertext is not the plaintext');
  assert.equal(Buffer.from(sealed.ciphertext).indexOf(Buffer.from(share.subarray(0, 16))), -1);
  assert.deepEqual(openDealShare(ctx, b.privateKey, a.publicKey, sealed), share);

  // Another share under the same context gets another nonce (synthetic IV: no nonce reuse).
  const other = sealDealShare(ctx, a.privateKey, b.publicKey, share.map((x) => x ^ 1));
  assert.notDeepEqual(other.nonce, sealed.nonce);

  // Wrong keys: a third key holder, the sender's own key, a wrong sender public key.
  assert.throws(() => openDealShare(ctx, c.privateKey, a.publicKey, sealed), isChannel);
  assert.throws(() => openDealShare(ctx, a.privateKey, a.publicKey, sealed), isChannel);
  assert.throws(() => openDealShare(ctx, b.privateKey, c.publicKey, sealed), isChannel);
  for (const k of [a, b, c]) { k.privateKey.fill(0); }
});

test('a sealed share moved to another context or altered fails with EDGE_ERR_DEAL_CHANNEL', () => {
  const a = generateDealKey();
  const b = generateDealKey();
  const sealed = sealDealShare(ctx, a.privateKey, b.publicKey, share);
  // Every field of the AAD: the envelope is re-labelled too, so only the AAD check can catch it.
  for (const change of [{ federation: 'other' }, { ceremony: 'other' }, { from: 'plant-c' }, { point: 3 }] as Partial<DealContext>[]) {
    const moved = { ...ctx, ...change };
    assert.throws(() => openDealShare(moved, b.privateKey, a.publicKey, { ...sealed, from: moved.from, to: moved.to, point: moved.point }), isChannel, JSON.stringify(change));
  }
  // An envelope that disagrees with what the receiver expects.
  assert.throws(() => openDealShare(ctx, b.privateKey, a.publicKey, { ...sealed, point: 3 }), isChannel);
  // Flipped bits anywhere: ciphertext, tag, nonce.
  for (const at of [0, 150, sealed.ciphertext.length - 1]) {
    const ct = sealed.ciphertext.slice();
    ct[at] ^= 0x40;
    assert.throws(() => openDealShare(ctx, b.privateKey, a.publicKey, { ...sealed, ciphertext: ct }), isChannel, `byte ${at}`);
  }
  const nonce = sealed.nonce.slice();
  nonce[0] ^= 1;
  assert.throws(() => openDealShare(ctx, b.privateKey, a.publicKey, { ...sealed, nonce }), isChannel);
  // A low-order public key.
  assert.throws(() => sealDealShare(ctx, a.privateKey, new Uint8Array(32), share), isChannel);
});

test('bad arguments are typed errors', () => {
  const a = generateDealKey();
  const b = generateDealKey();
  assert.throws(() => sealDealShare(ctx, new Uint8Array(31), b.publicKey, share), EdgeRangeError);
  assert.throws(() => sealDealShare(ctx, a.privateKey, 'key' as never, share), EdgeTypeError);
  assert.throws(() => sealDealShare(ctx, a.privateKey, b.publicKey, new Uint8Array(0)), EdgeTypeError);
  assert.throws(() => sealDealShare({ ...ctx, to: 'plant-a' }, a.privateKey, b.publicKey, share), EdgeRangeError);
  assert.throws(() => sealDealShare({ ...ctx, point: 0 }, a.privateKey, b.publicKey, share), EdgeRangeError);
  assert.throws(() => sealDealShare({ ...ctx, from: 'Plant A' }, a.privateKey, b.publicKey, share), EdgeRangeError);
  assert.throws(() => sealDealShare(null as never, a.privateKey, b.publicKey, share), EdgeTypeError);
  assert.throws(() => openDealShare(ctx, b.privateKey, a.publicKey, { ...sealDealShare(ctx, a.privateKey, b.publicKey, share), nonce: new Uint8Array(5) }), EdgeRangeError);
});

test('DealBundleCodec round-trips and refuses malformed bytes', () => {
  const a = generateDealKey();
  const keys = [generateDealKey(), generateDealKey()];
  const bundle: SealedShare[] = ['plant-b', 'builder'].map((to, i) => sealDealShare({ ...ctx, to, point: i + 2 }, a.privateKey, keys[i].publicKey, share));
  const bytes = DealBundleCodec.toBytes(bundle);
  const back = DealBundleCodec.fromBytes(bytes);
  assert.deepEqual(back, bundle);
  assert.deepEqual(DealBundleCodec.toBytes(back), bytes, 'decode-encode is byte-identical');
  assert.deepEqual(DealBundleCodec.fromBytes(DealBundleCodec.toBytes([])), []);
  for (let cut = 0; cut < bytes.length; cut += 97) assert.throws(() => DealBundleCodec.fromBytes(bytes.subarray(0, cut)), RangeError, `cut at ${cut}`);
  assert.throws(() => DealBundleCodec.fromBytes(new Uint8Array([...bytes, 0])), RangeError, 'trailing byte');
  const badMagic = bytes.slice();
  badMagic[0] = 0;
  assert.throws(() => DealBundleCodec.fromBytes(badMagic), RangeError);
  const badId = bytes.slice();
  badId[7] = 'A'.charCodeAt(0); // first letter of the first sender
  assert.throws(() => DealBundleCodec.fromBytes(badId), RangeError);
  assert.throws(() => DealBundleCodec.fromBytes('x' as never), TypeError);
  assert.throws(() => DealBundleCodec.toBytes([{ ...bundle[0], to: bundle[0].from }]), RangeError);
  assert.throws(() => DealBundleCodec.toBytes([{ ...bundle[0], nonce: new Uint8Array(3) }]), RangeError);
  assert.throws(() => DealBundleCodec.toBytes('x' as never), TypeError);
});
