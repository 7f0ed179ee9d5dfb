/**
 * Revealing a job's moments (DESIGN §3, §6): only through src/he's
 * sum-reveal protocols, flooded, exact. By default the sums are public-key
 * switched to a receiver (the machine builder), so the cloud that combines the
 * shares learns nothing; collective decryption (receiver `null`) reveals them
 * to whoever combines.
 *
 * A key holder runs {@link makeRevealShare}: it checks the guards itself
 * against the public plan, plans its flooding from the plan's public noise
 * bound, and answers a repeated request from its ledger (a share is made once
 * per job and input).
 */
import { createHash } from 'node:crypto';
import type { Ciphertext, PublicKey, SealEngine, SecretKey } from '../he/backend/seal.ts';
import { planFlooding, type FloodingPlan } from '../he/mhe/flooding.ts';
import type { ShareLedger } from '../he/mhe/ledger.ts';
import type { PartySecret } from '../he/mhe/secret.ts';
import { SumDecryptProtocol } from '../he/mhe/sum-decrypt.ts';
import type { SumRevealInput } from '../he/mhe/sum-input.ts';
import { SumKeySwitchProtocol, decryptSlotSums } from '../he/mhe/sum-key-switch.ts';
import { SumDecryptShareCodec, SumKeySwitchShareCodec } from '../he/wire.ts';
import type { Moments } from '../models/moments.ts';
import type { DatasetSchema } from '../models/schema.ts';
import { ComputeError, ComputeErrorCode } from './errors.ts';
import { jobNoiseBits, momentsFromSums, type Guards, type JobPlan } from './plan.ts';

/** What a key holder is asked to take part in. */
export interface RevealRequest {
  /** Job id: the ledger instance. */
  readonly jobId: string;
  readonly plan: JobPlan;
  readonly input: SumRevealInput;
  /** Receiver's public key, or null for collective decryption. */
  readonly receiver: PublicKey | null;
  /** Number of key holders whose shares will be combined (they all flood). */
  readonly parties: number;
}

/** SHA-256 over the reveal input (what a share is computed from). */
export function revealInputDigest(input: SumRevealInput): Uint8Array {
  const h = createHash('sha256').update(`hedge/sum-reveal/v1/${input.count}/${input.meta.k}\n`);
  h.update(new Uint8Array(input.b.data.buffer, input.b.data.byteOffset, input.b.data.byteLength));
  for (const p of input.c1) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return new Uint8Array(h.digest());
}

/** The flooding every key holder derives from the public plan. */
export function revealFlooding(engine: SealEngine, plan: JobPlan, input: SumRevealInput, parties: number): FloodingPlan {
  return planFlooding(engine, { k: input.meta.k, noiseBits: jobNoiseBits(engine, plan, parties), parties });
}

/**
 * A key holder's share, as wire bytes: the guards are checked again here, the
 * share is flooded, and a repeated request gets the stored share.
 *
 * @throws {ComputeError} `COMPUTE_ERR_GUARD` when the plan falls short of the guards.
 * @throws {HeError} `HE_ERR_FLOODING_BUDGET` when the result cannot carry the flooding.
 * @example
 * ```ts
 * const bytes = makeRevealShare(engine, secret, request, guards, ledger);
 * ```
 */
export function makeRevealShare(engine: SealEngine, secret: PartySecret, request: RevealRequest, guards: Guards, ledger: ShareLedger): Uint8Array {
  const { plan, input, receiver, parties } = request;
  if (plan.plants.length < guards.minPlants || plan.records < guards.minRecords) {
    throw new ComputeError(ComputeErrorCode.GUARD, `cannot make a reveal share for job ${request.jobId}: ${plan.plants.length} plants and ${plan.records} records, this key holder requires ${guards.minPlants} and ${guards.minRecords}`);
  }
  if (input.count !== plan.aggregation.stats.length) throw new ComputeError(ComputeErrorCode.BATCH, `cannot make a reveal share for job ${request.jobId}: ${input.count} results, the plan has ${plan.aggregation.stats.length}`);
  const flooding = revealFlooding(engine, plan, input, parties);
  const protocol = receiver === null ? 'sum-decrypt' : 'sum-key-switch';
  return ledger.issue(protocol, request.jobId, revealInputDigest(input), () => receiver === null
    ? SumDecryptShareCodec.toBytes(engine, new SumDecryptProtocol(engine).genShare(secret, input, flooding))
    : SumKeySwitchShareCodec.toBytes(engine, new SumKeySwitchProtocol(engine).genShare(secret, input, receiver, flooding)));
}

/**
 * The combiner's side of a public-key switch: the receiver's ciphertext from
 * the shares' wire bytes.
 *
 * @throws {HeError} `HE_ERR_DECODE` for bad share bytes.
 */
export function combineForReceiver(engine: SealEngine, input: SumRevealInput, shares: readonly Uint8Array[]): Ciphertext {
  const p = new SumKeySwitchProtocol(engine);
  return p.keySwitch(input, p.aggregateShares(shares.map((b) => SumKeySwitchShareCodec.fromBytes(engine, b))));
}

/**
 * The receiver's side: decrypts its ciphertext with its own secret key and
 * assembles the moments.
 *
 * @example
 * ```ts
 * const moments = receiveMoments(engine, schema, plan, switched, builderSk);
 * ```
 */
export function receiveMoments(engine: SealEngine, schema: DatasetSchema, plan: JobPlan, switched: Ciphertext, receiverKey: SecretKey): Moments {
  return momentsFromSums(schema, plan, decryptSlotSums(engine, switched, receiverKey, plan.aggregation.stats.length));
}

/**
 * Collective decryption: the moments from the shares' wire bytes (whoever
 * runs this learns them).
 */
export function decryptMoments(engine: SealEngine, schema: DatasetSchema, plan: JobPlan, input: SumRevealInput, shares: readonly Uint8Array[]): Moments {
  const p = new SumDecryptProtocol(engine);
  return momentsFromSums(schema, plan, p.revealSums(input, p.aggregateShares(shares.map((b) => SumDecryptShareCodec.fromBytes(engine, b)))));
}
