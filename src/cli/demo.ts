/**
 * `hedge demo`: runs the whole story (src/demo/demo.ts) on embedded defaults and prints what each
 * party saw, model quality beside the plaintext model, timings, and the verified log.
 */
import type { Command } from 'commander';
import { runDemo, type DemoSummary } from '../demo/demo.ts';

/**
 * Registers `hedge demo [--json] [--dir <path>] [--threads <n>]`.
 *
 * @example
 * ```ts
 * registerDemoCommand(program); // then: hedge demo --json
 * ```
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the federation end to end: key ceremony, encrypted ingest, training on ciphertexts, joint reveal, signed deployment, edge inference, verified log')
    .option('--json', 'print the summary as one JSON object (progress goes to stderr)')
    .option('--dir <path>', 'keep the lake, the log, the TUF repository and the gateways\' files in this folder')
    .option('--threads <n>', 'worker threads of the cloud\'s jobs', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--threads must be an integer in [1, 64], got ${v}`);
      return n;
    }, 2)
    .action(async (opts: { json?: boolean; dir?: string; threads: number }) => {
      const progress = (line: string): void => {
        (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      };
      const summary = await runDemo({ dir: opts.dir, threads: opts.threads, log: progress });
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : render(summary));
    });
}

/** The human-readable end of the demo. */
export function render(s: DemoSummary): string {
  const lines = ['', 'What each party saw:'];
  for (const [party, what] of Object.entries(s.saw)) lines.push(`  ${party.padEnd(8)} ${what}`);
  lines.push('', 'Models (trained on ciphertexts | the same model trained on pooled plaintext):');
  for (const m of s.models) {
    const keys = Object.keys(m.encrypted);
    lines.push(`  ${m.model.padEnd(13)} ${keys.map((k) => `${k} ${m.encrypted[k]}`).join(', ')} | ${keys.map((k) => `${k} ${m.plaintext[k]}`).join(', ')}${m.identical ? '  (identical)' : ''}`);
  }
  lines.push('', 'Deployments (verified through TUF, activated, run offline on live records read over OPC UA):');
  for (const d of s.deployments) lines.push(`  ${d.plant} ${d.model} v${d.version}  sha256 ${d.sha256.slice(0, 12)}…  ${d.records} records, ${d.served} answered by the model, ${d.abstained} abstained`);
  lines.push('', `Log: ${s.log.entries} entries, checkpoint at size ${s.log.checkpointSize}, ${s.log.verified ? 'every entry verified' : 'NOT verified'}`);
  lines.push(`Timings (s): ${Object.entries(s.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  return lines.join('\n');
}
