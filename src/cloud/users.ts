/**
 * Local user accounts for the embedded default, where the cloud issues
 * tokens itself: a name and a scrypt password hash (RFC 7914; N = 2^15,
 * r = 8, p = 1, 16-byte salt, 32-byte hash). With an OIDC issuer configured
 * people live at the issuer instead and this table stays empty.
 * @module
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { SqlQueryable } from '../trust/storage/sql.ts';
import { CLOUD_ERR, CloudError } from './errors.ts';

const USERNAME = /^(?!gw\.)[a-z0-9][a-z0-9._-]{0,63}$/;
const PARAMS = { N: 1 << 15, r: 8, p: 1 } as const;
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFC'), salt, KEYLEN, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

// A hash to compare against when the user does not exist, so that a wrong
// name costs as long as a wrong password.
const DUMMY = hashPassword(randomBytes(16).toString('hex'));

async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * Creates a local user (or sets a new password for an existing one).
 *
 * @throws {TypeError} the name does not match `[a-z0-9][a-z0-9._-]{0,63}` (or starts with the reserved `gw.`)
 * @throws {RangeError} the password is shorter than 12 or longer than 1024 characters
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database refuses
 * @example
 * ```ts
 * await setLocalUser(db, { username: 'alice', password: 'correct horse battery staple' });
 * await grantRole(db, { subject: 'alice', role: 'plant_admin', tenant: 'plant-a', grantedBy: 'setup' });
 * ```
 */
export async function setLocalUser(db: SqlQueryable, user: { username: string; password: string; now?: Date }): Promise<void> {
  if (typeof user.username !== 'string' || !USERNAME.test(user.username)) throw new TypeError(`username must match ${USERNAME}`);
  if (typeof user.password !== 'string') throw new TypeError('password must be a string');
  if (user.password.length < 12 || user.password.length > 1024) throw new RangeError('password must be 12 to 1024 characters');
  await db.query(
    `INSERT INTO cloud_user (name, password_hash, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash`,
    [user.username, await hashPassword(user.password), user.now ?? new Date()],
  );
}

/**
 * Checks a local user's password; takes as long for an unknown name.
 *
 * @throws {CloudError} `CLOUD_ERR_BAD_CREDENTIALS` when the name is unknown or the password wrong
 * @throws {TrustError} `TRUST_ERR_STORAGE` when the database fails
 * @example
 * ```ts
 * await verifyLocalUser(db, 'alice', password); // resolves, or throws BAD_CREDENTIALS
 * ```
 */
export async function verifyLocalUser(db: SqlQueryable, username: string, password: string): Promise<void> {
  const rows = await db.query<{ password_hash: string }>('SELECT password_hash FROM cloud_user WHERE name = $1', [username]);
  const ok = await checkPassword(password, rows[0]?.password_hash ?? (await DUMMY));
  if (!ok || rows.length === 0) {
    throw new CloudError(CLOUD_ERR.BAD_CREDENTIALS, 'cannot issue token: wrong user name or password');
  }
}
