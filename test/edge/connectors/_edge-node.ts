/**
 * A simulated Sparkplug B edge node for the host tests, written to the 3.0.0 specification with
 * `mqtt` and `sparkplug-payload`: its Will is an NDEATH at QoS 1 carrying the session's bdSeq,
 * NBIRTH carries that bdSeq, `Node Control/Rebirth` and every metric with an alias, and every
 * message after the birth carries seq + 1 (mod 256). It answers a rebirth request with a new
 * NBIRTH (and the DBIRTHs) when `answerRebirth` is set. Exports only.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { get } from 'sparkplug-payload';

const codec = get('spBv1.0')!;
type UMetric = NonNullable<Parameters<typeof codec.encodePayload>[0]['metrics']>[number];

export const BROKER = 'mqtt://127.0.0.1:1883';

/** A metric of the simulated node: name, alias, type and current value. */
export interface TestMetric {
  name: string;
  alias: number;
  type: 'Double' | 'Int32' | 'Boolean' | 'String' | 'UInt64';
  value: number | boolean | string | null;
}

export class TestEdgeNode {
  readonly group: string;
  readonly node: string;
  readonly metrics: TestMetric[];
  readonly devices = new Map<string, TestMetric[]>();
  /** Rebirth requests received (NCMD Node Control/Rebirth = true). */
  readonly rebirthRequests: number[] = [];
  answerRebirth = false;
  bdSeq: number;
  #seq = 0;
  #client: MqttClient | undefined;

  constructor(group: string, node: string, metrics: TestMetric[], bdSeq = 0) {
    this.group = group;
    this.node = node;
    this.metrics = metrics;
    this.bdSeq = bdSeq;
  }

  topic(type: string, device?: string): string {
    return `spBv1.0/${this.group}/${type}/${this.node}${device === undefined ? '' : `/${device}`}`;
  }

  /** Connects with the NDEATH Will, subscribes to its NCMD, publishes NBIRTH. */
  async connect(): Promise<void> {
    this.#client = await connectAsync(BROKER, {
      clientId: `edge-${this.group}-${this.node}-${this.bdSeq}`, clean: true, reconnectPeriod: 0,
      will: { topic: this.topic('NDEATH'), payload: Buffer.from(codec.encodePayload({ timestamp: Date.now(), metrics: [this.#bdSeqMetric()] })), qos: 1, retain: false },
    });
    this.#client.on('message', (_topic, payload) => {
      const p = codec.decodePayload(payload);
      if (p.metrics?.some((m) => m.name === 'Node Control/Rebirth' && m.value === true)) {
        this.rebirthRequests.push(Date.now());
        if (this.answerRebirth) this.birth().catch(() => {});
      }
    });
    await this.#client.subscribeAsync(this.topic('NCMD'), { qos: 1 });
    await this.birth();
  }

  /** NBIRTH (seq 0) with every node metric, then a DBIRTH per device. */
  async birth(): Promise<void> {
    this.#seq = 0;
    await this.#publish('NBIRTH', undefined, [this.#bdSeqMetric(), { name: 'Node Control/Rebirth', type: 'Boolean', value: false }, ...this.metrics.map(full)], 0);
    for (const [device, metrics] of this.devices) await this.dbirth(device, metrics);
  }

  async dbirth(device: string, metrics: TestMetric[]): Promise<void> {
    this.devices.set(device, metrics);
    await this.#publish('DBIRTH', device, metrics.map(full));
  }

  /** NDATA naming metrics by alias only; `seq` overrides the sequence number (to simulate loss). */
  async ndata(values: Record<number, number | boolean | null>, options: { seq?: number; timestamp?: number } = {}): Promise<void> {
    await this.#publish('NDATA', undefined, this.#byAlias(this.metrics, values, options.timestamp), options.seq);
  }

  /** Skips a sequence number, as if a message were lost on the way. */
  skip(): void {
    this.#seq = (this.#seq + 1) % 256;
  }

  async ddata(device: string, values: Record<number, number | boolean | null>): Promise<void> {
    await this.#publish('DDATA', device, this.#byAlias(this.devices.get(device)!, values));
  }

  async ddeath(device: string): Promise<void> {
    await this.#publish('DDEATH', device, []);
  }

  /** Publishes raw bytes on one of the node's topics. */
  async raw(type: string, payload: Buffer | Uint8Array, device?: string): Promise<void> {
    await this.#client!.publishAsync(this.topic(type, device), Buffer.from(payload), { qos: 1 });
  }

  /** Drops the TCP connection without DISCONNECT, so the broker publishes the Will (NDEATH). */
  crash(): void {
    this.#client!.stream.destroy();
    this.#client!.end(true);
  }

  async close(): Promise<void> {
    await this.#client?.endAsync(true);
  }

  #bdSeqMetric(): UMetric {
    return { name: 'bdSeq', type: 'UInt64', value: this.bdSeq };
  }

  #byAlias(metrics: TestMetric[], values: Record<number, number | boolean | null>, timestamp?: number): UMetric[] {
    return Object.entries(values).map(([alias, value]) => {
      const m = metrics.find((x) => x.alias === Number(alias));
      if (m !== undefined) m.value = value;
      return { alias: Number(alias), type: m?.type ?? 'Double', value, ...(timestamp === undefined ? {} : { timestamp }) } as UMetric;
    });
  }

  async #publish(type: string, device: string | undefined, metrics: UMetric[], seq?: number): Promise<void> {
    const s = seq ?? (this.#seq = (this.#seq + 1) % 256);
    if (seq !== undefined) this.#seq = seq;
    const payload = codec.encodePayload({ timestamp: Date.now(), seq: s, metrics });
    await this.#client!.publishAsync(this.topic(type, device), Buffer.from(payload), { qos: 1 });
  }
}

function full(m: TestMetric): UMetric {
  return { name: m.name, alias: m.alias, type: m.type, value: m.value } as UMetric;
}
