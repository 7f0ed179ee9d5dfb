/**
 * The model runtime inside `hedge edge start` (DESIGN.md §7; docs/runtime.md): for each configured
 * model id, verified delivery (`ModelDelivery`, the cloud's TUF repository or a mirror folder),
 * loading under output controls (`createControls` with the model's training moments), the local
 * slot (`ModelSlots`: shadow run, activation, health check, rollback, history), inference on the
 * gateway's live records, and the decisions published inside the plant (MQTT `DecisionPublisher`,
 * the local HTTP endpoint).
 *
 * A verified artifact is kept in `<stateDir>/models/` once activated, so that after a restart the
 * active version (named by the history, pinned by its SHA-256) is resumed without the network.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { momentsFromJSON, type Moments } from '../models/moments.ts';
import { createControls, type ControlsConfig } from '../runtime/controls.ts';
import { ModelDelivery, type DeliverySource } from '../runtime/delivery.ts';
import { ModelSlots, type HistoryEntry } from '../runtime/activation.ts';
import { loadModel } from '../runtime/load.ts';
import { DecisionPublisher, publishedDecision, startInferenceEndpoint, type InferenceEndpoint, type PublishedDecision } from '../runtime/publish.ts';
import { RUNTIME_ERR, RuntimeError } from '../runtime/errors.ts';
import { createDriftMonitor, referenceFromMoments, type DriftMonitor } from '../runtime/drift.ts';
import { summariseInference, type InferenceSummary } from '../runtime/audit.ts';
import { EDGE_ERR, EdgeError } from './errors.ts';

/** One model the gateway runs. */
export interface ModelRunConfig {
  readonly id: string;
  /**
   * A file with the model's training moments (`momentsToJSON`); absent, the moments shipped inside
   * the delivered artifact are used (the builder includes them at registration).
   */
  readonly moments?: string;
  readonly controls: ControlsConfig;
}

/** The `models` section of the gateway configuration. */
export interface ModelsConfig {
  /** This gateway's fleet in the TUF repository (`fleet-<fleet>`). */
  readonly fleet: string;
  /** The root metadata the gateway was provisioned with (JSON text). */
  readonly trustedRoot: string;
  /** The repository: the cloud over HTTP(S) (`tls`: its CA and this gateway's certificate), or a mirror folder. */
  readonly source: DeliverySource;
  /** How often the repository is checked for newer versions (ms). */
  readonly checkMs: number;
  readonly mqtt?: { readonly url: string; readonly prefix: string };
  readonly endpoint?: { readonly host: string; readonly port: number };
  readonly run: readonly ModelRunConfig[];
}

/** What the model runtime reports. */
export type ModelEvent =
  | { readonly kind: 'activated'; readonly modelId: string; readonly version: number }
  | { readonly kind: 'drift'; readonly modelId: string; readonly features: readonly string[] }
  | { readonly kind: 'error'; readonly error: Error };

/** Figures of the model runtime. */
export interface ModelsMetrics {
  /** Per model: the active version (null: none), live decisions made, records dropped because inference fell behind. */
  readonly models: Readonly<Record<string, { readonly activeVersion: number | null; readonly decisions: number; readonly dropped: number; readonly skipped: number }>>;
  /** The local endpoint's URL, when configured. */
  readonly endpoint?: string;
}

interface Slot {
  readonly config: ModelRunConfig;
  /** The training moments from the config's file, or undefined: then the artifact's. */
  readonly moments: Moments | undefined;
  readonly slots: ModelSlots;
  features: string[];
  chain: Promise<void>;
  pending: number;
  decisions: number;
  dropped: number;
  skipped: number;
  /** Drift of the live records against the training reference (a Gaussian one from the moments). */
  drift: DriftMonitor | undefined;
  alarmsSeen: number;
  /** Start of the period the next summary covers. */
  since: Date;
  /** Last history entry sent to the cloud (in memory: after a restart the history is sent again; the cloud keeps each entry once). */
  reportedSeq: number;
}

const MAX_PENDING = 10_000;

/**
 * The gateway's models: delivery, activation, live inference, publishing.
 *
 * @example
 * ```ts
 * const models = await EdgeModels.open(config.models, stateDir, (e) => log(e));
 * await models.check();                                  // newer verified versions → shadow → activate
 * models.infer('m-…', Date.now(), { air_temperature: 300.1, torque: 41.2 });
 * ```
 */
export class EdgeModels {
  readonly #dir: string;
  readonly #delivery: ModelDelivery;
  readonly #slots: Slot[];
  readonly #emit: (e: ModelEvent) => void;
  readonly #publisher: DecisionPublisher | undefined;
  readonly #endpoint: InferenceEndpoint | undefined;

  private constructor(dir: string, delivery: ModelDelivery, slots: Slot[], emit: (e: ModelEvent) => void, publisher?: DecisionPublisher, endpoint?: InferenceEndpoint) {
    this.#dir = dir;
    this.#delivery = delivery;
    this.#slots = slots;
    this.#emit = emit;
    this.#publisher = publisher;
    this.#endpoint = endpoint;
  }

  /**
   * Opens delivery and the slots (`<stateDir>/models/`), resumes each model's active version from
   * its kept artifact, connects the MQTT publisher and starts the local endpoint.
   *
   * @throws EdgeError `EDGE_ERR_CONFIG_INVALID` (a moments file unreadable or not moments)
   * @throws RuntimeError the errors of `ModelDelivery.open`, `ModelSlots.open`, `DecisionPublisher.connect`
   * @example
   * ```ts
   * const models = await EdgeModels.open(config.models, '/var/lib/hedge', console.log);
   * ```
   */
  static async open(config: ModelsConfig, stateDir: string, emit: (e: ModelEvent) => void): Promise<EdgeModels> {
    const dir = path.join(stateDir, 'models');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const delivery = await ModelDelivery.open({ fleet: config.fleet, trustedRoot: config.trustedRoot, stateDir: path.join(dir, 'tuf'), source: config.source });
    const slots: Slot[] = [];
    for (const run of config.run) {
      let moments: Moments | undefined;
      try {
        if (run.moments !== undefined) moments = momentsFromJSON(JSON.parse(readFileSync(run.moments, 'utf8')));
      } catch (e) {
        throw new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot start models: ${run.moments} (model ${run.id}) is not a readable moments file (${(e as Error).message})`, { cause: e });
      }
      const s = await ModelSlots.open({ historyPath: path.join(dir, `${run.id}.history.json`), modelId: run.id });
      slots.push({ config: run, moments, slots: s, features: [], chain: Promise.resolve(), pending: 0, decisions: 0, dropped: 0, skipped: 0, drift: undefined, alarmsSeen: 0, since: new Date(), reportedSeq: 0 });
    }
    let publisher: DecisionPublisher | undefined;
    let endpoint: InferenceEndpoint | undefined;
    if (config.mqtt !== undefined) publisher = await DecisionPublisher.connect({ url: config.mqtt.url, prefix: config.mqtt.prefix });
    if (config.endpoint !== undefined) {
      endpoint = await startInferenceEndpoint({
        models: new Map(slots.map((s) => [s.config.id, s.slots])), host: config.endpoint.host, port: config.endpoint.port,
        ...(publisher === undefined ? {} : { onDecision: (d: PublishedDecision) => publisher!.publish(d) }),
      });
    }
    const models = new EdgeModels(dir, delivery, slots, emit, publisher, endpoint);
    for (const s of slots) await models.#resume(s);
    return models;
  }

  /** The local endpoint's URL, when configured. */
  get endpointUrl(): string | undefined {
    return this.#endpoint?.url;
  }

  async #resume(s: Slot): Promise<void> {
    const version = s.slots.activeVersion;
    if (version === null) return;
    const sha256 = s.slots.history({ version }).at(-1)?.sha256;
    try {
      if (typeof sha256 !== 'string') throw new Error('the history names no artifact hash for it');
      const bytes = readFileSync(this.#artifactPath(s.config.id, version));
      await this.#install(s, bytes, { sha256, version }, true);
    } catch (e) {
      this.#emit({ kind: 'error', error: new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot resume model ${s.config.id} v${version}: ${(e as Error).message}`, { cause: e }) });
    }
  }

  #artifactPath(id: string, version: number): string {
    return path.join(this.#dir, `${id}.v${version}`);
  }

  async #install(s: Slot, bytes: Uint8Array, expect: { sha256: string; version: number }, resume: boolean): Promise<void> {
    const model = await loadModel(bytes, { expect: { sha256: expect.sha256, modelId: s.config.id, modelVersion: expect.version } });
    const reference = s.moments ?? model.reference;
    if (reference === undefined) {
      await model.close();
      throw new EdgeError(EDGE_ERR.CONFIG_INVALID, `cannot run model ${s.config.id} v${expect.version}: its artifact ships no training moments and the config names no moments file`);
    }
    const controlled = createControls(model, reference, s.config.controls);
    if (resume) s.slots.resume(controlled);
    else {
      await s.slots.stage(controlled);
      writeFileSync(this.#artifactPath(s.config.id, expect.version), bytes, { mode: 0o600 });
      await s.slots.activate({ actor: 'hedge-edge', reason: `verified delivery of v${expect.version}` });
      this.#emit({ kind: 'activated', modelId: s.config.id, version: expect.version });
    }
    s.features = model.schema.features.map((f) => f.name);
    s.drift = createDriftMonitor(referenceFromMoments(model.schema, reference));
    s.alarmsSeen = 0;
  }

  /**
   * Asks the repository for a newer verified version of each model; stages it (shadow run) and
   * activates it, or leaves it staged while the shadow run has too few records. Failures are
   * reported (`error` events), never thrown: the active version keeps serving.
   * @example
   * ```ts
   * setInterval(() => void models.check(), 60_000);
   * ```
   */
  async check(): Promise<void> {
    for (const s of this.#slots) {
      try {
        if (s.slots.shadow !== undefined) {
          const v = s.slots.shadow.candidateVersion;
          await s.slots.activate({ actor: 'hedge-edge', reason: `verified delivery of v${v}` });
          this.#emit({ kind: 'activated', modelId: s.config.id, version: v });
          continue;
        }
        const got = await this.#delivery.newerThan(s.config.id, s.slots.activeVersion ?? 0);
        if (got === null || s.slots.failedVersions.includes(got.version)) continue;
        await this.#install(s, got.bytes, { sha256: got.sha256, version: got.version }, false);
      } catch (e) {
        if (e instanceof RuntimeError && e.code === RUNTIME_ERR.SHADOW_CHECK) continue; // more shadow records needed
        this.#emit({ kind: 'error', error: e as Error });
      }
    }
  }

  /**
   * Runs every active model whose features `values` holds on one live record (queued; a model
   * that falls `MAX_PENDING` records behind drops records and counts them).
   * @example
   * ```ts
   * models.infer(sample.machine, sample.t, sample.values);
   * ```
   */
  infer(machine: string, t: number, values: Readonly<Record<string, number>>): void {
    for (const s of this.#slots) {
      if (s.slots.active === undefined) continue;
      const record = s.features.map((f) => values[f]);
      if (record.some((v) => v === undefined)) {
        s.skipped++;
        continue;
      }
      if (s.pending >= MAX_PENDING) {
        s.dropped++;
        continue;
      }
      s.pending++;
      s.chain = s.chain.then(async () => {
        try {
          const d = publishedDecision(s.slots, machine, new Date(t), await s.slots.predict(record as number[]));
          s.decisions++;
          const report = s.drift?.update(record as number[]);
          if (report !== undefined && report.alarmsRaised > s.alarmsSeen) {
            s.alarmsSeen = report.alarmsRaised;
            this.#emit({ kind: 'drift', modelId: s.config.id, features: [...report.alarms] });
          }
          this.#endpoint?.remember(d);
          await this.#publisher?.publish(d);
        } catch (e) {
          this.#emit({ kind: 'error', error: e as Error });
        } finally {
          s.pending--;
        }
      });
    }
  }

  /** Resolves once every queued record has been answered. */
  async idle(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.chain));
  }

  /**
   * The inference summary of each active model since the last call (counts, abstentions and drift
   * alarms, no values), and starts a new period. Models with no records in the period are left out.
   * @example
   * ```ts
   * for (const summary of models.takeSummaries()) await cloud.reportInference(summary);
   * ```
   */
  takeSummaries(now: Date = new Date()): InferenceSummary[] {
    const out: InferenceSummary[] = [];
    for (const s of this.#slots) {
      const active = s.slots.active;
      if (active === undefined) continue;
      const counts = active.takeCounts();
      const from = s.since;
      s.since = now;
      if (counts.records === 0) continue;
      out.push(summariseInference({ model: active.model, counts, ...(s.drift === undefined ? {} : { drift: s.drift.report() }), from, to: now < from ? from : now }));
    }
    return out;
  }

  /**
   * Each model's activation history entries not yet taken (activations and rollbacks, automatic
   * ones included; versions, hashes and reasons, no data).
   * @example
   * ```ts
   * for (const { modelId, entries } of models.takeHistory()) await cloud.reportActivations(modelId, entries);
   * ```
   */
  takeHistory(): { readonly modelId: string; readonly entries: readonly HistoryEntry[] }[] {
    const out: { modelId: string; entries: HistoryEntry[] }[] = [];
    for (const s of this.#slots) {
      const entries = s.slots.history().filter((e) => e.seq > s.reportedSeq);
      if (entries.length === 0) continue;
      s.reportedSeq = entries[entries.length - 1].seq;
      out.push({ modelId: s.config.id, entries: [...entries] });
    }
    return out;
  }

  /** Figures per model. */
  metrics(): ModelsMetrics {
    return {
      models: Object.fromEntries(this.#slots.map((s) => [s.config.id, { activeVersion: s.slots.activeVersion, decisions: s.decisions, dropped: s.dropped, skipped: s.skipped }])),
      ...(this.#endpoint === undefined ? {} : { endpoint: this.#endpoint.url }),
    };
  }

  /** Waits for queued inference, closes the endpoint, the publisher and the loaded models. */
  async close(): Promise<void> {
    await this.idle();
    await this.#endpoint?.close();
    await this.#publisher?.close();
    for (const s of this.#slots) await s.slots.active?.model.close();
  }
}
