/**
 * One key holder's turn in a federation's key ceremony, over the cloud's API: whatever round the
 * cloud waits for this key holder's share of, the share is made (src/edge/keyholder.ts — single-use,
 * a retry re-sends the stored share) and posted. Shared by a plant's gateway (`startEdge`, mTLS)
 * and the machine builder's key holder (`hedge federation join`, a bearer token).
 * @module
 */
import type { CloudClient, FederationView } from './cloud-client.ts';
import type { KeyHolder } from './keyholder.ts';

/** What one ceremony turn did. */
export interface CeremonyTurn {
  readonly round: 'pk' | 'rlk1' | 'rlk2';
  readonly status: 'accepted' | 'duplicate';
}

/**
 * Makes and posts this key holder's share of the round `f` waits for, if it waits for this
 * tenant; otherwise does nothing.
 *
 * @returns the round answered, or undefined when nothing was due
 * @throws EdgeError the key holder's errors (`EDGE_ERR_SHARE_CONFLICT`, …) and
 *   `CloudCallError` (`EDGE_ERR_CLOUD`) for a failed call
 * @example
 * ```ts
 * const turn = await ceremonyTurn(kh, cloud, await cloud.federation('mills'));
 * if (turn) console.log(`sent ${turn.round}: ${turn.status}`);
 * ```
 */
export async function ceremonyTurn(kh: KeyHolder, cloud: CloudClient, f: FederationView): Promise<CeremonyTurn | undefined> {
  if (f.round === 'ready' || !f.missing.includes(cloud.tenant)) return undefined;
  const seed = Buffer.from(f.seed, 'hex');
  let round: CeremonyTurn['round'];
  let share: Uint8Array;
  if (f.round === 'pk') [round, share] = ['pk', kh.publicKeyShare(f.id, seed)];
  else if (f.round === 'rlk1') [round, share] = ['rlk1', kh.relinKeyShareRound1(f.id, seed)];
  else if (f.round === 'rlk2') [round, share] = ['rlk2', kh.relinKeyShareRound2(f.id, await cloud.material(f.id, 'relin-round1'))];
  else return undefined;
  return { round, status: await cloud.postCeremonyShare(f.id, round, share) };
}
