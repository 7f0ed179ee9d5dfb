/**
 * `hedge log verify`: an auditor checks the cloud's transparency log (DESIGN §8). It fetches the
 * latest signed checkpoint and verifies its signature with the pinned log key (`--log-key`, else
 * the key pinned at first use in `log.json` of the config dir); checks, with a consistency proof,
 * that it extends the checkpoint verified last time (the cloud rewrote nothing); and checks the
 * inclusion of the entries asked for (`--entry`, entries of the tenant). It keeps the new
 * checkpoint for next time. All the verification is src/trust/auditor.ts, on the client.
 */
import type { Command } from 'commander';
import { auditConsistency, auditEntry, openCheckpoint, parseVerifierKey } from '../trust/auditor.ts';
import { decodeEvent } from '../trust/events.ts';
import { TrustError, TrustErrorCode } from '../trust/errors.ts';
import { CLOUD_ERR, CloudError } from '../cloud/errors.ts';
import { connect, print, readPrivate, withConnection, writePrivate, type ConnectionOptions } from './client.ts';

interface Pin { verifierKey: string; checkpoint?: string }

const index = (v: string, all: number[] = []): number[] => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new CloudError(CLOUD_ERR.VALIDATION, `cannot read --entry: expected an index ≥ 0, got ${JSON.stringify(v)}`);
  return [...all, n];
};
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/**
 * Registers `hedge log verify`.
 *
 * @example
 * ```ts
 * registerLogCommands(program); // hedge log verify --entry 12 --entry 40
 * ```
 */
export function registerLogCommands(program: Command): void {
  const log = program.command('log').description('the transparency log of everything the cloud did');
  withConnection(log.command('verify'))
    .description('verify the latest checkpoint, its consistency with the one verified last time, and entries of your tenant')
    .option('--log-key <vkey>', 'the log\'s note verifier key (default: the one pinned at first use)')
    .option('--entry <index>', 'also verify the inclusion of this entry of your tenant (repeat)', index)
    .option('--json', 'print the result as JSON')
    .action(async (opts: ConnectionOptions & { logKey?: string; entry?: number[]; json?: boolean }) => {
      const { client, tenant } = await connect(opts, opts.entry !== undefined, opts.entry !== undefined);
      const pins = JSON.parse((await readPrivate('log.json')) ?? '{}') as Record<string, Pin>;
      const served = await client.call<{ origin: string; size: number; checkpoint: string; verifierKey: string }>('GET', '/v1/log/checkpoint');
      const pin = pins[client.url];
      const verifierKey = opts.logKey ?? pin?.verifierKey ?? served.verifierKey;
      const firstUse = opts.logKey === undefined && pin === undefined;
      const verifiers = [parseVerifierKey(verifierKey)];
      const cp = openCheckpoint(served.checkpoint, verifiers, served.origin);
      let consistentWith: number | null = null;
      if (pin?.checkpoint !== undefined && pin.verifierKey === verifierKey) {
        const older = openCheckpoint(pin.checkpoint, verifiers, served.origin);
        if (older.size > cp.size) throw new TrustError(TrustErrorCode.INCONSISTENT, `cannot verify log: it shrank from ${older.size} entries (verified before) to ${cp.size}`);
        const proof = older.size === 0 || older.size === cp.size ? [] : (await client.call<{ proof: string[] }>('GET', `/v1/log/consistency?from=${older.size}&to=${cp.size}`)).proof.map(bytes);
        auditConsistency(pin.checkpoint, served.checkpoint, proof, verifiers, served.origin);
        consistentWith = older.size;
      }
      const entries: { index: number; kind: string; subject: string; time: string }[] = [];
      for (const i of opts.entry ?? []) {
        const e = await client.call<{ entry: string; proof: string[] }>('GET', `/v1/tenants/${tenant}/log/entries/${i}?size=${cp.size}`);
        const entry = bytes(e.entry);
        auditEntry({ checkpoint: served.checkpoint, entry, index: i, proof: e.proof.map(bytes) }, verifiers, served.origin);
        const event = decodeEvent(entry);
        entries.push({ index: i, kind: event.kind, subject: event.subject, time: event.time });
      }
      pins[client.url] = { verifierKey, checkpoint: served.checkpoint };
      await writePrivate('log.json', `${JSON.stringify(pins, null, 2)}\n`);
      const result = { origin: cp.origin, size: cp.size, root: Buffer.from(cp.root).toString('base64'), verifierKey, pinnedNow: firstUse, consistentWith, entries };
      print(opts.json, result, (r) => [
        `checkpoint of ${r.origin} verified: size ${r.size}, root ${r.root}`,
        r.pinnedNow ? `pinned the log key ${r.verifierKey} (first use: compare it with the one the cloud's operator published)` : `signed by the pinned key ${r.verifierKey}`,
        r.consistentWith === null ? 'no earlier checkpoint to compare with' : `consistent with the checkpoint of size ${r.consistentWith} verified before: nothing was rewritten`,
        ...r.entries.map((e) => `entry ${e.index} included: ${e.kind} ${e.subject} at ${e.time}`),
      ].join('\n'));
    });
}
