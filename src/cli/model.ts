/**
 * `hedge model list|deploy|rollback`: the registry and releases as the machine builder (and, for
 * `list`, a plant) sees them.
 *
 * Rollback is explicit and moves the alias back: `hedge model rollback <model> --to <version>`
 * points the alias (`production` by default) at an older version. Releases to fleets only go
 * forward (TUF and the deployment records refuse an older version, `CLOUD_ERR_ROLLBACK_REFUSED`),
 * so gateways keep the version they have until a plant admin rolls back at the gateway or a newer
 * version is released; the command says so.
 */
import type { Command } from 'commander';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';
import { connect, print, withConnection, type ConnectionOptions } from './client.ts';

interface Summary { modelId: string; owner: string; latest: number; aliases: Record<string, number> }
interface Version {
  modelId: string; version: number; jobId: string; family: string; metrics: Record<string, number>; evaluation?: Record<string, number>;
  lineage: { plants: string[]; batchHashes: string[]; records: number }; lineageDigest: string;
  lineageStatus: { intact: boolean; deleted: { plant: string; reason: string }[] }; registeredAt: string;
}
interface Deployment { fleet: string; modelId: string; version: number; target: string; releasedBy: string; releasedAt: string }

const version = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read ${name}: expected a version ≥ 1, got ${JSON.stringify(v)}`);
  return n;
};
const collect = (v: string, all: string[] = []): string[] => [...all, v];
const metrics = (m: Record<string, number>): string => Object.entries(m).map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join(' ');

function versionLine(v: Version): string {
  const deleted = v.lineageStatus.intact ? 'lineage intact' : `lineage: ${v.lineageStatus.deleted.length} batch(es) deleted since (${[...new Set(v.lineageStatus.deleted.map((d) => `${d.plant} ${d.reason}`))].join(', ')})`;
  return `  v${v.version} ${v.family} from job ${v.jobId}: ${v.lineage.records} records of ${v.lineage.plants.join(', ')}, ${v.lineage.batchHashes.length} batches; ${metrics(v.metrics)}${v.evaluation ? ` | eval ${metrics(v.evaluation)}` : ''}; ${deleted}`;
}

/**
 * Registers `hedge model …`.
 *
 * @example
 * ```ts
 * registerModelCommands(program); // hedge model deploy mills-fail 2 --fleet plant-a --fleet plant-b
 * ```
 */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('the model registry and releases to plants\' gateways');
  withConnection(model.command('list [model]'))
    .description('models (owned, or trained on your plant\'s data); with a model id: its versions, metrics, lineage and deployments')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, opts: ConnectionOptions & { json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      if (id === undefined) {
        const list = await client.call<Summary[]>('GET', `/v1/tenants/${tenant}/models`);
        print(opts.json, list, (l) => (l.length === 0 ? 'no models' : l.map((m) => `${m.modelId} (owner ${m.owner}) latest v${m.latest}${Object.keys(m.aliases).length ? `, ${Object.entries(m.aliases).map(([a, v]) => `${a}→v${v}`).join(', ')}` : ''}`).join('\n')));
        return;
      }
      const m = encodeURIComponent(id);
      const versions = await client.call<Version[]>('GET', `/v1/tenants/${tenant}/models/${m}/versions`);
      const { aliases } = await client.call<{ aliases: { alias: string; version: number }[] }>('GET', `/v1/tenants/${tenant}/models/${m}/aliases`);
      const deployments = await client.call<Deployment[]>('GET', `/v1/tenants/${tenant}/deployments?model=${m}`);
      print(opts.json, { modelId: id, versions, aliases, deployments }, (x) => [
        `${id}: ${x.aliases.map((a) => `${a.alias}→v${a.version}`).join(', ') || 'no aliases'}`,
        ...x.versions.map(versionLine),
        ...x.deployments.map((d) => `  deployed v${d.version} to ${d.fleet} by ${d.releasedBy} at ${d.releasedAt}`),
      ].join('\n'));
    });

  withConnection(model.command('deploy <model> [version]'))
    .description('sign and publish a version (or, with --alias, the version an alias points at) to plants\' gateways through TUF')
    .option('--alias <alias>', 'deploy the version this alias points at, e.g. production')
    .requiredOption('--fleet <plant>', 'a plant whose gateways get it (repeat)', collect)
    .option('--json', 'print the deployment records as JSON')
    .action(async (id: string, given: string | undefined, opts: ConnectionOptions & { alias?: string; fleet: string[]; json?: boolean }) => {
      if ((given === undefined) === (opts.alias === undefined)) throw new CloudError(CLOUD_ERR.VALIDATION, 'cannot deploy: give exactly one of a version and --alias', { hint: 'hedge model deploy <model> <version> --fleet <plant>, or … --alias production' });
      const { client, tenant } = await connect(opts);
      const body = { fleets: opts.fleet, ...(given === undefined ? { alias: opts.alias } : { version: version('version')(given) }) };
      const records = await client.call<Deployment[]>('POST', `/v1/tenants/${tenant}/models/${encodeURIComponent(id)}/releases`, body);
      print(opts.json, records, (r) => r.map((d) => `deployed ${d.modelId} v${d.version} to ${d.fleet} (${d.target})`).join('\n'));
    });

  withConnection(model.command('rollback <model>'))
    .description('move an alias back to an older version (an explicit admin action; fleets keep what they have)')
    .requiredOption('--to <version>', 'the older version the alias goes back to', version('--to'))
    .option('--alias <alias>', 'the alias', 'production')
    .option('--json', 'print the alias as JSON')
    .action(async (id: string, opts: ConnectionOptions & { to: number; alias: string; json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      const m = encodeURIComponent(id);
      const { aliases } = await client.call<{ aliases: { alias: string; version: number }[] }>('GET', `/v1/tenants/${tenant}/models/${m}/aliases`);
      const current = aliases.find((a) => a.alias === opts.alias);
      if (current === undefined) throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot roll back ${id}: it has no alias ${opts.alias}`, { hint: `hedge model list ${id} shows its aliases` });
      if (opts.to >= current.version) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot roll back ${id}: ${opts.alias} is at v${current.version}, v${opts.to} is not older`, { hint: 'to go forward, move the alias or deploy a newer version' });
      const moved = await client.call<{ alias: string; version: number }>('PUT', `/v1/tenants/${tenant}/models/${m}/aliases/${encodeURIComponent(opts.alias)}`, { version: opts.to });
      const deployments = await client.call<Deployment[]>('GET', `/v1/tenants/${tenant}/deployments?model=${m}`);
      const ahead = [...new Set(deployments.filter((d) => d.version > opts.to).map((d) => d.fleet))];
      print(opts.json, { ...moved, from: current.version, fleetsAhead: ahead }, (x) => [
        `${id} ${x.alias}: v${x.from} → v${x.version}`,
        ...(ahead.length ? [`fleets ${ahead.join(', ')} keep their newer version: a plant admin rolls back at the gateway, or deploy a newer version`] : []),
      ].join('\n'));
    });
}
