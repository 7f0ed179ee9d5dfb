/**
 * The auditor in the demo: verifies the cloud's transparency log over the public API and an
 * auditor's account, on the client, as `hedge log verify` does (src/trust/auditor.ts): the latest
 * checkpoint's signature with the log key published by the cloud's operator (pinned, not taken
 * from the answer), its consistency with a checkpoint verified earlier (nothing was rewritten in
 * between), and the inclusion of every entry. Entries are read through the tenant they belong to
 * (the auditor holds the auditor role in each), decoded, and counted.
 * @module
 */
import { auditConsistency, auditEntry, openCheckpoint, parseVerifierKey } from '../trust/auditor.ts';
import { decodeEvent, type LogEvent } from '../trust/events.ts';
import { ApiError, type Api } from './api.ts';

/** A checkpoint as `GET /v1/log/checkpoint` serves it. */
export interface ServedCheckpoint {
  readonly origin: string;
  readonly size: number;
  readonly checkpoint: string;
  readonly verifierKey: string;
}

/** What the auditor verified. */
export interface LogAudit {
  readonly entries: number;
  readonly checkpointSize: number;
  /** The size of the earlier checkpoint this one was proved consistent with (null: none). */
  readonly consistentWith: number | null;
  readonly verified: true;
  /** Entries per event kind. */
  readonly kinds: Readonly<Record<string, number>>;
  /** Every entry, decoded. */
  readonly events: readonly LogEvent[];
}

const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/**
 * The latest checkpoint, its signature checked against the pinned key.
 * @throws TrustError when the signature or origin does not verify; Error when the cloud serves another key
 * @example
 * ```ts
 * const earlier = await fetchCheckpoint(auditor, verifierKey); // later: auditLog(auditor, verifierKey, earlier, tenants)
 * ```
 */
export async function fetchCheckpoint(api: Api, verifierKey: string): Promise<ServedCheckpoint> {
  const served = await api.json<ServedCheckpoint>('GET', '/v1/log/checkpoint');
  if (served.verifierKey !== verifierKey) throw new Error(`cannot verify the log: the cloud names the key ${served.verifierKey}, the operator published ${verifierKey}`);
  openCheckpoint(served.checkpoint, [parseVerifierKey(verifierKey)], served.origin);
  return served;
}

/**
 * Verifies the log: the latest checkpoint, its consistency with `earlier`, every entry's inclusion.
 * @throws TrustError when anything fails to verify; ApiError / Error when an entry cannot be read in any of `tenants`
 * @example
 * ```ts
 * const audit = await auditLog(auditor, verifierKey, first, ['builder', 'plant-l', 'cloud']);
 * ```
 */
export async function auditLog(api: Api, verifierKey: string, earlier: ServedCheckpoint | undefined, tenants: readonly string[]): Promise<LogAudit> {
  const latest = await fetchCheckpoint(api, verifierKey);
  const verifiers = [parseVerifierKey(verifierKey)];
  let consistentWith: number | null = null;
  if (earlier !== undefined && earlier.size > 0) {
    const proof = earlier.size === latest.size ? [] : (await api.json<{ proof: string[] }>('GET', `/v1/log/consistency?from=${earlier.size}&to=${latest.size}`)).proof.map(bytes);
    auditConsistency(earlier.checkpoint, latest.checkpoint, proof, verifiers, latest.origin);
    consistentWith = earlier.size;
  }
  const events: LogEvent[] = [];
  const kinds: Record<string, number> = {};
  let order = [...tenants];
  for (let i = 0; i < latest.size; i++) {
    let found: { entry: string; proof: string[] } | undefined;
    for (const t of order) {
      try {
        found = await api.json<{ entry: string; proof: string[] }>('GET', `/v1/tenants/${t}/log/entries/${i}?size=${latest.size}`);
        order = [t, ...order.filter((x) => x !== t)]; // neighbouring entries tend to share a tenant
        break;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }
    if (found === undefined) throw new Error(`cannot verify the log: entry ${i} belongs to none of ${tenants.join(', ')}`);
    const entry = bytes(found.entry);
    auditEntry({ checkpoint: latest.checkpoint, entry, index: i, proof: found.proof.map(bytes) }, verifiers, latest.origin);
    const event = decodeEvent(entry);
    events.push(event);
    kinds[event.kind] = (kinds[event.kind] ?? 0) + 1;
  }
  return { entries: latest.size, checkpointSize: latest.size, consistentWith, verified: true, kinds, events };
}
