/**
 * Encryption parameters: JSON-able literals, validated into frozen parameter
 * objects. Only sets that meet 128-bit security in the HomomorphicEncryption.org
 * standard tables are accepted, unless their name starts with `TEST_INSECURE_`
 * and the caller opts in explicitly (tests only); SEAL's own tc128 check runs
 * again when a context is created.
 */
import { HeError, HeErrorCode } from './errors.ts';

/** Literal for BGV with batching: exact arithmetic on fixed-point integers. */
export interface BgvParamsLiteral {
  readonly name: string;
  readonly scheme: 'bgv';
  /** log2 of the ring degree N. */
  readonly logN: number;
  /** Bit sizes of the RNS primes; the last one is SEAL's special (key-switching) prime. */
  readonly coeffModulusBits: readonly number[];
  /** Bit size of the batching plaintext prime t (t ≡ 1 mod 2N). */
  readonly plainModulusBits: number;
  /** Values in [-1, 1] are quantised to integers in [-2^quantBits, 2^quantBits]. */
  readonly quantBits: number;
}

/** Literal for CKKS: approximate arithmetic on reals. */
export interface CkksParamsLiteral {
  readonly name: string;
  readonly scheme: 'ckks';
  readonly logN: number;
  readonly coeffModulusBits: readonly number[];
  /** log2 of the encoding scale Δ. */
  readonly scaleBits: number;
}

/** Either literal. */
export type ParamsLiteral = BgvParamsLiteral | CkksParamsLiteral;

/** Validated, frozen parameters (a literal plus derived figures). */
export type HeParams = Readonly<ParamsLiteral & {
  /** Ring degree N. */
  readonly n: number;
  /** Slots per ciphertext: N for BGV batching, N/2 for CKKS. */
  readonly slots: number;
  /** Number of data primes L (every prime but the special one). */
  readonly dataPrimes: number;
  /** Whether this set is a TEST_INSECURE_* set (SEAL's security check is off for it). */
  readonly insecure: boolean;
}>;

/**
 * Largest log2(QP) that gives 128-bit classical security for ternary secrets,
 * HomomorphicEncryption.org security standard (Albrecht et al., 2018), Table 1;
 * the same figures as SEAL's `CoeffModulus::MaxBitCount(N, tc128)`.
 */
export const MAX_LOG_QP_128: Readonly<Record<number, number>> = Object.freeze({
  1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881,
});

const INSECURE_PREFIX = 'TEST_INSECURE_';

/** Options of {@link createParams}. */
export interface CreateParamsOptions {
  /** Accept `TEST_INSECURE_*` sets. Only tests set this; production configuration never does. */
  readonly allowInsecure?: boolean;
}

/**
 * Validates a parameter literal and returns frozen parameters.
 *
 * @throws {HeError} `HE_ERR_PARAMS` for an invalid or insufficiently secure set,
 *   `HE_ERR_INSECURE_PARAMS` for a `TEST_INSECURE_*` set without `allowInsecure`.
 * @example
 * ```ts
 * const params = createParams(PRESETS.BGV_AGG_8192);
 * params.slots; // 8192
 * ```
 */
export function createParams(literal: ParamsLiteral, options: CreateParamsOptions = {}): HeParams {
  const fail = (reason: string): never => {
    throw new HeError(HeErrorCode.PARAMS, `cannot create parameters ${String(literal?.name)}: ${reason}`);
  };
  if (literal === null || typeof literal !== 'object') throw new TypeError('literal must be a parameter literal object');
  if (typeof literal.name !== 'string' || !/^[A-Z][A-Z0-9_]{2,63}$/.test(literal.name)) fail('name must match /^[A-Z][A-Z0-9_]{2,63}$/');
  const insecure = literal.name.startsWith(INSECURE_PREFIX);
  if (insecure && options.allowInsecure !== true) {
    throw new HeError(HeErrorCode.INSECURE_PARAMS, `cannot create parameters ${literal.name}: TEST_INSECURE_* sets are for tests only`);
  }
  if (literal.scheme !== 'bgv' && literal.scheme !== 'ckks') fail(`unknown scheme ${String((literal as { scheme: unknown }).scheme)}`);
  if (!Number.isInteger(literal.logN) || literal.logN < 10 || literal.logN > 15) fail('logN must be an integer in [10, 15]');
  const n = 2 ** literal.logN;
  const bits = literal.coeffModulusBits;
  if (!Array.isArray(bits) || bits.length < 2 || bits.length > 16) fail('coeffModulusBits must list 2 to 16 prime sizes');
  for (const b of bits) if (!Number.isInteger(b) || b < 20 || b > 60) fail('every prime size must be an integer in [20, 60]');
  const logQP = bits.reduce((a, b) => a + b, 0);
  if (!insecure && logQP > MAX_LOG_QP_128[n]) fail(`log2(QP) = ${logQP} exceeds ${MAX_LOG_QP_128[n]}, the 128-bit bound for N = ${n}`);
  const special = bits[bits.length - 1];
  if (special < Math.max(...bits.slice(0, -1)) - 30) fail('the special prime is too small for key switching');
  let slots: number;
  if (literal.scheme === 'bgv') {
    const { plainModulusBits: tBits, quantBits } = literal;
    if (!Number.isInteger(tBits) || tBits < 17 || tBits > 60) fail('plainModulusBits must be an integer in [17, 60]');
    if (!Number.isInteger(quantBits) || quantBits < 1 || 2 * quantBits + 2 > tBits) fail('quantBits must be in [1, (plainModulusBits - 2) / 2] so one product fits');
    if (tBits >= Math.min(...bits.slice(0, -1))) fail('the plain modulus must be smaller than every data prime');
    slots = n;
  } else {
    const { scaleBits } = literal;
    if (!Number.isInteger(scaleBits) || scaleBits < 20 || scaleBits > 60) fail('scaleBits must be an integer in [20, 60]');
    if (scaleBits > bits[0] - 1) fail('the first prime must exceed the scale so decoding has room');
    slots = n / 2;
  }
  return Object.freeze({ ...literal, coeffModulusBits: Object.freeze([...bits]), n, slots, dataPrimes: bits.length - 1, insecure });
}

/**
 * The named parameter sets. BGV_AGG_8192 is the measured aggregation recipe
 * (shared/notes/node-seal-facts.md): exact sums of ~1 M products of 14-bit
 * fixed-point values with ~40 bits of noise budget left for flooding.
 */
export const PRESETS = Object.freeze({
  BGV_AGG_8192: Object.freeze({ name: 'BGV_AGG_8192', scheme: 'bgv', logN: 13, coeffModulusBits: [60, 60, 60, 38], plainModulusBits: 50, quantBits: 14 }),
  CKKS_8192: Object.freeze({ name: 'CKKS_8192', scheme: 'ckks', logN: 13, coeffModulusBits: [60, 40, 40, 60], scaleBits: 40 }),
  CKKS_16384: Object.freeze({ name: 'CKKS_16384', scheme: 'ckks', logN: 14, coeffModulusBits: [60, 50, 50, 50, 50, 50, 50, 60], scaleBits: 50 }),
  TEST_INSECURE_BGV_2048: Object.freeze({ name: 'TEST_INSECURE_BGV_2048', scheme: 'bgv', logN: 11, coeffModulusBits: [60, 60, 60, 38], plainModulusBits: 50, quantBits: 14 }),
  TEST_INSECURE_CKKS_2048: Object.freeze({ name: 'TEST_INSECURE_CKKS_2048', scheme: 'ckks', logN: 11, coeffModulusBits: [60, 40, 40, 60], scaleBits: 40 }),
} satisfies Record<string, ParamsLiteral>);

/** Name of a preset in {@link PRESETS}. */
export type PresetName = keyof typeof PRESETS;

/**
 * Validated parameters of a named preset.
 *
 * @throws {HeError} `HE_ERR_PARAMS` for an unknown name, `HE_ERR_INSECURE_PARAMS` as in {@link createParams}.
 * @example
 * ```ts
 * const params = preset('CKKS_16384');
 * ```
 */
export function preset(name: string, options: CreateParamsOptions = {}): HeParams {
  if (!Object.hasOwn(PRESETS, name)) throw new HeError(HeErrorCode.PARAMS, `cannot find parameters ${name}: known sets are ${Object.keys(PRESETS).join(', ')}`);
  return createParams(PRESETS[name as PresetName], options);
}
