/**
 * The `hedge` command line. Each sub-command lives in its own module; this
 * file only wires them into commander and turns typed errors into exit codes.
 */
import { Command, CommanderError } from 'commander';
import { registerCloudCommand } from './cloud.ts';
import { registerLoginCommand } from './client.ts';
import { registerFederationCommands } from './federation.ts';
import { registerJobCommands } from './job.ts';
import { registerKeyHolderCommands } from './keyholder.ts';
import { registerLogCommands } from './log.ts';
import { registerModelCommands } from './model.ts';
import { registerDemoCommand } from './demo.ts';
import { registerEdgeCommand } from './edge.ts';
import { registerParamsCommand } from './params.ts';
import { registerWorkerCommand } from './worker.ts';

/**
 * Builds the commander program with every sub-command registered.
 *
 * @example
 * ```ts
 * const program = buildProgram();
 * await program.parseAsync(['node', 'hedge', '--help']);
 * ```
 */
export function buildProgram(): Command {
  const program = new Command('hedge')
    .description('Train models on encrypted machine data from many plants; no one outside a plant sees a record.')
    .version('0.1.0')
    .showHelpAfterError();
  registerParamsCommand(program);
  registerCloudCommand(program);
  registerDemoCommand(program);
  registerEdgeCommand(program);
  registerWorkerCommand(program);
  registerLoginCommand(program);
  registerFederationCommands(program);
  registerJobCommands(program);
  registerModelCommands(program);
  registerKeyHolderCommands(program);
  registerLogCommands(program);
  return program;
}

/**
 * Runs the CLI and resolves to the process exit code (0 on success).
 * Errors that carry a `code` are printed as `error <code>: <message>`.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(typeof code === 'string' ? `error ${code}: ${message}\n` : `error: ${message}\n`);
    const hint = (err as { hint?: unknown }).hint;
    if (typeof hint === 'string') process.stderr.write(`hint: ${hint}\n`);
    return 1;
  }
}
