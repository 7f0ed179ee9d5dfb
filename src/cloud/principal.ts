/**
 * The callers of the cloud API. People authenticate with bearer tokens and
 * are named by their subject; gateways authenticate with client certificates
 * and are named `gw.<tenant>.<gateway>` in the access policy. People's
 * subjects may not start with `gw.`, so the two never collide.
 * @module
 */

/** The two kinds of caller. */
export type PrincipalKind = 'person' | 'gateway';

/** Who is calling, once authenticated (`request.principal`). */
export type Principal =
  | { readonly kind: 'person'; readonly subject: string }
  | { readonly kind: 'gateway'; readonly subject: string; readonly tenant: string; readonly gateway: string; readonly serial: string };

/**
 * The access-policy subject of a gateway.
 * @throws never
 * @example
 * ```ts
 * gatewaySubject('plant-a', 'gw-1'); // 'gw.plant-a.gw-1'
 * ```
 */
export function gatewaySubject(tenant: string, gateway: string): string {
  return `gw.${tenant}.${gateway}`;
}
