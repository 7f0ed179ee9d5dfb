/**
 * `hedge params`: the encryption parameter presets, with the figures an
 * operator needs to pick one (ring degree, modulus, slots, security, and for
 * BGV the exactness bound per reveal).
 */
import type { Command } from 'commander';
import { MAX_LOG_QP_128, PRESETS, createParams } from '../he/params.ts';

/** One row of `hedge params`. */
export interface PresetSummary {
  name: string;
  scheme: string;
  n: number;
  slots: number;
  logQP: number;
  maxLogQP128: number;
  secure: boolean;
  detail: string;
}

/**
 * Summaries of every preset (TEST_INSECURE_* sets included, marked insecure).
 *
 * @example
 * ```ts
 * presetSummaries().find((p) => p.name === 'BGV_AGG_8192')?.slots; // 8192
 * ```
 */
export function presetSummaries(): PresetSummary[] {
  return Object.values(PRESETS).map((lit) => {
    const p = createParams(lit, { allowInsecure: true });
    const logQP = p.coeffModulusBits.reduce((a, b) => a + b, 0);
    const detail = p.scheme === 'bgv'
      ? `t ${p.plainModulusBits}-bit, values quantised to ±2^${p.quantBits}, exact for ~${Math.floor(2 ** (p.plainModulusBits - 1 - 2 * p.quantBits) / 1e5) / 10} M records per reveal`
      : `scale 2^${p.scaleBits}`;
    return { name: p.name, scheme: p.scheme, n: p.n, slots: p.slots, logQP, maxLogQP128: MAX_LOG_QP_128[p.n], secure: !p.insecure, detail };
  });
}

/** Registers `hedge params`. */
export function registerParamsCommand(program: Command): void {
  program
    .command('params')
    .description('list the encryption parameter presets')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const rows = presetSummaries();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        const sec = r.secure ? `128-bit (log QP ${r.logQP} ≤ ${r.maxLogQP128})` : 'INSECURE, tests only';
        process.stdout.write(`${r.name.padEnd(24)} ${r.scheme.toUpperCase().padEnd(5)} N=${String(r.n).padEnd(6)} slots=${String(r.slots).padEnd(6)} ${sec}; ${r.detail}\n`);
      }
    });
}
