/**
 * The one registry of error codes for `src/cloud`. Every failure the HTTP API
 * answers carries a stable `code` from {@link CLOUD_ERR} and the HTTP status
 * that {@link CLOUD_ERR_STATUS} fixes for it; `docs/errors.md` (section "cloud")
 * says what each means and how to fix it. Messages read `cannot <op>: <reason>`
 * and keep `{ cause }`; the error handler never sends a cause, a stack or a
 * database message to the client.
 * @module
 */

/**
 * Stable error codes of `src/cloud`.
 * @example
 * ```ts
 * throw new CloudError(CLOUD_ERR.NOT_FOUND, 'cannot read gateway: no gateway "gw-9" in tenant "plant-a"');
 * ```
 */
export const CLOUD_ERR = {
  /** The request does not match the route's schema (params, query, headers or body). */
  VALIDATION: 'CLOUD_ERR_VALIDATION',
  /** The body is not parseable as its content type (e.g. malformed JSON), or is empty where one is needed. */
  MALFORMED_BODY: 'CLOUD_ERR_MALFORMED_BODY',
  /** The body's content type is not one the route accepts (JSON only). */
  UNSUPPORTED_MEDIA_TYPE: 'CLOUD_ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The body is larger than the server's body limit. */
  BODY_TOO_LARGE: 'CLOUD_ERR_BODY_TOO_LARGE',
  /** No route has this method and path. */
  ROUTE_NOT_FOUND: 'CLOUD_ERR_ROUTE_NOT_FOUND',
  /** The route exists but the resource it names does not (or is not visible to the caller's tenant). */
  NOT_FOUND: 'CLOUD_ERR_NOT_FOUND',
  /** No credentials: the route needs a bearer token or a gateway client certificate. */
  UNAUTHENTICATED: 'CLOUD_ERR_UNAUTHENTICATED',
  /** The bearer token is malformed, expired, not yet valid, for another audience or issuer, or badly signed. */
  TOKEN_INVALID: 'CLOUD_ERR_TOKEN_INVALID',
  /** The client certificate was not issued by this cloud's CA, has expired, or was revoked. */
  CERTIFICATE_INVALID: 'CLOUD_ERR_CERTIFICATE_INVALID',
  /** Wrong user name or password at the local token endpoint. */
  BAD_CREDENTIALS: 'CLOUD_ERR_BAD_CREDENTIALS',
  /** The access policy denies the action in the tenant (or the route is for the other kind of principal). */
  ACCESS_DENIED: 'CLOUD_ERR_ACCESS_DENIED',
  /** The enrolment token is unknown, already used or expired. */
  ENROLMENT_TOKEN_INVALID: 'CLOUD_ERR_ENROLMENT_TOKEN_INVALID',
  /** The certificate signing request or public key is malformed, not ECDSA P-256, or its signature does not verify. */
  CSR_INVALID: 'CLOUD_ERR_CSR_INVALID',
  /** A readiness probe failed, or the server is shutting down. */
  NOT_READY: 'CLOUD_ERR_NOT_READY',
  /** An unexpected failure inside the server; details are in the server log under the request id. */
  INTERNAL: 'CLOUD_ERR_INTERNAL',
  /** `buildApp` / `startCloud` options, or a route declaration, are invalid (thrown at start, never answered). */
  CONFIG: 'CLOUD_ERR_CONFIG',
  /** PEM or key material given to the local CA is malformed or does not match. */
  PKI: 'CLOUD_ERR_PKI',
  /** The resource exists with other content: a batch id re-sent with different bytes, a dataset or federation re-created differently. */
  CONFLICT: 'CLOUD_ERR_CONFLICT',
  /** An uploaded batch is not acceptable for its dataset: another plant, parameter set, column layout, or malformed ciphertexts. */
  BATCH_REJECTED: 'CLOUD_ERR_BATCH_REJECTED',
  /** The request does not fit the resource's state (a share for a finished round, a reveal for an unapproved job). */
  STATE: 'CLOUD_ERR_STATE',
  /** A model version is not above the one a fleet already has (TUF never goes back; roll back at the gateway). */
  ROLLBACK_REFUSED: 'CLOUD_ERR_ROLLBACK_REFUSED',
  /** A model offered to the registry does not fit the job it names (other features or label than the job computed). */
  MODEL_REJECTED: 'CLOUD_ERR_MODEL_REJECTED',
  /** The CLI could not reach the cloud (connection refused, DNS, a TLS certificate that the CA file does not vouch for); never answered by the server. */
  UNREACHABLE: 'CLOUD_ERR_UNREACHABLE',
} as const;

/** One of the {@link CLOUD_ERR} codes. */
export type CloudErrorCode = (typeof CLOUD_ERR)[keyof typeof CLOUD_ERR];

/**
 * The HTTP status of each code. `CONFIG` and `PKI` are thrown to the code that
 * starts the service, never answered; they map to 500 should one escape.
 * @example
 * ```ts
 * CLOUD_ERR_STATUS[CLOUD_ERR.ACCESS_DENIED]; // 403
 * ```
 */
export const CLOUD_ERR_STATUS: Readonly<Record<CloudErrorCode, number>> = Object.freeze({
  CLOUD_ERR_VALIDATION: 400,
  CLOUD_ERR_MALFORMED_BODY: 400,
  CLOUD_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  CLOUD_ERR_BODY_TOO_LARGE: 413,
  CLOUD_ERR_ROUTE_NOT_FOUND: 404,
  CLOUD_ERR_NOT_FOUND: 404,
  CLOUD_ERR_UNAUTHENTICATED: 401,
  CLOUD_ERR_TOKEN_INVALID: 401,
  CLOUD_ERR_CERTIFICATE_INVALID: 401,
  CLOUD_ERR_BAD_CREDENTIALS: 401,
  CLOUD_ERR_ACCESS_DENIED: 403,
  CLOUD_ERR_ENROLMENT_TOKEN_INVALID: 401,
  CLOUD_ERR_CSR_INVALID: 400,
  CLOUD_ERR_NOT_READY: 503,
  CLOUD_ERR_INTERNAL: 500,
  CLOUD_ERR_CONFIG: 500,
  CLOUD_ERR_PKI: 500,
  CLOUD_ERR_CONFLICT: 409,
  CLOUD_ERR_BATCH_REJECTED: 422,
  CLOUD_ERR_STATE: 409,
  CLOUD_ERR_ROLLBACK_REFUSED: 409,
  CLOUD_ERR_MODEL_REJECTED: 422,
  CLOUD_ERR_UNREACHABLE: 503,
});

/**
 * The error type of `src/cloud`. A route handler throws it and the error
 * handler answers `{ code, message, hint? }` with the code's status.
 * @example
 * ```ts
 * throw new CloudError(CLOUD_ERR.NOT_FOUND, `cannot read gateway: no gateway ${JSON.stringify(id)}`, {
 *   hint: 'list the tenant\'s gateways with GET /v1/tenants/{tenant}/gateways',
 * });
 * ```
 */
export class CloudError extends Error {
  /** The stable code, one of {@link CLOUD_ERR}. */
  readonly code: CloudErrorCode;
  /** The HTTP status answered for it. */
  readonly statusCode: number;
  /** A short how-to-fix sent to the client, when there is one. */
  readonly hint: string | undefined;
  /**
   * @param code - stable code from {@link CLOUD_ERR}
   * @param message - `cannot <op>: <reason>`; sent to the client, so it must not hold secrets or internals
   * @param options - `cause` (kept for the log, never sent) and `hint` (sent)
   * @throws never
   * @example
   * ```ts
   * new CloudError(CLOUD_ERR.CSR_INVALID, 'cannot enrol: CSR signature does not verify');
   * ```
   */
  constructor(code: CloudErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloudError';
    this.code = code;
    this.statusCode = CLOUD_ERR_STATUS[code];
    this.hint = options.hint;
  }
}
