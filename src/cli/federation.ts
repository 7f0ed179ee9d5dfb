/**
 * `hedge federation create|status` and `hedge dataset create`: the machine builder sets up a
 * federation (its tenant receives the results) and defines its dataset; any member reads the
 * key ceremony's state.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';
import { connect, print, withConnection, type ConnectionOptions } from './client.ts';

interface FederationView { id: string; preset: string; receiver: string; round: string; missing: string[]; members: { tenant: string; role: string; point?: number }[]; guards: { minPlants: number; minRecords: number }; threshold?: number }

const positive = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read ${name}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const collect = (v: string, all: string[] = []): string[] => [...all, v];

function describe(f: FederationView): string {
  const plants = f.members.filter((m) => m.role === 'plant').map((m) => m.tenant);
  const ceremony = f.round === 'ready' ? 'keys ready' : `ceremony round ${f.round}, waiting for ${f.missing.join(', ') || 'nobody'}`;
  const keys = f.threshold !== undefined && f.threshold < f.members.length ? `${f.threshold}-of-${f.members.length} key holders` : `all ${f.members.length} key holders`;
  return `federation ${f.id} (${f.preset}): receiver ${f.receiver}, plants ${plants.join(', ')}, guards ≥${f.guards.minPlants} plants ≥${f.guards.minRecords} records, reveals need ${keys}; ${ceremony}`;
}

/**
 * Registers `hedge federation …` and `hedge dataset …`.
 *
 * @example
 * ```ts
 * registerFederationCommands(program); // hedge federation create mills --preset BGV_AGG_8192 --plant plant-a --plant plant-b --plant plant-c
 * ```
 */
export function registerFederationCommands(program: Command): void {
  const federation = program.command('federation').description('federations of plants and a machine builder, and their key ceremony');
  withConnection(federation.command('create <id>'))
    .description('create a federation; your tenant (the machine builder) receives its results')
    .requiredOption('--preset <name>', 'parameter preset, e.g. BGV_AGG_8192 (hedge params list)')
    .requiredOption('--plant <tenant>', 'a plant member (repeat for each)', collect)
    .option('--min-plants <n>', 'guard: fewest plants a job may use', positive('--min-plants'), 3)
    .option('--min-records <n>', 'guard: fewest records a job may use', positive('--min-records'), 1000)
    .option('--threshold <t>', 't-of-n: how many key holders (of the plants and you) a reveal needs; default all of them', positive('--threshold'))
    .option('--json', 'print the federation as JSON')
    .action(async (id: string, opts: ConnectionOptions & { preset: string; plant: string[]; minPlants: number; minRecords: number; threshold?: number; json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      const members = [...opts.plant.map((p) => ({ tenant: p, role: 'plant' })), { tenant, role: 'builder' }];
      const f = await client.call<FederationView>('POST', `/v1/tenants/${tenant}/federations`, { id, preset: opts.preset, members, guards: { minPlants: opts.minPlants, minRecords: opts.minRecords }, ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }) });
      print(opts.json, f, describe);
    });
  withConnection(federation.command('status <id>'))
    .description('a federation and the state of its key ceremony (who has not sent a share)')
    .option('--json', 'print the federation as JSON')
    .action(async (id: string, opts: ConnectionOptions & { json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      print(opts.json, await client.call<FederationView>('GET', `/v1/tenants/${tenant}/federations/${encodeURIComponent(id)}`), describe);
    });

  const dataset = program.command('dataset').description('datasets of a federation (the encrypted lake)');
  withConnection(dataset.command('create <id>'))
    .description('define a dataset of a federation: its schema (signals, units, ranges, label) and retention')
    .requiredOption('--federation <id>', 'the federation whose plants upload into it')
    .requiredOption('--schema <file>', 'JSON: { features: [{ name, lo, hi, unit? }], label? } (docs/models.md)')
    .option('--retention-days <n>', 'batches older than this are deleted', positive('--retention-days'), 365)
    .option('--json', 'print the dataset as JSON')
    .action(async (id: string, opts: ConnectionOptions & { federation: string; schema: string; retentionDays: number; json?: boolean }) => {
      let schema: unknown;
      try {
        schema = JSON.parse(await readFile(opts.schema, 'utf8'));
      } catch (cause) {
        throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read schema ${opts.schema}: ${(cause as Error).message}`, { cause, hint: 'a JSON file: { "features": [{ "name": "speed", "lo": 0, "hi": 3000 }] }' });
      }
      const { client, tenant } = await connect(opts);
      const d = await client.call<{ id: string; federation: string; params: string; retentionDays: number }>('POST', `/v1/tenants/${tenant}/datasets`, { id, federation: opts.federation, schema, retentionDays: opts.retentionDays });
      print(opts.json, d, (x) => `dataset ${x.id} of federation ${x.federation} (${x.params}), retention ${x.retentionDays} days`);
    });
}
