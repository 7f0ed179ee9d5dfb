/**
 * One plant of the demo, as its admin would set it up: the gateway enrolled with the cloud (a
 * client certificate from a one-time token and a CSR), the plant's files — data policy,
 * pseudonymisation key, custody key of the key share, admin token, the dataset schema agreed with
 * the builder, the TUF root it was provisioned with — and the gateway configuration
 * (`hedge edge start --config gateway.yaml`, docs/edge.md) for its two phases:
 *
 * - **history**: the plant's past rows of the AI4I 2020 file replayed through the CSV connector
 *   (encrypted, uploaded, trained on);
 * - **live**: the plant's milling machines behind a real OPC UA server (`MillingMachineSim`), read
 *   by the gateway's OPC UA connector and answered by the models it received.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gatewayCsr } from '../cloud/pki.ts';
import { MILLING_SIGNALS } from '../edge/sim/milling-machine.ts';
import { Api } from './api.ts';

/** The signals the plants share, with their ranges (the schema's and the policy's). */
export const FEATURES = [
  { name: 'air_temperature', lo: 295, hi: 305, unit: 'K', column: 'Air temperature [K]' },
  { name: 'process_temperature', lo: 305, hi: 315, unit: 'K', column: 'Process temperature [K]' },
  { name: 'rotational_speed', lo: 1100, hi: 2900, unit: 'rpm', column: 'Rotational speed [rpm]' },
  { name: 'torque', lo: 0, hi: 80, unit: 'Nm', column: 'Torque [Nm]' },
  { name: 'tool_wear', lo: 0, hi: 260, unit: 'min', column: 'Tool wear [min]' },
] as const;

/** The dataset schema the builder and the plants agree on (src/models/schema.ts). */
export const SCHEMA_LITERAL = {
  features: FEATURES.map(({ name, lo, hi, unit }) => ({ name, lo, hi, unit })),
  label: { kind: 'categorical', name: 'machine_failure', classes: ['ok', 'failure'] },
} as const;

/** The data policy every demo plant uses (docs/edge.md, "Data policy"). */
export const DEMO_POLICY = `version: 1
machineIds:
  keyFile: pseudonym.key
minBatchSize: 64
signals:
${FEATURES.map((f) => `  ${f.name}:
    classification: internal
    share: true
    unit: ${f.unit}
    range: { lo: ${f.lo}, hi: ${f.hi} }
    outOfRange: reject`).join('\n')}
  machine_failure:
    classification: internal
    share: false
label:
  signal: machine_failure
  classes:
    - { raw: 1, name: failure }
    - { raw: 0, name: ok }
`;

/** The models every gateway runs, with the decision it falls back to when a model abstains. */
export const DEMO_MODELS = [
  { id: 'ai4i-failure', fallback: '{ rule: constant, output: ok }' },
  { id: 'ai4i-anomaly', fallback: '{ rule: constant, output: true }' },
] as const;

/** A provisioned plant. */
export interface Plant {
  readonly tenant: string;
  /** The AI4I product type whose rows are this plant's (L, M or H). */
  readonly type: string;
  readonly dir: string;
  /** The admin token of the gateway's local endpoint (`hedge edge approve --token-file`). */
  readonly adminTokenFile: string;
  /** The history phase's gateway configuration. */
  readonly historyConfig: string;
  /** Writes the live phase's configuration (the OPC UA server's machines) and returns its path. */
  liveConfig(endpointUrl: string, machines: readonly string[], nodeId: (machine: string, signal: (typeof MILLING_SIGNALS)[number]['signal']) => string): string;
}

/** Options of {@link provisionPlant}. */
export interface ProvisionOptions {
  readonly tenant: string;
  readonly type: string;
  readonly dir: string;
  /** The plant admin's API connection (logged in). */
  readonly admin: Api;
  readonly cloudUrl: string;
  /** The cloud's CA file, and its TUF root metadata (both handed to the plant out of band). */
  readonly caFile: string;
  readonly tufRoot: string;
  readonly federation: string;
  readonly dataset: string;
  /** The plant's history: the AI4I header line and its rows. */
  readonly header: string;
  readonly rows: readonly string[];
  readonly guards: { readonly minPlants: number; readonly minRecords: number };
}

/**
 * Enrols the plant's gateway and writes its files.
 * @throws ApiError when the cloud refuses the enrolment
 * @example
 * ```ts
 * const plant = await provisionPlant({ tenant: 'plant-l', type: 'L', dir, admin, cloudUrl, caFile, tufRoot, federation: 'ai4i', dataset: 'ai4i', header, rows, guards });
 * const edge = await startEdge(await loadEdgeConfig(plant.historyConfig));
 * ```
 */
export async function provisionPlant(o: ProvisionOptions): Promise<Plant> {
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const file = (name: string, text: string | Uint8Array, mode = 0o644): string => {
    const f = path.join(o.dir, name);
    writeFileSync(f, text, { mode });
    return f;
  };
  // Enrolment: the admin makes a one-time token; the gateway redeems it with its CSR.
  const { token } = await o.admin.json<{ token: string }>('POST', `/v1/tenants/${o.tenant}/enrolments`, { gateway: 'gw-1' });
  const key = await gatewayCsr(`${o.tenant}-gw-1`);
  const enrol = new Api(o.cloudUrl, { ca: readFileSync(o.caFile, 'utf8') });
  let certificate: string;
  try {
    ({ certificate } = await enrol.json<{ certificate: string }>('POST', '/v1/enrol', { token, csr: key.csr }));
  } finally {
    enrol.close();
  }
  file('gateway.pem', certificate);
  file('gateway.key', key.privateKeyPem, 0o600);
  file('history.csv', [o.header, ...o.rows].join('\n') + '\n');
  file('policy.yaml', DEMO_POLICY);
  file('pseudonym.key', randomBytes(32).toString('hex'), 0o600);
  file('custody.key', randomBytes(32), 0o600);
  const adminTokenFile = file('admin.token', randomBytes(32).toString('hex'), 0o600);
  file('schema.json', JSON.stringify(SCHEMA_LITERAL, null, 2));
  file('tuf-root.json', o.tufRoot);
  const yaml = (connectors: readonly string[]): string => [
    '# hedge edge start --config <this file> (docs/edge.md, "hedge edge start")',
    'version: 1', `tenant: ${o.tenant}`, `federation: ${o.federation}`, 'stateDir: state', 'sealIntervalMs: 200',
    'cloud:', `  url: ${o.cloudUrl}`, `  ca: ${o.caFile}`, '  cert: gateway.pem', '  key: gateway.key', '  pollMs: 200',
    'policy: policy.yaml',
    'keyHolder:', '  custody: { keyFile: custody.key }', `  policy: { minPlants: ${o.guards.minPlants}, minRecords: ${o.guards.minRecords}, maxRevealsPerDay: 10 }`,
    'connectors:', ...connectors,
    'datasets:', `  - id: ${o.dataset}`, '    schema: schema.json', '    source: samples', '    batchSize: 4096',
    'models:', `  fleet: ${o.tenant}`, '  trustedRoot: tuf-root.json', `  repository: ${o.cloudUrl}/tuf`, '  checkMs: 500', '  endpoint: { port: 0 }',
    '  run:', ...DEMO_MODELS.map((m) => `    - { id: ${m.id}, rangeMargin: 0.05, fallback: ${m.fallback} }`),
    'admin: { tokenFile: admin.token }', '',
  ].join('\n');
  const historyConfig = file('gateway.yaml', yaml(['  - kind: csv', '    path: history.csv', '    layout: ai4i', `    machineId: ${o.type.toLowerCase()}-history`, '    stepMs: 60000']));
  return {
    tenant: o.tenant, type: o.type, dir: o.dir, adminTokenFile, historyConfig,
    liveConfig(endpointUrl, machines, nodeId) {
      return file('gateway-live.yaml', yaml([
        '  - kind: opcua', `    endpointUrl: ${endpointUrl}`, '    pkiDir: opcua-pki', '    machines:',
        ...machines.flatMap((m) => [`      - machineId: ${m}`, '        signals:', ...MILLING_SIGNALS.map((s) => `          - { name: ${s.signal}, nodeId: "${nodeId(m, s.signal)}" }`)]),
      ]));
    },
  };
}
