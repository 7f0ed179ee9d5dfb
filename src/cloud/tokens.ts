/**
 * Bearer tokens for people (JWT, via `jose`). Two configurations:
 *
 * - **local** (the embedded default): the cloud is the issuer. It signs ES256
 *   tokens for its local users (`POST /v1/auth/token`) and verifies them with
 *   its own public key.
 * - **oidc**: any OpenID Connect issuer. Tokens are verified against the
 *   issuer's JWKS (fetched and cached by `jose`), its `iss` and the configured
 *   audience; the subject is read from `subjectClaim` (default `sub`).
 *
 * Either way a verified token yields only a subject; what it may do comes
 * from the stored roles (src/cloud/roles.ts), never from token claims.
 * @module
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, exportJWK, importJWK, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';
import { CLOUD_ERR, CloudError } from './errors.ts';

type CryptoKey = webcrypto.CryptoKey;

/** The cloud issues tokens itself. */
export interface LocalIssuerConfig {
  readonly kind: 'local';
  /** `iss` of the tokens, e.g. `https://cloud.example.com`. */
  readonly issuer: string;
  /** `aud` of the tokens. */
  readonly audience: string;
  /** The ES256 key pair (see {@link createIssuerKey} / {@link importIssuerKey}). */
  readonly key: IssuerKey;
  /** Lifetime of an issued token in seconds (default 3600). */
  readonly tokenTtlSeconds?: number;
}

/** Tokens come from an OpenID Connect issuer. */
export interface OidcIssuerConfig {
  readonly kind: 'oidc';
  /** The issuer's `iss`, exactly. */
  readonly issuer: string;
  /** The audience this API expects in `aud`. */
  readonly audience: string;
  /** The issuer's JWKS document (its `jwks_uri`). */
  readonly jwksUrl: string;
  /** The claim that names the person (default `sub`); its value must be a {@link Subject}-shaped identifier. */
  readonly subjectClaim?: string;
  /** Accepted signature algorithms (default RS256, PS256, ES256, EdDSA). */
  readonly algorithms?: readonly string[];
}

/** How people's tokens are issued and verified. */
export type PeopleAuthConfig = LocalIssuerConfig | OidcIssuerConfig;

/** The local issuer's ES256 key pair. */
export interface IssuerKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** Verifies a bearer token and returns its subject. */
export type TokenVerifier = (token: string) => Promise<string>;

const PERSON = /^(?![gG][wW]\.)[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/**
 * A new ES256 key pair for the local issuer.
 *
 * @throws never
 * @example
 * ```ts
 * const key = await createIssuerKey();
 * await writeFile('issuer.jwk', JSON.stringify(await exportIssuerKey(key)), { mode: 0o600 });
 * ```
 */
export async function createIssuerKey(): Promise<IssuerKey> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as IssuerKey;
}

/**
 * The private JWK of the issuer key, to store (secret: the file must be
 * readable by the cloud only).
 *
 * @throws {CloudError} `CLOUD_ERR_PKI` when the key is not extractable
 * @example
 * ```ts
 * const jwk = await exportIssuerKey(key);
 * ```
 */
export async function exportIssuerKey(key: IssuerKey): Promise<JWK> {
  try {
    return await exportJWK(key.privateKey);
  } catch (e) {
    throw new CloudError(CLOUD_ERR.PKI, 'cannot export issuer key: not extractable', { cause: e });
  }
}

/**
 * Loads the issuer key from its private JWK (EC P-256).
 *
 * @throws {CloudError} `CLOUD_ERR_PKI` when the JWK is not a private P-256 key
 * @example
 * ```ts
 * const key = await importIssuerKey(JSON.parse(await readFile('issuer.jwk', 'utf8')));
 * ```
 */
export async function importIssuerKey(jwk: JWK): Promise<IssuerKey> {
  if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') {
    throw new CloudError(CLOUD_ERR.PKI, 'cannot import issuer key: not a private EC P-256 JWK');
  }
  try {
    const privateKey = (await importJWK({ ...jwk, alg: 'ES256' }, 'ES256', { extractable: true })) as CryptoKey;
    const { d: _d, ...pub } = jwk;
    const publicKey = (await importJWK({ ...pub, alg: 'ES256' }, 'ES256')) as CryptoKey;
    return { privateKey, publicKey };
  } catch (e) {
    throw new CloudError(CLOUD_ERR.PKI, 'cannot import issuer key: the JWK does not load', { cause: e });
  }
}

/**
 * Signs a token for a local user.
 *
 * @returns the compact JWT and its expiry
 * @throws never for a valid config
 * @example
 * ```ts
 * const { token, expiresAt } = await issueLocalToken(config, 'alice');
 * ```
 */
export async function issueLocalToken(config: LocalIssuerConfig, subject: string, now: Date = new Date()): Promise<{ token: string; expiresAt: Date }> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + (config.tokenTtlSeconds ?? 3600);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(subject)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(config.key.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}

/**
 * Checks a people-auth configuration and returns the verifier the
 * authentication plugin uses.
 *
 * @param now - the clock tokens are checked against
 * @throws {CloudError} `CLOUD_ERR_CONFIG` when the configuration is incomplete or malformed
 * @example
 * ```ts
 * const verify = createTokenVerifier({ kind: 'oidc', issuer, audience: 'hedge', jwksUrl: `${issuer}/jwks` });
 * const subject = await verify(token); // or throws CLOUD_ERR_TOKEN_INVALID
 * ```
 */
export function createTokenVerifier(config: PeopleAuthConfig, now: () => Date = () => new Date()): TokenVerifier {
  const bad = (reason: string) => new CloudError(CLOUD_ERR.CONFIG, `cannot configure people auth: ${reason}`);
  if (typeof config?.issuer !== 'string' || config.issuer.length === 0) throw bad('issuer must be a non-empty string');
  if (typeof config.audience !== 'string' || config.audience.length === 0) throw bad('audience must be a non-empty string');
  let key: CryptoKey | JWTVerifyGetKey;
  let algorithms: string[];
  let claim = 'sub';
  if (config.kind === 'local') {
    if (!config.key?.publicKey || !config.key.privateKey) throw bad('local issuer needs its key pair');
    const ttl = config.tokenTtlSeconds ?? 3600;
    if (!Number.isInteger(ttl) || ttl < 60 || ttl > 86_400) throw bad('tokenTtlSeconds must be an integer in [60, 86400]');
    key = config.key.publicKey;
    algorithms = ['ES256'];
  } else if (config.kind === 'oidc') {
    let url: URL;
    try {
      url = new URL(config.jwksUrl);
    } catch {
      throw bad('jwksUrl must be an absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('jwksUrl must be http(s)');
    key = createRemoteJWKSet(url);
    algorithms = [...(config.algorithms ?? ['RS256', 'PS256', 'ES256', 'EdDSA'])];
    if (algorithms.length === 0 || algorithms.some((a) => a === 'none' || a.startsWith('HS'))) throw bad('algorithms must be asymmetric signature algorithms');
    claim = config.subjectClaim ?? 'sub';
  } else {
    throw bad("kind must be 'local' or 'oidc'");
  }
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key as CryptoKey, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms,
        currentDate: now(),
        clockTolerance: 30,
        requiredClaims: ['exp'],
      }));
    } catch (e) {
      const reason = (e as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token does not verify';
      throw new CloudError(CLOUD_ERR.TOKEN_INVALID, `cannot authenticate: ${reason}`, { cause: e, hint: 'get a new token from your issuer' });
    }
    const subject = payload[claim];
    if (typeof subject !== 'string' || !PERSON.test(subject)) {
      throw new CloudError(CLOUD_ERR.TOKEN_INVALID, `cannot authenticate: claim ${JSON.stringify(claim)} is not a usable subject`, {
        hint: 'subjects are letters, digits and ._@- (at most 128), not starting with gw.; choose another subjectClaim',
      });
    }
    return subject;
  };
}
