import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { isEnoent } from '../storage/fs-util.js';

/** One entry of the JWT `access` claim (registry-auth/jwt.md). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: AccessEntry[];
}

export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

export interface TokenIssuerOptions {
  /** `iss` of issued tokens, checked on verification. */
  issuer: string;
  /** `aud` of issued tokens (the registry's service name), checked on verification. */
  service: string;
  /** Token lifetime; at least 60 s per the spec. Default 300 s. */
  ttlSeconds?: number;
}

/** Clock skew tolerated when checking `nbf` / `exp`. */
const LEEWAY_SECONDS = 30;

/**
 * Issues and verifies the registry's bearer tokens: ES256 JWTs (registry-auth/jwt.md) signed with
 * a P-256 key that the registry generates on first start and keeps in a PEM file. Because the
 * registry is its own token server, it verifies with the same key and never calls back anywhere.
 * Signing and verification are `jose`'s; this class holds the key and says what a token must claim.
 */
export class TokenIssuer {
  readonly kid: string;
  private readonly publicKey: KeyObject;
  private readonly ttl: number;

  constructor(
    private readonly privateKey: KeyObject,
    private readonly options: TokenIssuerOptions,
  ) {
    this.publicKey = createPublicKey(privateKey);
    this.kid = libtrustKeyId(this.publicKey);
    this.ttl = Math.max(options.ttlSeconds ?? 300, 60);
  }

  /** Loads the signing key from `keyFile`, generating it (mode 0600) when the file does not exist. */
  static async load(keyFile: string, options: TokenIssuerOptions): Promise<TokenIssuer> {
    let pem: string;
    try {
      pem = await readFile(keyFile, 'utf8');
    } catch (err) {
      if (!isEnoent(err)) throw err;
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await mkdir(dirname(keyFile), { recursive: true });
      await writeFile(keyFile, pem, { mode: 0o600, flag: 'wx' }).catch(async (e) => {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        pem = await readFile(keyFile, 'utf8'); // another process won the race
      });
    }
    return new TokenIssuer(createPrivateKey(pem), options);
  }

  /** Signs a token for `subject` ('' for anonymous) granting exactly `access`. */
  async issue(subject: string, access: AccessEntry[], now = new Date()): Promise<IssuedToken> {
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ typ: 'JWT', alg: 'ES256', kid: this.kid })
      .setIssuer(this.options.issuer)
      .setSubject(subject)
      .setAudience(this.options.service)
      .setIssuedAt(iat)
      .setNotBefore(iat - 1)
      .setExpirationTime(iat + this.ttl)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.privateKey);
    return { token, access_token: token, expires_in: this.ttl, issued_at: now.toISOString() };
  }

  /**
   * Verifies signature, issuer, audience and validity window. Rejects with an Error whose message
   * says what is wrong (the caller turns it into a 401 challenge with `error="invalid_token"`).
   */
  async verify(token: string, now = new Date()): Promise<TokenClaims> {
    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new Error('Malformed token: expected three dot-separated base64url parts, the first a JSON header');
    }
    if (header.alg !== 'ES256') throw new Error(`Unsupported token algorithm "${header.alg}": expected "ES256"`);
    if (header.kid !== undefined && header.kid !== this.kid) throw new Error(`Token signed by unknown key "${header.kid}"`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['ES256'],
        issuer: this.options.issuer,
        audience: this.options.service,
        requiredClaims: ['exp'],
        clockTolerance: LEEWAY_SECONDS,
        currentDate: now,
      }));
    } catch (err) {
      throw new Error(this.reason(err, token));
    }
    const claims = payload as unknown as TokenClaims;
    if (!Array.isArray(claims.access)) claims.access = [];
    return claims;
  }

  /** jose's error, in the words this registry has always answered with. */
  private reason(err: unknown, token: string): string {
    if (err instanceof errors.JWSSignatureVerificationFailed) return 'Invalid token signature';
    if (err instanceof errors.JWTExpired) return 'Token has expired';
    if (err instanceof errors.JWTClaimValidationFailed) {
      const claims = decodeJwt(token);
      if (err.claim === 'nbf') return 'Token is not valid yet';
      if (err.claim === 'iss') return `Token issuer "${String(claims.iss)}" is not trusted, expected "${this.options.issuer}"`;
      if (err.claim === 'aud') return `Token audience "${String(claims.aud)}" is not "${this.options.service}"`;
      if (err.claim === 'exp') return 'Token has expired';
      return `Invalid token claim "${err.claim}": ${err.reason}`;
    }
    if (err instanceof errors.JOSEError) return `Malformed token: ${err.message}`;
    throw err;
  }
}

/**
 * The key id format of Docker's libtrust (what registry:2's token auth prints as `kid`): the first
 * 240 bits of sha256(DER SubjectPublicKeyInfo), base32 without padding, in 12 groups of 4 joined by ':'.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}
