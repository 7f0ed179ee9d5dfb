/**
 * Benchmark runner: `npm run bench -- <suite> [--json]`.
 *
 * Each suite is a module `bench/<suite>.ts` exporting `run(): Promise<SuiteResult>`.
 * Without `--json` the figures print as a table; with it, as one JSON object
 * `{ suite, machine, params, metrics }` on stdout.
 */
import os from 'node:os';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** What a suite returns: the parameters it ran with and the figures it measured. */
export interface SuiteResult {
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

function printTable(suite: string, result: SuiteResult): void {
  const rows: [string, string][] = [];
  const flatten = (prefix: string, value: unknown): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v);
    } else {
      rows.push([prefix, typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(value)]);
    }
  };
  flatten('', result.metrics);
  const width = Math.max(...rows.map(([k]) => k.length), 6);
  console.log(`suite ${suite}  params ${JSON.stringify(result.params)}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

const args = process.argv.slice(2);
const json = args.includes('--json');
const suite = args.find((a) => !a.startsWith('--'));
if (!suite || !suites.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [--json]\nsuites: ${suites.join(', ')}`);
  process.exit(2);
}
const mod = (await import(`./${suite}.ts`)) as { run: () => Promise<SuiteResult> };
const result = await mod.run();
if (json) {
  console.log(JSON.stringify({ suite, machine: machine(), params: result.params, metrics: result.metrics }));
} else {
  printTable(suite, result);
}
