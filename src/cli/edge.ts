/**
 * `hedge edge`: the plant's gateway (src/edge/service.ts) and what its admin asks of it.
 *
 * - `hedge edge start --config gateway.yaml` runs the gateway until SIGINT / SIGTERM, logging one
 *   JSON line per event to stderr, then stops gracefully (connectors, uploader, gateways, outbox,
 *   key holder).
 * - `hedge edge policy explain --policy policy.yaml [--signals signals.json]` prints what the data
 *   policy lets leave the plant and what it keeps.
 * - `hedge edge approve <job> --admin <url> --token-file <file> --by <name> [--yes]` shows a job's
 *   plan at the running gateway and, with `--yes`, approves its reveal there.
 * - `hedge edge enrol --gateway <id> --out <dir>`: the plant admin (logged in to the plant) enrols
 *   a gateway: a one-time token from the cloud, redeemed at once with a fresh P-256 key's CSR; the
 *   certificate and key land in `<dir>/gateway.pem` and `<dir>/gateway.key` (0600), for
 *   `cloud.cert` / `cloud.key` of the gateway config.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { gatewayCsr } from '../cloud/pki.ts';
import { connect, print, withConnection, type ConnectionOptions } from './client.ts';
import { loadEdgeConfig } from '../edge/config.ts';
import { EDGE_ERR, EdgeError } from '../edge/errors.ts';
import { loadPolicy } from '../edge/policy.ts';
import { explainPolicy, renderExplanation, type SourceSchema } from '../edge/policy-explain.ts';
import { startEdge, type EdgeServiceEvent } from '../edge/service.ts';

function logLine(e: EdgeServiceEvent): string {
  if (e.kind === 'error') {
    const code = (e.error as { code?: unknown }).code;
    return JSON.stringify({ at: new Date().toISOString(), kind: 'error', ...(typeof code === 'string' ? { code } : {}), message: e.error.message });
  }
  return JSON.stringify({ at: new Date().toISOString(), ...e });
}

async function readSignals(file: string): Promise<SourceSchema> {
  try {
    return { signals: JSON.parse(await readFile(file, 'utf8')) as SourceSchema['signals'] };
  } catch (cause) {
    throw new EdgeError(EDGE_ERR.INVALID_ARGUMENT, `cannot explain policy: ${file} is not a readable JSON list of { name, unit?, lo?, hi? }`, { cause });
  }
}

/**
 * Registers `hedge edge start` and `hedge edge policy explain`.
 *
 * @example
 * ```ts
 * registerEdgeCommand(program); // then: hedge edge start --config /etc/hedge/gateway.yaml
 * ```
 */
export function registerEdgeCommand(program: Command): void {
  const edge = program.command('edge').description('the plant gateway: connectors, data policy, encryption and upload, key share, reveals');
  edge
    .command('start')
    .description('run the gateway until SIGINT / SIGTERM')
    .requiredOption('--config <file>', 'the gateway configuration (YAML; docs/edge.md "hedge edge start")')
    .action(async (opts: { config: string }) => {
      const running = await startEdge(await loadEdgeConfig(opts.config), { onEvent: (e) => process.stderr.write(`${logLine(e)}\n`) });
      process.stderr.write(`hedge edge started${running.adminUrl === undefined ? '' : `; admin endpoint ${running.adminUrl}`}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.stop();
      process.stderr.write('hedge edge stopped\n');
    });
  edge
    .command('approve <job>')
    .description('as the plant admin, review a job\'s plan at this gateway and approve its reveal (the key holder answers only approved plans)')
    .requiredOption('--admin <url>', 'the gateway\'s admin endpoint (hedge edge start prints it)')
    .requiredOption('--token-file <file>', 'the admin token file named in the gateway config')
    .requiredOption('--by <name>', 'who approves (recorded in the gateway\'s local log)')
    .option('--yes', 'approve the plan shown (without it, the plan is only shown)')
    .action(async (job: string, opts: { admin: string; tokenFile: string; by: string; yes?: boolean }) => {
      const token = (await readFile(opts.tokenFile, 'utf8')).trim();
      const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
        const res = await fetch(`${opts.admin.replace(/\/+$/, '')}${path}`, {
          method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const answer = await res.json() as Record<string, unknown>;
        if (!res.ok) throw Object.assign(new Error(String(answer.message ?? `HTTP ${res.status}`)), { code: String(answer.code ?? 'EDGE_ERR_ADMIN') });
        return answer;
      };
      const plan = await call('GET', `/v1/jobs/${encodeURIComponent(job)}`);
      process.stdout.write(`job ${job}: ${String(plan.records)} records of plants ${(plan.plants as string[]).join(', ')} (${String(plan.batches)} batches); features ${(plan.features as string[]).join(', ')}${plan.label ? ' and the label' : ''}; ${String(plan.statistics)} sums; plan digest ${String(plan.planDigest)}\n`);
      if (opts.yes !== true) {
        process.stdout.write('not approved: run again with --yes to approve this plan\n');
        return;
      }
      await call('POST', `/v1/jobs/${encodeURIComponent(job)}/approval`, { planDigest: plan.planDigest, approvedBy: opts.by });
      process.stdout.write(`approved: this gateway's key holder will answer the reveal of job ${job}\n`);
    });
  withConnection(edge.command('enrol'))
    .description('as the plant admin (--tenant: your plant), enrol a gateway: writes its client certificate and key for the gateway config')
    .requiredOption('--gateway <id>', 'the gateway\'s id in your plant, e.g. gw-1')
    .option('--out <dir>', 'where gateway.pem and gateway.key (0600) go', '.')
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: ConnectionOptions & { gateway: string; out: string; json?: boolean }) => {
      const { client, tenant } = await connect(opts);
      const { token } = await client.call<{ token: string }>('POST', `/v1/tenants/${tenant}/enrolments`, { gateway: opts.gateway, ttlSeconds: 600 });
      const { csr, privateKeyPem } = await gatewayCsr(`${tenant}-${opts.gateway}`);
      const { certificate } = await client.call<{ certificate: string }>('POST', '/v1/enrol', { token, csr });
      await mkdir(opts.out, { recursive: true });
      const cert = path.join(opts.out, 'gateway.pem');
      const key = path.join(opts.out, 'gateway.key');
      await writeFile(key, privateKeyPem, { mode: 0o600 });
      await writeFile(cert, certificate);
      print(opts.json, { tenant, gateway: opts.gateway, certificate: cert, key }, (x) => `enrolled gateway ${x.gateway} of ${x.tenant}: ${x.certificate}, ${x.key} (cloud.cert and cloud.key of its config)`);
    });
  const policy = edge.command('policy').description('the plant\'s data policy');
  policy
    .command('explain')
    .description('show exactly what the policy lets leave the plant, and what stays')
    .requiredOption('--policy <file>', 'the data policy (YAML)')
    .option('--signals <file>', 'JSON list of the signals the connectors report ({ name, unit?, lo?, hi? }), to check the policy against')
    .action(async (opts: { policy: string; signals?: string }) => {
      const p = await loadPolicy(opts.policy);
      const source = opts.signals === undefined ? undefined : await readSignals(opts.signals);
      process.stdout.write(`${renderExplanation(explainPolicy(p, source))}\n`);
    });
}
