/**
 * The console's session and API client. The token comes from the cloud's local issuer
 * (`POST /v1/auth/token`, what `hedge login` uses) and lives in sessionStorage only (gone when
 * the tab closes); every call sends it as `Authorization: Bearer`, so every call goes through the
 * same access checks as the CLI's. A 401 ends the session.
 * @module
 */

const KEY = 'hedge.console.session';

/**
 * @typedef {{ token: string, expiresAt: string, subject: string, tenant: string, roles: string[] }} Session
 */

/** The current session, or null. @returns {Session | null} */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (s && Date.parse(s.expiresAt) > Date.now()) return s;
  } catch { /* a damaged entry is no session */ }
  return null;
}

/** @param {Session | null} s */
export function setSession(s) {
  if (s === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(s));
}

/** An error answer of the API: its stable code, message and hint. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {string} [hint] */
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

/**
 * Calls the API.
 * @param {string} path - absolute path (`/v1/…`)
 * @param {{ method?: string, body?: unknown, token?: string }} [options]
 * @returns {Promise<any>}
 * @throws {ApiError} for an error answer
 */
export async function api(path, options = {}) {
  const headers = /** @type {Record<string, string>} */ ({ accept: 'application/json' });
  const token = options.token ?? session()?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), cache: 'no-store', credentials: 'omit' });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { code: 'HTTP', message: `HTTP ${res.status}: not a JSON answer` }; }
  if (!res.ok) {
    if (res.status === 401 && options.token === undefined) {
      setSession(null);
      window.dispatchEvent(new Event('hedge:logout'));
    }
    throw new ApiError(res.status, body?.code ?? 'HTTP', body?.message ?? `HTTP ${res.status}`, body?.hint);
  }
  return body;
}

/** A path in the session's tenant. @param {string} rest */
export const tenantPath = (rest) => `/v1/tenants/${encodeURIComponent(session()?.tenant ?? '')}${rest}`;
