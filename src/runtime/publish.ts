/**
 * Publishing inference results inside the plant (DESIGN §7): every controlled
 * decision on an MQTT topic of the plant's broker, and a local HTTP endpoint
 * for the plant's own systems (MES, dashboards) to ask the active models and
 * read their state. Results never leave the plant through these; the cloud only
 * sees the audit summaries (audit.ts).
 *
 * Topic: `<prefix>/<model>/<machine>`, QoS 1, one JSON object per decision
 * ({@link PublishedDecision}). Endpoint (127.0.0.1 by default):
 * - `GET /v1/models` — each model's active version and decision counts;
 * - `POST /v1/models/:model/predict` with `{ "record": [numbers in schema order] }` — the
 *   controlled decision (counted like any live record);
 * - `GET /v1/models/:model/decisions` — the last decisions published for that model.
 */
import fastify, { type FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import type { ModelSlots } from './activation.ts';
import type { Decision } from './controls.ts';
import { RUNTIME_ERR, RuntimeError } from './errors.ts';

/** One decision as published on MQTT and kept for the endpoint. */
export interface PublishedDecision {
  readonly model: string;
  readonly version: number;
  /** The machine's id inside the plant. */
  readonly machine: string;
  /** Time of the record, ISO 8601. */
  readonly time: string;
  readonly answer: Decision['answer'];
  readonly source: Decision['source'];
  readonly abstained: boolean;
  readonly reasons: readonly string[];
  readonly clamped: boolean;
}

/** Turns a controlled decision into what is published. */
export function publishedDecision(slots: ModelSlots, machine: string, time: Date, d: Decision): PublishedDecision {
  return { model: slots.modelId, version: slots.activeVersion ?? 0, machine, time: time.toISOString(), answer: d.answer, source: d.source, abstained: d.abstained, reasons: [...d.reasons], clamped: d.clamped };
}

const TOPIC_PART = /^[A-Za-z0-9._-]{1,128}$/;

/** Publishes decisions to the plant's MQTT broker. */
export class DecisionPublisher {
  readonly #client: MqttClient;
  readonly #prefix: string;

  private constructor(client: MqttClient, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  /**
   * Connects to the broker.
   *
   * @throws RuntimeError `RUNTIME_ERR_OUT_OF_RANGE`-coded RangeError for a bad prefix; the mqtt
   *   error when the broker is unreachable
   * @example
   * ```ts
   * const publisher = await DecisionPublisher.connect({ url: 'mqtt://127.0.0.1:1883', prefix: 'hedge/plant-L/inference' });
   * ```
   */
  static async connect(options: { url: string; prefix: string; clientId?: string }): Promise<DecisionPublisher> {
    if (typeof options?.prefix !== 'string' || !options.prefix.split('/').every((p) => TOPIC_PART.test(p))) {
      throw new RangeError(`cannot connect decision publisher: prefix must be /-separated parts of [A-Za-z0-9._-], got ${String(options?.prefix)}`);
    }
    const client = await mqtt.connectAsync(options.url, { clientId: options.clientId, reconnectPeriod: 1000, connectTimeout: 5000 });
    return new DecisionPublisher(client, options.prefix);
  }

  /**
   * Publishes one decision (QoS 1: the broker has it when this resolves).
   *
   * @throws RangeError when the model or machine id cannot be a topic level
   */
  async publish(d: PublishedDecision): Promise<void> {
    if (!TOPIC_PART.test(d.model) || !TOPIC_PART.test(d.machine)) throw new RangeError(`cannot publish decision: model and machine must be topic-safe ids, got ${d.model} / ${d.machine}`);
    await this.#client.publishAsync(`${this.#prefix}/${d.model}/${d.machine}`, JSON.stringify(d), { qos: 1 });
  }

  /** Disconnects (after in-flight messages). */
  async close(): Promise<void> {
    await this.#client.endAsync();
  }
}

/** Options of {@link startInferenceEndpoint}. */
export interface EndpointOptions {
  /** The gateway's model slots by model id. */
  readonly models: ReadonlyMap<string, ModelSlots>;
  /** Interface to listen on (default 127.0.0.1: the plant's network, never the internet). */
  readonly host?: string;
  /** Port (default 0: any free port). */
  readonly port?: number;
  /** Decisions kept per model for `GET …/decisions` (default 100). */
  readonly keep?: number;
  /** Also publish endpoint decisions (e.g. to MQTT). */
  readonly onDecision?: (d: PublishedDecision) => Promise<void>;
}

/** A running endpoint. */
export interface InferenceEndpoint {
  readonly url: string;
  /** Records a decision made elsewhere (live records) so `GET …/decisions` shows it. */
  remember(d: PublishedDecision): void;
  close(): Promise<void>;
  /** The fastify app (for `inject()` in tests). */
  readonly app: FastifyInstance;
}

const errorBody = { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } as const;

/**
 * Starts the local inference endpoint.
 *
 * @example
 * ```ts
 * const endpoint = await startInferenceEndpoint({ models: new Map([['ai4i-failure', slots]]) });
 * ```
 */
export async function startInferenceEndpoint(options: EndpointOptions): Promise<InferenceEndpoint> {
  const keep = options.keep ?? 100;
  const recent = new Map<string, PublishedDecision[]>();
  const remember = (d: PublishedDecision): void => {
    const list = recent.get(d.model) ?? [];
    list.push(d);
    if (list.length > keep) list.splice(0, list.length - keep);
    recent.set(d.model, list);
  };
  const app = fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.setErrorHandler((err: { validation?: unknown; statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (err.validation) return reply.code(400).send({ code: 'RUNTIME_ERR_OUT_OF_RANGE', message: `cannot predict: ${err.message}` });
    if (err instanceof RuntimeError) return reply.code(err.code === RUNTIME_ERR.NO_ACTIVE_MODEL ? 409 : 400).send({ code: err.code, message: err.message });
    if (err instanceof RangeError || err instanceof TypeError) return reply.code(400).send({ code: (err as { code?: string }).code ?? 'RUNTIME_ERR_OUT_OF_RANGE', message: err.message });
    if ((err.statusCode ?? 500) < 500) return reply.code(err.statusCode!).send({ code: RUNTIME_ERR.ENDPOINT, message: `cannot answer: ${err.message}` });
    return reply.code(500).send({ code: RUNTIME_ERR.ENDPOINT, message: 'cannot answer: internal error' });
  });
  const slotsOf = (model: string): ModelSlots => {
    const s = options.models.get(model);
    if (s === undefined) throw new RuntimeError(RUNTIME_ERR.NO_ACTIVE_MODEL, `cannot predict: no model '${model}' at this gateway`);
    return s;
  };
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: RUNTIME_ERR.ENDPOINT, message: 'cannot answer: no such route' }));
  app.get('/v1/models', async () => [...options.models.values()].map((s) => ({ model: s.modelId, activeVersion: s.activeVersion, counts: s.active?.counts() ?? null })));
  app.post<{ Params: { model: string }; Body: { record: number[]; machine?: string } }>('/v1/models/:model/predict', {
    schema: {
      params: { type: 'object', properties: { model: { type: 'string', pattern: TOPIC_PART.source } }, required: ['model'] },
      body: {
        type: 'object', additionalProperties: false, required: ['record'],
        properties: { record: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 4096 }, machine: { type: 'string', pattern: TOPIC_PART.source } },
      },
      response: { 400: errorBody, 404: errorBody, 409: errorBody },
    },
  }, async (req) => {
    const slots = slotsOf(req.params.model);
    const d = publishedDecision(slots, req.body.machine ?? 'endpoint', new Date(), await slots.predict(req.body.record));
    remember(d);
    await options.onDecision?.(d);
    return d;
  });
  app.get<{ Params: { model: string } }>('/v1/models/:model/decisions', async (req) => {
    slotsOf(req.params.model);
    return recent.get(req.params.model) ?? [];
  });
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return { url: address, remember, app, close: () => app.close() };
}
