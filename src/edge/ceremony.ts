/**
 * One key holder's turn in a federation's key ceremony, over the cloud's API: whatever round the
 * cloud waits for this key holder's share of, the share is made (src/edge/keyholder.ts — single-use,
 * a retry re-sends the stored share) and posted. Shared by a plant's gateway (`startEdge`, mTLS)
 * and the machine builder's key holder (`hedge federation join`, a bearer token).
 * @module
 */
import { createHash } from 'node:crypto';
import { DealBundleCodec } from '../wire/deal.ts';
import type { CeremonyRoundName, CloudClient, FederationView, RevealRequestView } from './cloud-client.ts';
import { EDGE_ERR, EdgeError } from './errors.ts';
import type { DealMembers, KeyHolder, KeyHolderFederation } from './keyholder.ts';

/** What one ceremony turn did. */
export interface CeremonyTurn {
  readonly round: CeremonyRoundName;
  readonly status: 'accepted' | 'duplicate';
}

/**
 * The key holder's federation options from the cloud's view of it: `parties` = t (every member
 * for an additive federation) and, for t-of-n, this tenant's evaluation point and n.
 *
 * @throws EdgeError `EDGE_ERR_CEREMONY` when a t-of-n federation shows no point for `tenant`
 * @example
 * ```ts
 * KeyHolder.open({ …, federation: { ...keyHolderFederation(f, 'plant-a'), receiver } });
 * ```
 */
export function keyHolderFederation(f: FederationView, tenant: string): Pick<KeyHolderFederation, 'parties' | 'thresholdPoint' | 'holders'> {
  const n = f.members.length;
  const t = f.threshold ?? n;
  if (t >= n) return { parties: n };
  const point = f.members.find((m) => m.tenant === tenant)?.point;
  if (point === undefined) throw new EdgeError(EDGE_ERR.CEREMONY, `cannot join federation ${f.id}: it is ${t}-of-${n} but shows no evaluation point for ${tenant}`);
  return { parties: t, thresholdPoint: point, holders: n };
}

/**
 * t-of-n: whether this key holder is asked for a share by a reveal request, and with which
 * active set (the points) and attempt. An additive federation asks every key holder.
 *
 * @example
 * ```ts
 * const ask = revealAsk(request, 'plant-a');
 * if (ask) await cloud.postRevealShare(jobId, kh.revealShare({ …, ...ask.share }), ask.attempt);
 * ```
 */
export function revealAsk(request: RevealRequestView, tenant: string): { readonly share: { readonly activeSet?: number[] }; readonly attempt?: number } | undefined {
  if (request.activeSet === undefined) return { share: {} };
  if (!request.activeSet.some((m) => m.tenant === tenant)) return undefined;
  return { share: { activeSet: request.activeSet.map((m) => m.point) }, attempt: request.attempt };
}

/** The deal's members (points and X25519 keys) from the cloud's view, once every key is registered. */
function dealMembers(f: FederationView, tenant: string): DealMembers {
  const members = f.members.map((m) => {
    if (m.point === undefined || m.dealKey === undefined || !/^[0-9a-f]{64}$/.test(m.dealKey)) {
      throw new EdgeError(EDGE_ERR.CEREMONY, `cannot deal in federation ${f.id}: ${m.tenant} shows no point or key-agreement key`);
    }
    return { tenant: m.tenant, point: m.point, dealKey: new Uint8Array(Buffer.from(m.dealKey, 'hex')) };
  });
  return { federation: f.id, self: tenant, threshold: f.threshold ?? f.members.length, members };
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
  // t-of-n: the X25519 key, the sealed deal, then the combination of what was dealt to this key holder.
  else if (f.round === 'kex') [round, share] = ['kex', kh.dealKey(f.id)];
  else if (f.round === 'deal') [round, share] = ['deal', DealBundleCodec.toBytes(kh.sealDeal(f.id, dealMembers(f, cloud.tenant)))];
  else if (f.round === 'combine') {
    const bundle = await cloud.deal(f.id);
    kh.openDeal(f.id, dealMembers(f, cloud.tenant), DealBundleCodec.fromBytes(bundle));
    [round, share] = ['combine', new Uint8Array(createHash('sha256').update(bundle).digest())];
  } else return undefined;
  return { round, status: await cloud.postCeremonyShare(f.id, round, share) };
}
