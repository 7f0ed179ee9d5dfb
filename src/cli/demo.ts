/**
 * `hedge demo`: runs the whole story (src/demo/demo.ts) through the real services — the cloud over
 * HTTPS, three plants' gateways, the machine builder and an auditor as API clients — on embedded
 * defaults, and prints what each party saw, model quality beside the plaintext model, timings,
 * and the verified log. `--keep` leaves the services running.
 */
import type { Command } from 'commander';
import { runDemo, startDemo, type DemoSummary, type DemoUser } from '../demo/demo.ts';

/**
 * Registers `hedge demo [--json] [--keep] [--dir <path>] [--threads <n>] [--port <n>]`.
 *
 * @example
 * ```ts
 * registerDemoCommand(program); // then: hedge demo --json
 * ```
 */
export function registerDemoCommand(program: Command): void {
  const int = (name: string, lo: number, hi: number) => (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    return n;
  };
  program
    .command('demo')
    .description('run the federation end to end over the real services: key ceremony, encrypted ingest, training on ciphertexts, approvals and joint reveal, signed release, edge inference on live OPC UA data, verified log')
    .option('--json', 'print the summary as one JSON object (progress goes to stderr)')
    .option('--keep', 'leave the cloud, the gateways and the simulated machines running (Ctrl-C stops them); prints the console URL and the demo users')
    .option('--dir <path>', 'keep the cloud\'s data dir and the plants\' folders here (default: a temporary folder, removed at the end)')
    .option('--threads <n>', 'worker threads of the cloud\'s jobs', int('--threads', 1, 64), 2)
    .option('--port <n>', 'the cloud\'s HTTPS port (0 picks a free one)', int('--port', 0, 65535), 0)
    .action(async (opts: { json?: boolean; keep?: boolean; dir?: string; threads: number; port: number }) => {
      const progress = (line: string): void => {
        (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      };
      const options = { dir: opts.dir, threads: opts.threads, port: opts.port, log: progress };
      if (opts.keep !== true) {
        const summary = await runDemo(options);
        process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : render(summary));
        return;
      }
      const demo = await startDemo(options);
      process.stdout.write(opts.json ? `${JSON.stringify({ ...demo.summary, console: demo.consoleUrl, users: demo.users })}\n` : `${render(demo.summary)}${renderKeep(demo.consoleUrl, demo.users)}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.stderr.write('stopping the gateways, the machines and the cloud…\n');
      await demo.stop();
      process.stderr.write('stopped\n');
    });
}

/** What `--keep` adds: where to look, and who to log in as. */
function renderKeep(consoleUrl: string, users: readonly DemoUser[]): string {
  const lines = ['Still running (Ctrl-C stops everything):', `  console  ${consoleUrl}`, '  users    (user / password: roles)'];
  for (const u of users) lines.push(`    ${u.username.padEnd(20)} ${u.password}  ${[...new Set(u.roles.map((r) => r.role))].join(', ')} in ${u.roles.map((r) => r.tenant).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The human-readable end of the demo. */
export function render(s: DemoSummary): string {
  const lines = ['', `Data: ${s.data.note}; federation ${s.federation.id} (${s.federation.preset}, ${s.federation.quorum} key holders: ${s.federation.keyHolders.join(', ')})`];
  lines.push('', 'What each party saw:');
  lines.push(`  cloud    ${s.saw.cloud.text}`);
  lines.push(`  builder  ${s.saw.builder.text}`);
  for (const [plant, saw] of Object.entries(s.saw.plants)) lines.push(`  ${plant.padEnd(8)} ${saw.text}`);
  lines.push(`  auditor  ${s.saw.auditor.text}`);
  lines.push('', 'Models (trained on ciphertexts | the same model trained on the plaintext rows, evaluated on all rows):');
  for (const m of s.models) {
    const keys = Object.keys(m.encrypted);
    lines.push(`  ${m.model.padEnd(13)} ${keys.map((k) => `${k} ${m.encrypted[k]}`).join(', ')} | ${keys.map((k) => `${k} ${m.plaintext[k]}`).join(', ')}  ${m.identical && m.momentsEqualPlaintext ? '(identical: the revealed moments equal the plaintext ones)' : '(DIFFERENT)'}`);
  }
  lines.push('', 'Deployments (released through TUF, fetched over HTTPS, verified, activated; answering live records read over OPC UA):');
  for (const d of s.deployments) lines.push(`  ${d.plant} ${d.model} v${d.version}  sha256 ${d.sha256.slice(0, 12)}…  ${d.activated ? 'active' : 'NOT active'}, ${d.records} live records answered, ${d.abstained} abstained`);
  lines.push('', `Log: ${s.log.entries} entries, checkpoint signed, consistent with the checkpoint of size ${s.log.consistentWith}, ${s.log.verified ? 'every entry\'s inclusion verified' : 'NOT verified'}`);
  lines.push(`  ${Object.entries(s.log.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`  checked by the gateways too: ${Object.entries(s.log.witnessed).map(([p, w]) => `${p} ${w.checks} checkpoints up to size ${w.size}, ${w.consistent ? 'all consistent' : 'INCONSISTENT'}`).join('; ')}`);
  lines.push('', `Timings (s): ${Object.entries(s.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  return lines.join('\n');
}
