/**
 * Noise flooding for decryption and key-switch shares. A decryption share
 * sᵢ·c₁ alone would leak sᵢ through the ciphertext noise (Li–Micciancio
 * IND-CPA-D; partial decryption leakage), so each share carries uniform noise
 * of width 2^floodBits, chosen at least `securityBits` (≥ 30) above a bound on
 * the ciphertext's own noise: per coefficient, the statistical distance between
 * the flooded noise and flooding alone is at most 2^−securityBits (over the N
 * coefficients of a share, at most N·2^−securityBits).
 *
 * BGV: the flooding is a multiple of t, so it costs no precision; its only
 * limit is the modulus: t·(noise + parties·2^floodBits) must stay below Q/2,
 * else every slot decrypts wrong *silently*. So the plan takes the largest
 * width that fits with a 1-bit margin (besides log₂ parties) and refuses a reveal where that width is
 * less than `securityBits` above the noise.
 * CKKS: flooding adds to the message, costing precision one bit per bit of
 * flooding; the plan floods exactly `securityBits` above the noise and reports
 * the precision left.
 */
import type { SealEngine } from '../backend/seal.ts';
import { HeError, HeErrorCode } from '../errors.ts';

/** Widest flooding the sampler draws (ring.ts#sampleFlooding). */
const MAX_FLOOD_BITS = 190;

/** Minimum statistical security of flooding, in bits (DESIGN §3). */
export const MIN_FLOODING_SECURITY_BITS = 30;

/** What a key holder knows when it plans its flooding. */
export interface FloodingRequest {
  /** Number of RNS primes of the ciphertext to reveal. */
  readonly k: number;
  /** log2 of a bound on ‖c₀ + s·c₁ − m‖∞ (BGV: the bound on the t·e part), see noise-estimate.ts. */
  readonly noiseBits: number;
  /** Number of parties that flood (all shares are summed). */
  readonly parties: number;
  /** Statistical security wanted; at least {@link MIN_FLOODING_SECURITY_BITS}. */
  readonly securityBits?: number;
}

/** The agreed flooding of one reveal. */
export interface FloodingPlan {
  /** Each party's flooding is uniform in [−2^floodBits, 2^floodBits) (times t in BGV). */
  readonly floodBits: number;
  /** floodBits above the noise bound: the statistical security per coefficient. */
  readonly statisticalBits: number;
  /** CKKS only: bits of precision left after flooding (log2 Δ − log2(flood sum)). */
  readonly precisionBits?: number;
}

/** log2 of the product of the first k primes. */
export function logModulus(engine: SealEngine, k: number): number {
  return engine.moduli.slice(0, k).reduce((a, q) => a + Math.log2(Number(q)), 0);
}

/**
 * Plans the flooding of a reveal.
 *
 * @throws {HeError} `HE_ERR_FLOODING_BUDGET` when the ciphertext's noise budget
 *   cannot carry flooding `securityBits` above its noise.
 * @example
 * ```ts
 * const plan = planFlooding(engine, { k: 3, noiseBits: 140, parties: 3 });
 * ```
 */
export function planFlooding(engine: SealEngine, request: FloodingRequest): FloodingPlan {
  const { k, noiseBits, parties } = request;
  const security = request.securityBits ?? MIN_FLOODING_SECURITY_BITS;
  if (!Number.isInteger(k) || k < 1 || k > engine.dataPrimes) throw new RangeError(`k must be an integer in [1, ${engine.dataPrimes}], got ${k}`);
  if (typeof noiseBits !== 'number' || !Number.isFinite(noiseBits) || noiseBits < 0) throw new RangeError(`noiseBits must be a finite number ≥ 0, got ${noiseBits}`);
  if (!Number.isInteger(parties) || parties < 1) throw new RangeError(`parties must be a positive integer, got ${parties}`);
  if (!Number.isFinite(security) || security < MIN_FLOODING_SECURITY_BITS) throw new RangeError(`securityBits must be at least ${MIN_FLOODING_SECURITY_BITS}, got ${security}`);
  const logQ = logModulus(engine, k);
  const spread = Math.log2(parties);
  const margin = 1;
  if (engine.params.scheme === 'bgv') {
    const logT = Math.log2(Number(engine.plainModulus));
    // noise is a bound on t·e; flooding t·Σ e′ must keep the sum below Q/2.
    const room = logQ - 1 - margin - logT - spread;
    const floodBits = Math.floor(Math.min(room, MAX_FLOOD_BITS));
    const noiseOverT = noiseBits - logT;
    if (floodBits - noiseOverT < security || noiseBits + 1 + margin > logQ) {
      throw new HeError(HeErrorCode.FLOODING_BUDGET, `cannot plan flooding: the noise budget (log Q = ${logQ.toFixed(1)}, noise ≈ 2^${noiseBits.toFixed(1)}) leaves ${(floodBits - noiseOverT).toFixed(1)} bits of flooding, ${security} are required`);
    }
    return Object.freeze({ floodBits, statisticalBits: floodBits - noiseOverT });
  }
  const floodBits = Math.ceil(noiseBits + security);
  const scaleBits = engine.params.scheme === 'ckks' ? engine.params.scaleBits : 0;
  const precisionBits = scaleBits - floodBits - spread;
  if (floodBits + spread + 1 + margin > logQ) {
    throw new HeError(HeErrorCode.FLOODING_BUDGET, `cannot plan flooding: 2^${floodBits} flooding from ${parties} parties does not fit in log Q = ${logQ.toFixed(1)}`);
  }
  return Object.freeze({ floodBits, statisticalBits: floodBits - noiseBits, precisionBits });
}
