/**
 * `hedge edge`: the plant's gateway (src/edge/service.ts) and what its admin asks of it.
 *
 * - `hedge edge start --config gateway.yaml` runs the gateway until SIGINT / SIGTERM, logging one
 *   JSON line per event to stderr, then stops gracefully (connectors, uploader, gateways, outbox,
 *   key holder).
 * - `hedge edge policy explain --policy policy.yaml [--signals signals.json]` prints what the data
 *   policy lets leave the plant and what it keeps.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
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
      process.stderr.write('hedge edge started\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.stop();
      process.stderr.write('hedge edge stopped\n');
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
