/**
 * The only module that imports node-seal (Microsoft SEAL 4.1 compiled to
 * WebAssembly). It owns the one initialisation, every SEAL object's lifetime,
 * and the translation of SEAL's C++ exceptions into {@link HeError}s.
 *
 * Above this file code sees:
 * - {@link SealObject}s — opaque, disposable handles (`using ct = …`), each
 *   freed exactly once, whose bytes can be taken with {@link SealEngine.save};
 * - {@link Poly}s — RNS polynomials as plain `BigUint64Array`s, on which the
 *   engine does ring arithmetic with SEAL's own evaluator (faster than BigInt
 *   and bit-identical) through an auxiliary arithmetic context.
 *
 * node-seal's "allows" build is used: it lets SEAL return transparent
 * ciphertexts, which the arithmetic context needs (a zero polynomial is a
 * legitimate ring element). A transparent result in the main context can only
 * come from public operands (a product with a zero plaintext), so it carries no
 * secret; decryption shares of it are flooding noise alone.
 *
 * The auxiliary context has the main context's primes q₀…q_{L−1}, P plus one
 * extra prime, so its first data level equals the main key level: ring
 * products at the key level (which SEAL refuses on key data) and at every data
 * level are plain `multiplyPlain` calls there. It is an arithmetic engine only;
 * nothing is ever encrypted under it.
 */
import { readFile } from 'node:fs/promises';
import SEAL from 'node-seal/allows';
import type * as S from 'node-seal/allows';
import { HeError, HeErrorCode } from '../errors.ts';
import type { HeParams } from '../params.ts';
import {
  readCiphertext, readKSwitchKeys, readPlaintext, writeCiphertext, writeKSwitchKeys, writePlaintext,
  type CiphertextLayout, type KSwitchLayout,
} from './layout.ts';

let modulePromise: Promise<S.MainModule> | undefined;
/** The module's linear memory, captured at instantiation (node-seal does not export it). */
let memory: { buffer: ArrayBuffer } | undefined;

/** The slice of the WebAssembly JS API used here (the project's lib settings carry no DOM types). */
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> }; module: unknown }>;
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Instantiates SEAL's WebAssembly ourselves so that its memory can be measured. */
function instantiateWasm(imports: object, receive: (instance: unknown, module: unknown) => void): object {
  const url = new URL('seal_allows.wasm', import.meta.resolve('node-seal/allows'));
  void readFile(url)
    .then((bytes) => Wasm.instantiate(bytes, imports))
    .then(({ instance, module }) => {
      memory = Object.values(instance.exports).find((x): x is { buffer: ArrayBuffer } => x instanceof Wasm.Memory);
      receive(instance, module);
    });
  return {};
}

/**
 * Loads node-seal once per thread.
 *
 * @throws {HeError} `HE_ERR_SEAL_LOAD` when the runtime cannot instantiate the
 *   WebAssembly module (Node without WebAssembly exception handling).
 */
export function loadSeal(): Promise<S.MainModule> {
  modulePromise ??= SEAL({ instantiateWasm }).catch((cause: unknown) => {
    modulePromise = undefined;
    throw new HeError(HeErrorCode.SEAL_LOAD, `cannot load node-seal: ${String(cause)} (Node ≥ 22.12 with WebAssembly exception handling is required; run through npm/npx so the pinned Node is used)`, { cause });
  });
  return modulePromise;
}

/** Translates SEAL's WebAssembly exceptions (message `[type, what]`) into HeErrors. */
function sealCall<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof HeError) throw cause;
    const message = (cause as { message?: unknown })?.message;
    const what = Array.isArray(message) ? message.join(': ') : String(message ?? cause);
    throw new HeError(HeErrorCode.SEAL, `cannot ${op}: SEAL says ${what}`, { cause });
  }
}

/**
 * Creates a SEAL output object, lets `fill` write into it, and wraps it; on
 * failure the object is freed and the SEAL exception translated.
 */
function produce<K extends 'plaintext' | 'ciphertext', H extends S.ClassHandle>(kind: K, op: string, create: () => H, fill: (out: H) => void): SealObject<K> {
  return sealCall(op, () => {
    const out = create();
    try {
      fill(out);
    } catch (e) {
      out.delete();
      throw e;
    }
    return new SealObject(kind, out);
  });
}

/** Kinds of SEAL object handed out by the engine. */
export type SealKind = 'ciphertext' | 'plaintext' | 'publicKey' | 'secretKey' | 'relinKeys' | 'galoisKeys';

const handles = new WeakMap<SealObject<SealKind>, S.ClassHandle>();

/**
 * An owned SEAL object. Dispose it (`using x = …` or `x[Symbol.dispose]()`)
 * when done; SEAL's WebAssembly heap is never garbage-collected.
 */
export class SealObject<K extends SealKind> implements Disposable {
  readonly kind: K;
  constructor(kind: K, handle: S.ClassHandle) {
    this.kind = kind;
    handles.set(this, handle);
  }
  /** Whether the object was already freed. */
  get disposed(): boolean {
    return !handles.has(this);
  }
  /** Frees the SEAL object; idempotent. */
  [Symbol.dispose](): void {
    const h = handles.get(this);
    if (h !== undefined) {
      handles.delete(this);
      h.delete();
    }
  }
}

/** A SEAL ciphertext. */
export type Ciphertext = SealObject<'ciphertext'>;
/** A SEAL plaintext (encoded values). */
export type Plaintext = SealObject<'plaintext'>;
/** A SEAL public key. */
export type PublicKey = SealObject<'publicKey'>;
/** A SEAL secret key. */
export type SecretKey = SealObject<'secretKey'>;
/** SEAL relinearization keys. */
export type RelinKeys = SealObject<'relinKeys'>;
/** SEAL Galois (rotation) keys. */
export type GaloisKeys = SealObject<'galoisKeys'>;

function raw<T extends S.ClassHandle>(obj: SealObject<SealKind>, kind: SealKind): T {
  const h = handles.get(obj);
  if (h === undefined) throw new HeError(HeErrorCode.WIPED, `cannot use ${kind}: it was already disposed`);
  if (obj.kind !== kind) throw new TypeError(`expected a ${kind}, got a ${obj.kind}`);
  return h as T;
}

/**
 * An RNS polynomial: `k` residues (primes q₀…q_{k−1} of the key-level chain)
 * of `n` coefficients each, `data[j·n + i]`. NTT form unless a function says
 * otherwise.
 */
export interface Poly {
  readonly k: number;
  readonly data: BigUint64Array;
}

/**
 * One term of {@link SealEngine.combine}: ±(polys · times), the polynomials in
 * NTT form unless `coefficientForm`.
 */
export interface PolyTerm {
  readonly polys: readonly Poly[];
  /** An NTT-form multiplier applied to every polynomial of the term. */
  readonly times?: Poly;
  readonly negate?: boolean;
  /** The polynomials are in coefficient form (transformed to NTT form first). */
  readonly coefficientForm?: boolean;
}

/** Metadata carried by a ciphertext besides its polynomials. */
export interface CiphertextMeta {
  /** Number of RNS primes (its level). */
  k: number;
  scale: number;
  correction: bigint;
}

const MAX_CT_SIZE = 16; // SEAL_CIPHERTEXT_SIZE_MAX

/**
 * SEAL bound to one parameter set: main context, auxiliary arithmetic context,
 * encoders and evaluators. One per parameter set per thread.
 */
export class SealEngine implements Disposable {
  readonly params: HeParams;
  readonly n: number;
  /** Key-level primes q₀…q_{L−1}, P (K = L + 1 of them). */
  readonly moduli: readonly bigint[];
  /** The plaintext modulus t (BGV), 0n for CKKS. */
  readonly plainModulus: bigint;
  readonly #seal: S.MainModule;
  readonly #ctx: S.SEALContext;
  readonly #aux: S.SEALContext;
  readonly #evaluator: S.Evaluator;
  readonly #auxEvaluator: S.Evaluator;
  readonly #batch: S.BatchEncoder | undefined;
  readonly #ckks: S.CKKSEncoder | undefined;
  readonly #parmsIds: Map<number, { main: Uint8Array; aux: Uint8Array }>;
  readonly #owned: S.ClassHandle[] = [];
  #disposed = false;

  private constructor(seal: S.MainModule, params: HeParams) {
    this.#seal = seal;
    this.params = params;
    this.n = params.n;
    const own = <T extends S.ClassHandle>(h: T): T => {
      this.#owned.push(h);
      return h;
    };
    const scheme = params.scheme === 'bgv' ? seal.SchemeType.bgv : seal.SchemeType.ckks;
    const parms = own(new seal.EncryptionParameters(scheme));
    parms.setPolyModulusDegree(params.n);
    const coeff = own(seal.CoeffModulus.Create(params.n, Int32Array.from(params.coeffModulusBits)));
    parms.setCoeffModulus(coeff);
    let t = 0n;
    if (params.scheme === 'bgv') {
      const pm = own(seal.PlainModulus.Batching(params.n, params.plainModulusBits));
      parms.setPlainModulus(pm);
      t = pm.value();
    }
    this.plainModulus = t;
    const level = params.insecure ? seal.SecLevelType.none : seal.SecLevelType.tc128;
    this.#ctx = own(new seal.SEALContext(parms, true, level));
    if (!this.#ctx.parametersSet()) {
      throw new HeError(HeErrorCode.PARAMS, `cannot create context for ${params.name}: SEAL rejects the parameters (${this.#ctx.toHuman()})`);
    }
    const moduli: bigint[] = [];
    for (let i = 0; i < coeff.size(); i++) moduli.push(own(coeff.get(i)!).value());
    this.moduli = Object.freeze(moduli);

    // Auxiliary arithmetic context: same primes plus one extra, no security check.
    const auxParms = own(new seal.EncryptionParameters(seal.SchemeType.ckks));
    auxParms.setPolyModulusDegree(params.n);
    const auxCoeff = own(new seal.VectorModulus());
    for (let i = 0; i < coeff.size(); i++) auxCoeff.push_back(own(coeff.get(i)!));
    auxCoeff.push_back(own(this.#extraPrime(moduli)));
    auxParms.setCoeffModulus(auxCoeff);
    this.#aux = own(new seal.SEALContext(auxParms, true, seal.SecLevelType.none));
    this.#evaluator = own(new seal.Evaluator(this.#ctx));
    this.#auxEvaluator = own(new seal.Evaluator(this.#aux));
    if (params.scheme === 'bgv') this.#batch = own(new seal.BatchEncoder(this.#ctx));
    else this.#ckks = own(new seal.CKKSEncoder(this.#ctx));

    // parms_id of every level, keyed by prime count: main (key level K, data levels L…1) and aux.
    this.#parmsIds = new Map();
    const idBytes = (id: S.ParmsIdType): Uint8Array => new Uint8Array((id.values() as BigUint64Array).slice().buffer);
    const mainIds = new Map<number, S.ParmsIdType>();
    const keyData = own(this.#ctx.keyContextData());
    mainIds.set(moduli.length, own(keyData.parmsId()));
    let cd = own(this.#ctx.firstContextData());
    for (;;) {
      mainIds.set(own(own(cd.parms()).coeffModulus()).size(), own(cd.parmsId()));
      if (cd.chainIndex() === 0) break;
      cd = own(cd.nextContextData());
    }
    let ad = own(this.#aux.firstContextData());
    for (;;) {
      const k = own(own(ad.parms()).coeffModulus()).size();
      const main = mainIds.get(k);
      if (main !== undefined) this.#parmsIds.set(k, { main: idBytes(main), aux: idBytes(own(ad.parmsId())) });
      if (ad.chainIndex() === 0) break;
      ad = own(ad.nextContextData());
    }
    if (this.#parmsIds.size !== moduli.length) throw new HeError(HeErrorCode.PARAMS, `cannot create context for ${params.name}: unexpected modulus chain`);
  }

  #extraPrime(moduli: readonly bigint[]): S.Modulus {
    for (const bits of [59, 58, 57, 56, 55]) {
      const v = this.#seal.CoeffModulus.Create(this.params.n, Int32Array.of(bits, bits, bits, bits));
      for (let i = 0; i < v.size(); i++) {
        const m = v.get(i)!;
        if (!moduli.includes(m.value())) {
          v.delete();
          return m;
        }
        m.delete();
      }
      v.delete();
    }
    throw new HeError(HeErrorCode.PARAMS, 'cannot create arithmetic context: no spare NTT prime');
  }

  /**
   * Creates the engine for a validated parameter set. SEAL re-checks 128-bit
   * security (tc128) for every set that is not TEST_INSECURE_*.
   *
   * @throws {HeError} `HE_ERR_SEAL_LOAD`, `HE_ERR_PARAMS` or `HE_ERR_SEAL`.
   * @example
   * ```ts
   * using engine = await SealEngine.create(preset('BGV_AGG_8192'));
   * ```
   */
  static async create(params: HeParams): Promise<SealEngine> {
    const seal = await loadSeal();
    return sealCall(`create context for ${params.name}`, () => new SealEngine(seal, params));
  }

  /** Number of data primes L. */
  get dataPrimes(): number {
    return this.moduli.length - 1;
  }

  /** Frees every SEAL object the engine owns. Objects handed out stay valid until disposed. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const h of this.#owned.reverse()) if (!h.isDeleted()) h.delete();
  }

  /** Bytes of the WebAssembly heap of this thread's SEAL instance (it only grows). */
  heapBytes(): number {
    return memory?.buffer.byteLength ?? 0;
  }

  // ---------------------------------------------------------------- objects

  /** Serializes any SEAL object (compression none, the layout this module reads). */
  save(obj: SealObject<SealKind>): Uint8Array {
    const h = raw<S.Ciphertext>(obj, obj.kind);
    return sealCall(`save ${obj.kind}`, () => h.saveToArray(this.#seal.ComprModeType.none) as Uint8Array);
  }

  /**
   * Loads a SEAL object from bytes; SEAL validates it against the parameters
   * (sizes, levels, coefficients below their primes).
   *
   * @throws {HeError} `HE_ERR_SEAL` when SEAL rejects the bytes.
   */
  load<K extends SealKind>(kind: K, bytes: Uint8Array): SealObject<K> {
    const s = this.#seal;
    const make = (): S.ClassHandle & { loadFromArray(ctx: S.SEALContext, b: unknown): void } => {
      switch (kind) {
        case 'ciphertext': return new s.Ciphertext();
        case 'plaintext': return new s.Plaintext();
        case 'publicKey': return new s.PublicKey();
        case 'secretKey': return new s.SecretKey();
        case 'relinKeys': return new s.RelinKeys();
        case 'galoisKeys': return new s.GaloisKeys();
        default: throw new TypeError(`unknown SEAL kind ${String(kind)}`);
      }
    };
    const h = make();
    // SEAL's binding takes exactly a Uint8Array (a Node Buffer is refused): view the same memory.
    const plain = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      sealCall(`load ${kind}`, () => h.loadFromArray(this.#ctx, plain));
    } catch (e) {
      h.delete();
      throw e;
    }
    return new SealObject(kind, h);
  }

  // --------------------------------------------------------- single-key SEAL

  /** A fresh SEAL secret key (ternary, SEAL's own sampler). */
  generateSecretKey(): SecretKey {
    return sealCall('generate secret key', () => {
      using kg = new this.#seal.KeyGenerator(this.#ctx);
      return new SealObject('secretKey', kg.secretKey());
    });
  }

  /** SEAL's own public key for `sk` (fresh randomness each call). */
  publicKeyFor(sk: SecretKey): PublicKey {
    return sealCall('generate public key', () => {
      using kg = new this.#seal.KeyGenerator(this.#ctx, raw<S.SecretKey>(sk, 'secretKey'));
      return new SealObject('publicKey', kg.createPublicKey());
    });
  }

  /** SEAL's own relinearization keys for `sk`. */
  relinKeysFor(sk: SecretKey): RelinKeys {
    return sealCall('generate relinearization keys', () => {
      using kg = new this.#seal.KeyGenerator(this.#ctx, raw<S.SecretKey>(sk, 'secretKey'));
      return new SealObject('relinKeys', kg.createRelinKeys());
    });
  }

  /** SEAL's own Galois keys for `sk` and the given Galois elements. */
  galoisKeysFor(sk: SecretKey, galoisElements: readonly number[]): GaloisKeys {
    // SEAL's API takes rotation steps; steps are derived back from elements.
    const steps = galoisElements.map((g) => this.stepOfGaloisElement(g));
    return sealCall('generate Galois keys', () => {
      using kg = new this.#seal.KeyGenerator(this.#ctx, raw<S.SecretKey>(sk, 'secretKey'));
      return new SealObject('galoisKeys', kg.createGaloisKeysWithSteps(Int32Array.from(steps)));
    });
  }

  /**
   * The Galois element SEAL uses for a rotation step: 3^step mod 2N for row
   * (BGV) or vector (CKKS) rotations, 3^(N/2 − |step|) for negative steps, and
   * 2N − 1 for step 0 (BGV column swap / CKKS conjugation).
   */
  galoisElementOfStep(step: number): number {
    const m = 2 * this.n;
    if (step === 0) return m - 1;
    const half = this.n / 2;
    if (!Number.isInteger(step) || Math.abs(step) >= half) throw new RangeError(`step must be an integer with |step| < ${half}, got ${step}`);
    const pos = step > 0 ? step : half + step;
    let g = 1;
    for (let i = 0; i < pos; i++) g = (g * 3) % m;
    return g;
  }

  /** Inverse of {@link galoisElementOfStep}. */
  stepOfGaloisElement(g: number): number {
    const m = 2 * this.n;
    if (g === m - 1) return 0;
    let x = 1;
    for (let step = 0; step < this.n / 2; step++) {
      if (x === g) return step;
      x = (x * 3) % m;
    }
    throw new RangeError(`${g} is not a Galois element of a rotation for N = ${this.n}`);
  }

  // --------------------------------------------------------- encode/encrypt

  /** Encodes signed integers (BGV, one per slot, |v| < t/2; missing slots are 0). */
  encodeIntegers(values: BigInt64Array): Plaintext {
    const enc = this.#batch;
    if (enc === undefined) throw new HeError(HeErrorCode.MISMATCH, 'cannot encode integers: not a BGV context');
    if (values.length > this.n) throw new HeError(HeErrorCode.ENCODE, `cannot encode integers: ${values.length} values exceed ${this.n} slots`);
    return produce('plaintext', 'encode integers', () => new this.#seal.Plaintext(), (pt) => enc.encode(values, pt));
  }

  /** Decodes a BGV plaintext into centred integers, one per slot. */
  decodeIntegers(pt: Plaintext): BigInt64Array {
    const enc = this.#batch;
    if (enc === undefined) throw new HeError(HeErrorCode.MISMATCH, 'cannot decode integers: not a BGV context');
    return sealCall('decode integers', () => enc.decodeBigInt64(raw<S.Plaintext>(pt, 'plaintext')) as BigInt64Array);
  }

  /**
   * A BGV plaintext's polynomial coefficients (mod t, coefficient form), as
   * stored: SEAL may keep fewer than N (the rest are 0).
   */
  plaintextCoefficients(pt: Plaintext): BigUint64Array {
    if (this.params.scheme !== 'bgv') throw new HeError(HeErrorCode.MISMATCH, 'cannot read plaintext coefficients: not a BGV context');
    return readPlaintext(this.save(pt)).data;
  }

  /** Encodes reals at scale Δ (CKKS, one per slot; missing slots are 0). */
  encodeReals(values: Float64Array, scale: number): Plaintext {
    const enc = this.#ckks;
    if (enc === undefined) throw new HeError(HeErrorCode.MISMATCH, 'cannot encode reals: not a CKKS context');
    if (values.length > this.n / 2) throw new HeError(HeErrorCode.ENCODE, `cannot encode reals: ${values.length} values exceed ${this.n / 2} slots`);
    return produce('plaintext', 'encode reals', () => new this.#seal.Plaintext(), (pt) => enc.encode(values, scale, pt));
  }

  /** Decodes a CKKS plaintext. */
  decodeReals(pt: Plaintext): Float64Array {
    const enc = this.#ckks;
    if (enc === undefined) throw new HeError(HeErrorCode.MISMATCH, 'cannot decode reals: not a CKKS context');
    return sealCall('decode reals', () => enc.decodeFloat64(raw<S.Plaintext>(pt, 'plaintext')) as Float64Array);
  }

  /** Public-key encryption (at the first data level). */
  encrypt(pt: Plaintext, pk: PublicKey): Ciphertext {
    using enc = this.encryptor(pk);
    return enc.encrypt(pt);
  }

  /**
   * An encryptor bound to one public key, for encrypting many plaintexts
   * without re-binding the key. Dispose it when done.
   */
  encryptor(pk: PublicKey): { encrypt(pt: Plaintext): Ciphertext } & Disposable {
    const enc = sealCall('create encryptor', () => new this.#seal.Encryptor(this.#ctx, raw<S.PublicKey>(pk, 'publicKey')));
    const seal = this.#seal;
    return {
      encrypt(pt: Plaintext): Ciphertext {
        return produce('ciphertext', 'encrypt', () => new seal.Ciphertext(), (ct) => enc.encrypt(raw<S.Plaintext>(pt, 'plaintext'), ct));
      },
      [Symbol.dispose](): void {
        if (!enc.isDeleted()) enc.delete();
      },
    };
  }

  /** Decryption with a (single or ideal) secret key. */
  decrypt(ct: Ciphertext, sk: SecretKey): Plaintext {
    using dec = sealCall('create decryptor', () => new this.#seal.Decryptor(this.#ctx, raw<S.SecretKey>(sk, 'secretKey')));
    return produce('plaintext', 'decrypt', () => new this.#seal.Plaintext(), (pt) => dec.decrypt(raw<S.Ciphertext>(ct, 'ciphertext'), pt));
  }

  /** SEAL's invariant noise budget in bits (BGV), for tests and calibration with an ideal key. */
  noiseBudget(ct: Ciphertext, sk: SecretKey): number {
    return sealCall('measure noise budget', () => {
      using dec = new this.#seal.Decryptor(this.#ctx, raw<S.SecretKey>(sk, 'secretKey'));
      return dec.invariantNoiseBudget(raw<S.Ciphertext>(ct, 'ciphertext'));
    });
  }

  // --------------------------------------------------------------- evaluate

  #newCt(op: string, fn: (out: S.Ciphertext) => void): Ciphertext {
    return produce('ciphertext', op, () => new this.#seal.Ciphertext(), fn);
  }

  /** a + b. */
  add(a: Ciphertext, b: Ciphertext): Ciphertext {
    return this.#newCt('add', (out) => this.#evaluator.add(raw(a, 'ciphertext'), raw(b, 'ciphertext'), out));
  }

  /** An independent copy of a ciphertext. */
  copy(ct: Ciphertext): Ciphertext {
    const x = raw<S.Ciphertext>(ct, 'ciphertext');
    return new SealObject('ciphertext', sealCall('copy ciphertext', () => x.copy()));
  }

  /** acc += b, in place. */
  addInPlace(acc: Ciphertext, b: Ciphertext): void {
    sealCall('add', () => this.#evaluator.addInplace(raw(acc, 'ciphertext'), raw(b, 'ciphertext')));
  }

  /** a − b. */
  sub(a: Ciphertext, b: Ciphertext): Ciphertext {
    return this.#newCt('subtract', (out) => this.#evaluator.sub(raw(a, 'ciphertext'), raw(b, 'ciphertext'), out));
  }

  /** a · b without relinearization (the result has size |a| + |b| − 1). */
  multiply(a: Ciphertext, b: Ciphertext): Ciphertext {
    return this.#newCt('multiply', (out) => this.#evaluator.multiply(raw(a, 'ciphertext'), raw(b, 'ciphertext'), out));
  }

  /**
   * `acc += a · b` without relinearization, the product computed in `scratch`
   * (any ciphertext, overwritten; reusing one across calls spares SEAL an
   * allocation per product).
   */
  multiplyAccumulate(acc: Ciphertext, a: Ciphertext, b: Ciphertext, scratch: Ciphertext): void {
    const out = raw<S.Ciphertext>(scratch, 'ciphertext');
    sealCall('multiply and accumulate', () => {
      this.#evaluator.multiply(raw(a, 'ciphertext'), raw(b, 'ciphertext'), out);
      this.#evaluator.addInplace(raw(acc, 'ciphertext'), out);
    });
  }

  /** a · p for a plaintext p. */
  multiplyPlain(a: Ciphertext, p: Plaintext): Ciphertext {
    return this.#newCt('multiply by plaintext', (out) => this.#evaluator.multiplyPlain(raw(a, 'ciphertext'), raw(p, 'plaintext'), out));
  }

  /** Relinearizes a size-3 ciphertext to size 2. */
  relinearize(a: Ciphertext, rk: RelinKeys): Ciphertext {
    return this.#newCt('relinearize', (out) => this.#evaluator.relinearize(raw(a, 'ciphertext'), raw(rk, 'relinKeys'), out));
  }

  /** CKKS rescale to the next level. */
  rescale(a: Ciphertext): Ciphertext {
    return this.#newCt('rescale', (out) => this.#evaluator.rescaleToNext(raw(a, 'ciphertext'), out));
  }

  /** Modulus switch to the next level (drops the last data prime). */
  modSwitch(a: Ciphertext): Ciphertext {
    return this.#newCt('switch modulus', (out) => this.#evaluator.cipherModSwitchToNext(raw(a, 'ciphertext'), out));
  }

  /**
   * Rotation by `step` slots: BGV rows (step ≠ 0) or the column swap (step 0);
   * CKKS vector rotation (step ≠ 0).
   */
  rotate(a: Ciphertext, step: number, gk: GaloisKeys): Ciphertext {
    const x = raw<S.Ciphertext>(a, 'ciphertext');
    const keys = raw<S.GaloisKeys>(gk, 'galoisKeys');
    if (this.params.scheme === 'bgv') {
      return step === 0
        ? this.#newCt('rotate columns', (out) => this.#evaluator.rotateColumns(x, keys, out))
        : this.#newCt('rotate rows', (out) => this.#evaluator.rotateRows(x, step, keys, out));
    }
    if (step === 0) throw new RangeError('step must be non-zero for CKKS rotations');
    return this.#newCt('rotate vector', (out) => this.#evaluator.rotateVector(x, step, keys, out));
  }

  /** Ciphertext size (number of polynomials) and level (number of primes). */
  shape(ct: Ciphertext): { size: number; k: number } {
    const x = raw<S.Ciphertext>(ct, 'ciphertext');
    return { size: x.size(), k: x.coeffModulusSize() };
  }

  // ------------------------------------------------------------ polynomials

  #ids(k: number): { main: Uint8Array; aux: Uint8Array } {
    const ids = this.#parmsIds.get(k);
    if (ids === undefined) throw new HeError(HeErrorCode.MISMATCH, `cannot address level with ${k} primes`);
    return ids;
  }

  /** Reads a ciphertext's polynomials (NTT form) and metadata. */
  ciphertextPolys(ct: Ciphertext): { polys: Poly[]; meta: CiphertextMeta } {
    return this.#splitCiphertext(readCiphertext(this.save(ct)));
  }

  #splitCiphertext(layout: CiphertextLayout): { polys: Poly[]; meta: CiphertextMeta } {
    const len = layout.k * layout.n;
    const polys: Poly[] = [];
    for (let i = 0; i < layout.size; i++) polys.push({ k: layout.k, data: layout.data.subarray(i * len, (i + 1) * len) });
    return { polys, meta: { k: layout.k, scale: layout.scale, correction: layout.correction } };
  }

  #layout(polys: readonly Poly[], meta: CiphertextMeta, parmsId: Uint8Array, ntt: boolean): CiphertextLayout {
    const len = meta.k * this.n;
    const data = new BigUint64Array(polys.length * len);
    polys.forEach((p, i) => {
      if (p.k !== meta.k || p.data.length !== len) throw new HeError(HeErrorCode.MISMATCH, 'cannot assemble ciphertext: polynomials at different levels');
      data.set(p.data, i * len);
    });
    return { parmsId, ntt, size: polys.length, n: this.n, k: meta.k, scale: meta.scale, correction: meta.correction, data };
  }

  #joinCiphertext(polys: readonly Poly[], meta: CiphertextMeta, parmsId: Uint8Array, ntt: boolean): Uint8Array {
    return writeCiphertext(this.#layout(polys, meta, parmsId, ntt));
  }

  /** Builds a main-context ciphertext from NTT-form polynomials (SEAL validates it on load). */
  ciphertextFromPolys(polys: readonly Poly[], meta: CiphertextMeta): Ciphertext {
    return this.load('ciphertext', this.#joinCiphertext(polys, meta, this.#ids(meta.k).main, true));
  }

  /** Builds a public key (p0, p1) at the key level. */
  publicKeyFromPolys(p0: Poly, p1: Poly): PublicKey {
    const k = this.moduli.length;
    return this.load('publicKey', this.#joinCiphertext([p0, p1], { k, scale: 1, correction: 1n }, this.#ids(k).main, true));
  }

  /** The two polynomials of a public key. */
  publicKeyPolys(pk: PublicKey): [Poly, Poly] {
    const { polys } = this.#splitCiphertext(readCiphertext(this.save(pk), 0, 'public key'));
    if (polys.length !== 2) throw new HeError(HeErrorCode.LAYOUT, 'cannot read public key: expected two polynomials');
    return [polys[0], polys[1]];
  }

  /** A secret key's polynomial (NTT form, key level). */
  secretKeyPoly(sk: SecretKey): Poly {
    const p = readPlaintext(this.save(sk), 'secret key');
    const k = this.moduli.length;
    if (p.data.length !== k * this.n) throw new HeError(HeErrorCode.LAYOUT, 'cannot read secret key: unexpected size');
    return { k, data: p.data };
  }

  /** Loads a key-level NTT polynomial as a SEAL secret key (e.g. the ideal key Σsᵢ in tests). */
  secretKeyFromPoly(poly: Poly): SecretKey {
    const k = this.moduli.length;
    if (poly.k !== k) throw new HeError(HeErrorCode.MISMATCH, 'cannot load secret key: not at the key level');
    return this.load('secretKey', writePlaintext({ parmsId: this.#ids(k).main, scale: 1, data: poly.data }));
  }

  /**
   * Builds key-switching keys from rows of (k0, k1) key-level pairs: one row
   * for relinearization keys, a row per Galois element `g` at index (g − 1)/2
   * for Galois keys (other rows empty), as SEAL lays them out.
   */
  kswitchKeysFromRows<K extends 'relinKeys' | 'galoisKeys'>(kind: K, rows: ReadonlyMap<number, readonly (readonly [Poly, Poly])[]>): SealObject<K> {
    const k = this.moduli.length;
    const ids = this.#ids(k);
    const count = kind === 'relinKeys' ? 1 : this.n;
    const layout: KSwitchLayout = { parmsId: ids.main, rows: [] };
    for (let r = 0; r < count; r++) {
      const row = rows.get(r) ?? [];
      layout.rows.push(row.map(([a, b]) => this.#layout([a, b], { k, scale: 1, correction: 1n }, ids.main, true)));
    }
    return this.load(kind, writeKSwitchKeys(layout));
  }

  /** Rows of key-switching keys as (k0, k1) pairs, keyed by row index. */
  kswitchKeyRows(keys: RelinKeys | GaloisKeys): Map<number, [Poly, Poly][]> {
    const layout = readKSwitchKeys(this.save(keys));
    const out = new Map<number, [Poly, Poly][]>();
    layout.rows.forEach((row, r) => {
      if (row.length > 0) out.set(r, row.map((key) => {
        const { polys } = this.#splitCiphertext(key);
        return [polys[0], polys[1]] as [Poly, Poly];
      }));
    });
    return out;
  }

  /** A new zero polynomial with `k` primes. */
  zero(k: number): Poly {
    return { k, data: new BigUint64Array(k * this.n) };
  }

  /** The first `k` residues of `p` (a view, no copy). */
  truncate(p: Poly, k: number): Poly {
    if (k > p.k || k < 1) throw new HeError(HeErrorCode.MISMATCH, `cannot truncate a ${p.k}-prime polynomial to ${k} primes`);
    return k === p.k ? p : { k, data: p.data.subarray(0, k * this.n) };
  }

  /** The chunk of `polys` at `start` as auxiliary-context ciphertext bytes (a lone polynomial is padded with zero). */
  #auxChunk(polys: readonly Poly[], start: number, ntt: boolean): Uint8Array {
    const chunk = polys.slice(start, start + MAX_CT_SIZE);
    const k = chunk[0].k;
    const padded = chunk.length === 1 ? [chunk[0], this.zero(k)] : chunk;
    return this.#joinCiphertext(padded, { k, scale: 1, correction: 1n }, this.#ids(k).aux, ntt);
  }

  #readChunk(bytes: Uint8Array, count: number): Poly[] {
    return this.#splitCiphertext(readCiphertext(bytes)).polys.slice(0, count);
  }

  /**
   * Σ over the terms of ±(polys · times), element-wise, in one pass through
   * SEAL per 16 polynomials: every term's polynomials are loaded once,
   * transformed to NTT form when given in coefficient form, multiplied by its
   * multiplier, and accumulated; only the result is saved. Every term must have
   * as many polynomials as the first, all at one level.
   *
   * @throws {HeError} `HE_ERR_MISMATCH` for terms of different lengths or levels.
   * @example
   * ```ts
   * // h = w + e − a·s, with e given in coefficient form
   * const h = engine.combine([{ polys: w }, { polys: e, coefficientForm: true }, { polys: a, times: s, negate: true }]);
   * ```
   */
  combine(terms: readonly PolyTerm[]): Poly[] {
    if (terms.length === 0) throw new HeError(HeErrorCode.PROTOCOL, 'cannot combine: no terms');
    const count = terms[0].polys.length;
    if (count === 0) return [];
    const k = terms[0].polys[0].k;
    for (const t of terms) {
      if (t.polys.length !== count) throw new HeError(HeErrorCode.MISMATCH, 'cannot combine polynomial lists of different lengths');
      for (const p of t.polys) if (p.k !== k) throw new HeError(HeErrorCode.MISMATCH, 'cannot combine polynomials at different levels');
      if (t.times !== undefined && t.times.k !== k) throw new HeError(HeErrorCode.MISMATCH, 'cannot multiply polynomials at different levels');
    }
    return sealCall('compute on polynomials', () => {
      const plains = new Map<Poly, S.Plaintext>();
      try {
        for (const t of terms) {
          if (t.times !== undefined && !plains.has(t.times)) {
            const pt = new this.#seal.Plaintext();
            plains.set(t.times, pt);
            pt.loadFromArray(this.#aux, writePlaintext({ parmsId: this.#ids(k).aux, scale: 1, data: t.times.data }));
          }
        }
        const out: Poly[] = [];
        for (let start = 0; start < count; start += MAX_CT_SIZE) {
          using acc = new this.#seal.Ciphertext();
          terms.forEach((t, i) => {
            using ct = new this.#seal.Ciphertext();
            const target = i === 0 ? acc : ct;
            target.loadFromArray(this.#aux, this.#auxChunk(t.polys, start, t.coefficientForm !== true));
            if (t.coefficientForm === true) this.#auxEvaluator.cipherTransformToNttInplace(target);
            if (t.times !== undefined) this.#auxEvaluator.multiplyPlainInplace(target, plains.get(t.times)!);
            if (i === 0) {
              if (t.negate === true) this.#auxEvaluator.negateInplace(acc);
            } else if (t.negate === true) this.#auxEvaluator.subInplace(acc, ct);
            else this.#auxEvaluator.addInplace(acc, ct);
          });
          out.push(...this.#readChunk(acc.saveToArray(this.#seal.ComprModeType.none) as Uint8Array, Math.min(MAX_CT_SIZE, count - start)));
        }
        return out;
      } finally {
        for (const pt of plains.values()) pt.delete();
      }
    });
  }

  /** Each polynomial times `m` (all NTT form, same level). */
  mul(polys: readonly Poly[], m: Poly): Poly[] {
    return this.combine([{ polys, times: m }]);
  }

  /** Element-wise a[i] + b[i] (or − when `subtract`). */
  add2(a: readonly Poly[], b: readonly Poly[], subtract = false): Poly[] {
    return this.combine([{ polys: a }, { polys: b, negate: subtract }]);
  }

  /** Σ of the polynomial lists, element-wise (all lists the same length and level). */
  sum(lists: readonly (readonly Poly[])[]): Poly[] {
    if (lists.length === 0) throw new HeError(HeErrorCode.PROTOCOL, 'cannot sum an empty list of shares');
    return this.combine(lists.map((polys) => ({ polys })));
  }

  /** −p for each polynomial. */
  neg(polys: readonly Poly[]): Poly[] {
    return this.combine([{ polys, negate: true }]);
  }

  #transform(polys: readonly Poly[], toNtt: boolean): Poly[] {
    const out: Poly[] = [];
    for (let start = 0; start < polys.length; start += MAX_CT_SIZE) {
      const bytes = this.#auxChunk(polys, start, !toNtt);
      const result = sealCall('transform polynomials', () => {
        using ct = new this.#seal.Ciphertext();
        ct.loadFromArray(this.#aux, bytes);
        if (toNtt) this.#auxEvaluator.cipherTransformToNttInplace(ct);
        else this.#auxEvaluator.cipherTransformFromNttInplace(ct);
        return ct.saveToArray(this.#seal.ComprModeType.none) as Uint8Array;
      });
      out.push(...this.#readChunk(result, Math.min(MAX_CT_SIZE, polys.length - start)));
    }
    return out;
  }

  /** Coefficient form → NTT form. */
  toNtt(polys: readonly Poly[]): Poly[] {
    return this.#transform(polys, true);
  }

  /** NTT form → coefficient form. */
  fromNtt(polys: readonly Poly[]): Poly[] {
    return this.#transform(polys, false);
  }
}
