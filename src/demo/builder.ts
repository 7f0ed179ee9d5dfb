/**
 * The machine builder in the demo: a person calling the cloud API with a bearer token, and one of
 * the federation's key holders. It creates the federation and makes its own shares of the key
 * ceremony (the plants' gateways make theirs on their own), registers its receiver key (results
 * are re-encrypted to it, so the cloud never reads them), defines the dataset, submits jobs, adds
 * its flooded reveal share, decrypts the result — moments, never records — and registers and
 * releases the models it fits from them.
 * @module
 */
import { createHash } from 'node:crypto';
import { decodePartial } from '../compute/partial.ts';
import type { JobPlan } from '../compute/plan.ts';
import { makeRevealShare, receiveMoments } from '../compute/reveal.ts';
import type { PublicKey, SealEngine, SecretKey } from '../he/backend/seal.ts';
import { ShareLedger } from '../he/mhe/ledger.ts';
import { PublicKeyProtocol } from '../he/mhe/public-key-gen.ts';
import { RelinKeyProtocol, type RelinKeyEphemeral } from '../he/mhe/relin-key-gen.ts';
import { PartySecret } from '../he/mhe/secret.ts';
import { sumRevealInput } from '../he/mhe/sum-input.ts';
import { CiphertextCodec, PublicKeyCodec, PublicKeyShareCodec, RelinKeyShare1Codec, RelinKeyShare2Codec } from '../he/wire.ts';
import { modelToArtifact, type DatasetSchema, type Model, type Moments } from '../models/index.ts';
import { until, type Api } from './api.ts';

/** A job as the cloud shows it (src/wire/domain.ts `Job`). */
export interface JobView {
  readonly id: string;
  readonly state: string;
  readonly progress: { readonly done: number; readonly total: number };
  readonly plants: readonly string[];
  readonly records: number;
  readonly statistics: number;
  readonly approvals: readonly string[];
  readonly shares: readonly string[];
  readonly error?: string;
}

/** A deployment record (src/wire/models.ts). */
export interface Deployment {
  readonly fleet: string;
  readonly modelId: string;
  readonly version: number;
  readonly target: string;
  readonly sha256: string;
}

/** The machine builder: API client and key holder. */
export class Builder {
  readonly tenant: string;
  readonly api: Api;
  readonly #engine: SealEngine;
  readonly #secret: PartySecret;
  readonly #ledger = new ShareLedger();
  readonly #receiverSk: SecretKey;
  readonly #receiverPk: PublicKey;

  /**
   * @param api - the builder's logged-in connection
   * @param engine - an engine of the federation's parameter set
   * @example
   * ```ts
   * const builder = new Builder('builder', api, engine);
   * ```
   */
  constructor(tenant: string, api: Api, engine: SealEngine) {
    this.tenant = tenant;
    this.api = api;
    this.#engine = engine;
    this.#secret = PartySecret.generate(engine);
    this.#receiverSk = engine.generateSecretKey();
    this.#receiverPk = engine.publicKeyFor(this.#receiverSk);
  }

  #fed(federation: string, rest = ''): string {
    return `/v1/tenants/${this.tenant}/federations/${federation}${rest}`;
  }

  /**
   * Makes the builder's share of each ceremony round the cloud waits for, until the collective
   * keys are ready (the plants' gateways send theirs as they poll).
   * @throws ApiError, or an Error after `timeoutMs`
   * @example
   * ```ts
   * await builder.joinCeremony('ai4i'); // the gateways send their shares as they poll
   * ```
   */
  async joinCeremony(federation: string, timeoutMs = 120_000): Promise<void> {
    const seed = Buffer.from((await this.api.json<{ seed: string }>('GET', this.#fed(federation))).seed, 'hex');
    const rkp = new RelinKeyProtocol(this.#engine);
    let round1: RelinKeyEphemeral | undefined;
    const sent = new Set<string>();
    await until('the key ceremony', async () => {
      const f = await this.api.json<{ round: string; missing: string[] }>('GET', this.#fed(federation));
      if (f.round === 'ready') return true;
      if (!f.missing.includes(this.tenant) || sent.has(f.round)) return undefined;
      const post = (bytes: Uint8Array): Promise<unknown> => this.api.json('POST', this.#fed(federation, `/ceremony/${f.round}`), bytes);
      if (f.round === 'pk') {
        const pkp = new PublicKeyProtocol(this.#engine);
        await post(PublicKeyShareCodec.toBytes(this.#engine, pkp.genShare(this.#secret, pkp.sampleCrp(seed))));
      } else if (f.round === 'rlk1') {
        const r1 = rkp.genShareRound1(this.#secret, rkp.sampleCrp(seed));
        round1 = r1.secret;
        await post(RelinKeyShare1Codec.toBytes(this.#engine, r1.public));
      } else if (f.round === 'rlk2') {
        const agg1 = RelinKeyShare1Codec.fromBytes(this.#engine, await this.api.raw('GET', this.#fed(federation, '/material/relin-round1')));
        await post(RelinKeyShare2Codec.toBytes(this.#engine, rkp.genShareRound2(this.#secret, round1!, agg1)));
      }
      sent.add(f.round);
      return undefined;
    }, timeoutMs);
  }

  /**
   * Registers the builder's own public key as the federation's receiver; returns its SHA-256.
   * @throws ApiError (409 when another key is registered)
   * @example
   * ```ts
   * const hash = await builder.registerReceiver('ai4i'); // what plants may pin (keyHolder.receiverKeyHash)
   * ```
   */
  async registerReceiver(federation: string): Promise<string> {
    const bytes = PublicKeyCodec.toBytes(this.#engine, this.#receiverPk);
    await this.api.json('PUT', this.#fed(federation, '/receiver-key'), bytes);
    return createHash('sha256').update(bytes).digest('hex');
  }

  /**
   * Waits until the job is in one of `states` (or fails).
   * @throws Error when the job failed, was cancelled or expired, or on timeout
   * @example
   * ```ts
   * const job = await builder.waitJob('failure-classifier', ['computed']);
   * ```
   */
  async waitJob(jobId: string, states: readonly string[], timeoutMs = 150_000): Promise<JobView> {
    return until(`job ${jobId} to be ${states.join(' or ')}`, async () => {
      const j = await this.api.json<JobView>('GET', `/v1/tenants/${this.tenant}/jobs/${jobId}`);
      if (['failed', 'cancelled', 'expired'].includes(j.state)) throw new Error(`cannot run the demo: job ${jobId} ${j.state}${j.error ? `: ${j.error}` : ''}`);
      return states.includes(j.state) ? j : undefined;
    }, timeoutMs, 200);
  }

  /**
   * The builder's reveal share, made as every key holder makes one: after checking the guards, a
   * single-use share flooded with noise and switched to the registered receiver key.
   * @throws ComputeError `COMPUTE_ERR_GUARD` when the plan is below the guards
   * @example
   * ```ts
   * await builder.revealShare('failure-classifier', 'ai4i', { minPlants: 3, minRecords: 1000 });
   * ```
   */
  async revealShare(jobId: string, federation: string, guards: { readonly minPlants: number; readonly minRecords: number }): Promise<void> {
    const base = `/v1/tenants/${this.tenant}/jobs/${jobId}`;
    const req = await this.api.json<{ plan: JobPlan; parties: number }>('GET', `${base}/reveal-request`);
    const accs = decodePartial(this.#engine, await this.api.raw('GET', `${base}/aggregate`), req.plan.aggregation.stats.length);
    try {
      using receiver = PublicKeyCodec.fromBytes(this.#engine, await this.api.raw('GET', this.#fed(federation, '/material/receiver-key')));
      const share = makeRevealShare(this.#engine, this.#secret, { jobId, plan: req.plan, input: sumRevealInput(this.#engine, accs), receiver, parties: req.parties }, guards, this.#ledger);
      await this.api.json('POST', `${base}/reveal-shares`, share);
    } finally {
      for (const ct of accs) ct[Symbol.dispose]();
    }
  }

  /**
   * The revealed job's result, re-encrypted to the builder's key, decrypted to its moments.
   * @throws ApiError when the job is not revealed
   * @example
   * ```ts
   * const { plan, moments } = await builder.moments('failure-classifier', schema);
   * ```
   */
  async moments(jobId: string, schema: DatasetSchema): Promise<{ plan: JobPlan; moments: Moments }> {
    const base = `/v1/tenants/${this.tenant}/jobs/${jobId}`;
    const plan = await this.api.json<JobPlan>('GET', `${base}/plan`);
    using switched = CiphertextCodec.fromBytes(this.#engine, await this.api.raw('GET', `${base}/result`));
    return { plan, moments: receiveMoments(this.#engine, schema, plan, switched, this.#receiverSk) };
  }

  /**
   * Registers a model fitted from a revealed job (the registry assigns version and lineage; the
   * training moments ride inside the artifact as the gateways' reference) and returns its version.
   * @throws ApiError (422 when the model does not match the job)
   * @example
   * ```ts
   * const version = await builder.register('ai4i-failure', 'failure-classifier', plan, fitDiscriminant(schema, moments), moments);
   * ```
   */
  async register(modelId: string, jobId: string, plan: JobPlan, model: Model, moments: Moments): Promise<number> {
    const artifact = modelToArtifact(model, { modelId, modelVersion: 1, lineage: { jobId, plants: [...plan.plants], batchHashes: plan.batches.map((b) => b.contentHash) }, reference: moments });
    return (await this.api.json<{ version: number }>('POST', `/v1/tenants/${this.tenant}/models/${modelId}/versions`, { jobId, artifact })).version;
  }

  /**
   * Signs and publishes a version to the plants' fleets through the cloud's TUF repository.
   * @throws ApiError (409 `CLOUD_ERR_ROLLBACK_REFUSED` for a version below a fleet's)
   * @example
   * ```ts
   * await builder.release('ai4i-failure', 1, ['plant-l', 'plant-m', 'plant-h']);
   * ```
   */
  release(modelId: string, version: number, fleets: readonly string[]): Promise<Deployment[]> {
    return this.api.json<Deployment[]>('POST', `/v1/tenants/${this.tenant}/models/${modelId}/releases`, { version, fleets });
  }

  /** Wipes the key share and frees the receiver keys. */
  [Symbol.dispose](): void {
    this.#secret.wipe();
    this.#receiverPk[Symbol.dispose]();
    this.#receiverSk[Symbol.dispose]();
  }
}
