/**
 * The one registry of error codes for `src/edge`. Every failure a caller can meet carries a stable
 * `code` from this list; `docs/edge.md` ("Errors") says what each means and how to fix it.
 * Messages read `cannot <op>: <reason>` and keep `{ cause }`.
 *
 * Argument checks at public entries throw {@link EdgeTypeError} (wrong type) or
 * {@link EdgeRangeError} (wrong size or range), naming the argument, as `noble-*` does; domain
 * failures throw {@link EdgeError}.
 * @module
 */

/**
 * Stable error codes of `src/edge`.
 * @example
 * ```ts
 * if ((e as EdgeError).code === EDGE_ERR.BUFFER_FULL) { … }
 * ```
 */
export const EDGE_ERR = {
  /** An argument has the wrong type (thrown as `TypeError`). */
  INVALID_ARGUMENT: 'EDGE_ERR_INVALID_ARGUMENT',
  /** An argument has the wrong size, shape or range (thrown as `RangeError`). */
  OUT_OF_RANGE: 'EDGE_ERR_OUT_OF_RANGE',
  /** The policy file is not well-formed YAML (or holds more than one document). */
  POLICY_SYNTAX: 'EDGE_ERR_POLICY_SYNTAX',
  /** The policy is well-formed YAML but a field is missing, unknown or has a bad value; the message names its path. */
  POLICY_INVALID: 'EDGE_ERR_POLICY_INVALID',
  /** The pseudonymisation key is missing, unreadable, malformed or shorter than 32 bytes. */
  KEY: 'EDGE_ERR_KEY',
  /** The pseudonymisation key file can be read by other users (mode must be 0600 or stricter). */
  KEY_PERMISSIONS: 'EDGE_ERR_KEY_PERMISSIONS',
  /** The pseudonymisation key was used after `PseudonymKey.destroy()`. */
  KEY_DESTROYED: 'EDGE_ERR_KEY_DESTROYED',
  /** A batch holds fewer records than the policy's `minBatchSize`. */
  BATCH_TOO_SMALL: 'EDGE_ERR_BATCH_TOO_SMALL',
  /** The durable buffer is full and its policy is `refuse`; nothing of the append was stored. */
  BUFFER_FULL: 'EDGE_ERR_BUFFER_FULL',
  /** The buffer file is held by another process or connection (one owner per buffer). */
  BUFFER_LOCKED: 'EDGE_ERR_BUFFER_LOCKED',
  /** SQLite failed to open, read or commit the buffer (disk full, corrupt file, wrong schema); `cause` has SQLite's error. */
  BUFFER_STORAGE: 'EDGE_ERR_BUFFER_STORAGE',
  /** The buffer was used after `close()`. */
  BUFFER_CLOSED: 'EDGE_ERR_BUFFER_CLOSED',
  /** An ack named an id the buffer never issued. */
  BUFFER_UNKNOWN_ID: 'EDGE_ERR_BUFFER_UNKNOWN_ID',
  /** A stored entry could not be decoded by the buffer's codec. */
  BUFFER_DECODE: 'EDGE_ERR_BUFFER_DECODE',
  /** `KeyCustody.create` found a file at the path; an existing secret share is never overwritten. */
  CUSTODY_EXISTS: 'EDGE_ERR_CUSTODY_EXISTS',
  /** The custody file cannot be read or written (missing, directory missing, disk full); `cause` has the system error. */
  CUSTODY_IO: 'EDGE_ERR_CUSTODY_IO',
  /** The custody file is not one: bad magic or version, truncated or extended, or written for another parameter set. */
  CUSTODY_FORMAT: 'EDGE_ERR_CUSTODY_FORMAT',
  /** The KDF parameters (asked for, or in the file's header) are below the floor or above the ceiling. */
  CUSTODY_KDF: 'EDGE_ERR_CUSTODY_KDF',
  /** Decryption failed: wrong passphrase or key file, or the file was altered (AES-GCM cannot tell which). */
  CUSTODY_UNLOCK: 'EDGE_ERR_CUSTODY_UNLOCK',
  /** The custody key file is missing, unreadable, shorter than 32 bytes or longer than 4096. */
  CUSTODY_KEY_FILE: 'EDGE_ERR_CUSTODY_KEY_FILE',
  /** The custody file or its key file can be accessed by group or others (mode must be 0600 or stricter). */
  CUSTODY_PERMISSIONS: 'EDGE_ERR_CUSTODY_PERMISSIONS',
  /** The custody was used after `close()` (its secrets are wiped). */
  CUSTODY_CLOSED: 'EDGE_ERR_CUSTODY_CLOSED',
  /** SQLite failed on the share ledger or the key holder's state (disk full, corrupt file, wrong schema); `cause` has SQLite's error. */
  KEYHOLDER_STORAGE: 'EDGE_ERR_KEYHOLDER_STORAGE',
  /** The share ledger or key holder state file is owned by another process or connection. */
  KEYHOLDER_LOCKED: 'EDGE_ERR_KEYHOLDER_LOCKED',
  /** The key holder (or its ledger store) was used after `close()`. */
  KEYHOLDER_CLOSED: 'EDGE_ERR_KEYHOLDER_CLOSED',
  /** A reveal was refused: no admin approval for the job, or the approval is for another plan digest. Logged. */
  NOT_APPROVED: 'EDGE_ERR_NOT_APPROVED',
  /** A reveal was refused: fewer plants or records than this key holder requires, or a plan whose figures disagree with its batches. Logged. */
  REVEAL_GUARD: 'EDGE_ERR_REVEAL_GUARD',
  /** A reveal was refused: this key holder's rolling-day limit of new reveal shares is reached. Logged. */
  RATE_LIMIT: 'EDGE_ERR_RATE_LIMIT',
  /** A reveal was refused: the receiver is not the federation's registered receiver, or collective decryption was not approved. Logged. */
  RECEIVER: 'EDGE_ERR_RECEIVER',
  /** A second, different request for a protocol instance already answered (single-use shares): refused. Logged. */
  SHARE_CONFLICT: 'EDGE_ERR_SHARE_CONFLICT',
  /** A ceremony step out of order or contradicting an earlier one: round 2 without round 1, a threshold reveal without a threshold share, a second approval of a job for another plan. */
  CEREMONY: 'EDGE_ERR_CEREMONY',
  /** The key holder's local log fails its hash-chain check (a row altered, removed or reordered). */
  LOG_CORRUPT: 'EDGE_ERR_LOG_CORRUPT',
  /** A connector cannot connect, subscribe or publish (endpoint unreachable, security refused, broker gone), or was used in the wrong state; `cause` has the library's error. */
  CONNECTOR: 'EDGE_ERR_CONNECTOR',
  /** A connector's `onEvent` callback threw; the event was lost and a gap is marked before the machine's next sample. */
  CONNECTOR_DELIVERY: 'EDGE_ERR_CONNECTOR_DELIVERY',
  /** A configured OPC UA node does not exist on the server or cannot be read or monitored. */
  OPCUA_NODE: 'EDGE_ERR_OPCUA_NODE',
  /** A Sparkplug B message cannot be decoded or breaks the specification (no `seq`, no `bdSeq` in a birth, a bad topic). */
  SPARKPLUG_DECODE: 'EDGE_ERR_SPARKPLUG_DECODE',
  /** A replayed CSV file cannot be read or a row is malformed (missing column, wrong field count, a value or timestamp that is not a number). */
  REPLAY_FORMAT: 'EDGE_ERR_REPLAY_FORMAT',
  /** The gateway's records do not fit its dataset schema: a schema feature or label the source does not produce, or a policy range wider than the schema's. */
  SCHEMA_MISMATCH: 'EDGE_ERR_SCHEMA_MISMATCH',
  /** Encrypting a batch failed (the key or engine does not match the schema's parameter set); `cause` has the error of src/compute or src/he. */
  SEAL: 'EDGE_ERR_SEAL',
  /** SQLite failed to open, read or commit the outbox (disk full, corrupt file, wrong schema); `cause` has SQLite's error. */
  OUTBOX_STORAGE: 'EDGE_ERR_OUTBOX_STORAGE',
  /** The outbox file is owned by another process or connection (one owner per outbox). */
  OUTBOX_LOCKED: 'EDGE_ERR_OUTBOX_LOCKED',
  /** The outbox was used after `close()`. */
  OUTBOX_CLOSED: 'EDGE_ERR_OUTBOX_CLOSED',
  /** The outbox and the record buffer disagree (a buffer file replaced, a batch out of sequence): sealing would reuse or skip records. */
  OUTBOX_MISMATCH: 'EDGE_ERR_OUTBOX_MISMATCH',
  /** An upload failed for a reason that may pass (network, cloud unavailable, 5xx, 401/403/404/408/429); the uploader retries with backoff. */
  UPLOAD: 'EDGE_ERR_UPLOAD',
  /** The cloud refused a batch for good (another 4xx): it is parked in the outbox, not retried, and the queue moves on. */
  UPLOAD_REJECTED: 'EDGE_ERR_UPLOAD_REJECTED',
  /** The cloud holds other bytes under this batch id (409): parked, not retried. */
  UPLOAD_CONFLICT: 'EDGE_ERR_UPLOAD_CONFLICT',
  /** The gateway configuration file is not well-formed YAML (or holds more than one document, or repeats a key). */
  CONFIG_SYNTAX: 'EDGE_ERR_CONFIG_SYNTAX',
  /** A gateway configuration field is missing, unknown or wrong, or a file it names cannot be read; the message names its path. */
  CONFIG_INVALID: 'EDGE_ERR_CONFIG_INVALID',
  /** A call to the cloud's API failed (network, TLS, timeout, or an error status); the message has the status and the cloud's code. */
  CLOUD: 'EDGE_ERR_CLOUD',
  /** The plant admin's local endpoint got no admin token, or a wrong one. */
  ADMIN_AUTH: 'EDGE_ERR_ADMIN_AUTH',
  /** A sealed deal share (t-of-n) does not open: wrong key, another sender, receiver, point or ceremony (AAD), or altered bytes. */
  DEAL_CHANNEL: 'EDGE_ERR_DEAL_CHANNEL',
} as const;

/** One of the {@link EDGE_ERR} codes. */
export type EdgeErrorCode = (typeof EDGE_ERR)[keyof typeof EDGE_ERR];

/**
 * The error thrown for every domain failure in `src/edge` (argument checks throw
 * {@link EdgeTypeError} / {@link EdgeRangeError}).
 * @example
 * ```ts
 * try { buffer.append([sample]); }
 * catch (e) { if (e instanceof EdgeError && e.code === EDGE_ERR.BUFFER_FULL) { … back off … } }
 * ```
 */
export class EdgeError extends Error {
  /** Stable code, one of {@link EDGE_ERR}. */
  readonly code: EdgeErrorCode;

  /**
   * @param code - stable code
   * @param message - `cannot <op>: <reason>`
   * @param options - `{ cause }` of the underlying failure, kept for the caller
   */
  constructor(code: EdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeError';
    this.code = code;
  }
}

/**
 * A `TypeError` with the stable code `EDGE_ERR_INVALID_ARGUMENT` (wrong type of an argument).
 * @example
 * ```ts
 * assert.throws(() => applyPolicy(policy, key, 'events' as never), EdgeTypeError);
 * ```
 */
export class EdgeTypeError extends TypeError {
  readonly code: EdgeErrorCode = EDGE_ERR.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeTypeError';
  }
}

/**
 * A `RangeError` with the stable code `EDGE_ERR_OUT_OF_RANGE` (wrong size or range of an argument).
 * @example
 * ```ts
 * assert.throws(() => new FeatureWindows({ window: { kind: 'count', size: 0 }, signals: ['a'] }), EdgeRangeError);
 * ```
 */
export class EdgeRangeError extends RangeError {
  readonly code: EdgeErrorCode = EDGE_ERR.OUT_OF_RANGE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeRangeError';
  }
}
