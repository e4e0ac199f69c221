import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { UnavailableError } from '@berth/errors';
import type { Credentials, CredentialsProvider } from './docker-config.js';
import { discard, headerValues, readBody, sendRequest, type HttpResponse } from './http-request.js';
import { registryError } from './registry-errors.js';
import { isInsecure, registryHost } from './registry-host.js';
import { parseChallenges, type Challenge } from './www-authenticate.js';

/**
 * HTTP to registries with their authentication (distribution-spec + registry-auth token.md):
 *
 * - Origin: `https://<host>`; for an insecure host (loopback or listed) HTTPS is probed once with
 *   a verified certificate, then with an unverified one (certificate errors only), then plain HTTP
 *   (Docker's fallback for `insecure-registries`).
 * - Auth: a request goes out with what the host's last challenge asked for. A 401 records the
 *   challenge (`Basic`, or `Bearer realm/service/scope`) and the request is retried: Basic with
 *   the credentials, Bearer with a token fetched from the realm (GET with Basic credentials,
 *   `service`, every `scope`, `account`). Tokens are cached per host, user and scope set until
 *   `expires_in` (at least 60 s, as token.md says) runs out. At most two retries; the 401 is then
 *   returned to the caller, which reports it (`unauthorized: ...`).
 * - Redirects of GET/HEAD are followed (blob downloads go to CDNs); the Authorization header is
 *   only ever sent to the registry's own origin.
 */
export interface TransportOptions {
  /** Where credentials come from, by reference domain (`docker.io`, `localhost:5000`). */
  credentials?: CredentialsProvider;
  /** Hosts (`host` or `host:port`) that may use plain HTTP or unverified HTTPS; loopback always may. */
  insecureRegistries?: string[];
  /**
   * Domains served at another address, by lower-case domain: `{ 'berth.localhost': '127.0.0.1:5000' }`
   * (the platform registry's short name, PLATFORM_REGISTRY_ALIAS). Credentials stay keyed by the domain.
   */
  hosts?: Record<string, string>;
  /** CA certificate(s), PEM, trusted for HTTPS instead of the system roots (e.g. a test registry's self-signed cert). */
  ca?: string | Buffer;
  /**
   * CA certificate(s), PEM, by host (`host:port`, as `hosts` maps to): that host is spoken to over
   * HTTPS only, its certificate verified against these instead of the system roots, whatever
   * `insecureRegistries` says (the cluster registry and its cluster CA, platform-registry.ts).
   */
  hostCas?: Record<string, string | Buffer>;
  /** Verify HTTPS certificates of secure hosts (default true). */
  rejectUnauthorized?: boolean;
  userAgent?: string;
  /** Abort a request whose socket is idle this long (default 60 s). */
  idleTimeoutMs?: number;
}

export interface RegistryRequest {
  method: string;
  /** `/v2/...` under the registry's origin, or an absolute URL (an upload `Location`). */
  path: string;
  headers?: Record<string, string | number>;
  /** A Buffer, or a factory so that the body can be sent again after an auth challenge. */
  body?: Buffer | (() => Readable);
  /** Token scopes the request needs: `repository:library/busybox:pull`. */
  scopes?: string[];
  /** Use these credentials instead of the provider's (login). */
  credentials?: Credentials;
}

interface Origin {
  url: URL;
  agent: http.Agent;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

const MAX_REDIRECTS = 5;
const MIN_TOKEN_LIFETIME_S = 60;
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|UNABLE_TO_GET_ISSUER/;

export class RegistryTransport {
  readonly #options: TransportOptions;
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  readonly #httpsAgent: https.Agent;
  readonly #insecureAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });
  readonly #hostAgents = new Map<string, https.Agent>();
  readonly #origins = new Map<string, Promise<Origin>>();
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pendingTokens = new Map<string, Promise<string>>();

  constructor(options: TransportOptions = {}) {
    this.#options = options;
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      rejectUnauthorized: options.rejectUnauthorized ?? true,
    });
  }

  /** The origin (`https://registry-1.docker.io`, `http://127.0.0.1:5000`) serving `domain`. */
  async origin(domain: string): Promise<URL> {
    return new URL((await this.#origin(domain)).url);
  }

  /**
   * Sends a request to the registry of `domain`, authenticating as needed. Resolves with any
   * final response (including a 401 that no credentials could fix): callers check the status.
   * Rejects with UnavailableError when the registry cannot be reached, PermissionDeniedError when
   * the token server refuses the credentials.
   */
  async request(domain: string, request: RegistryRequest): Promise<HttpResponse> {
    const host = this.#host(domain);
    const origin = await this.#origin(domain);
    const url = new URL(request.path, origin.url);
    const scopes = new Set(request.scopes ?? []);
    const credentials = request.credentials ?? (await this.#options.credentials?.(domain));
    for (let attempt = 0; ; attempt++) {
      const authorization = await this.#authorization(host, [...scopes], credentials, origin);
      const body = typeof request.body === 'function' ? request.body() : request.body;
      const res = await this.#send(request.method, url, { ...request.headers }, body, authorization, origin);
      if (res.status !== 401 || attempt >= 2) return res;
      const challenges = parseChallenges(headerValues(res.headers, 'www-authenticate'));
      const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      if (challenge === undefined) return res;
      this.#challenges.set(host, challenge);
      if (challenge.scheme === 'basic') {
        // Nothing new to try without credentials, or when these were just refused.
        if (credentials === undefined || authorization?.startsWith('Basic ')) return res;
      } else {
        const before = scopes.size;
        for (const s of (challenge.params.scope ?? '').split(' ')) if (s !== '') scopes.add(s);
        if (authorization?.startsWith('Bearer ')) {
          // A token was refused: worth another one only for more scopes, or if it came from the
          // cache (revoked, clock skew); a fresh token for the same scopes would be refused again.
          if (scopes.size === before && attempt >= 1) return res;
          this.#tokens.delete(tokenKey(host, credentials, [...scopes]));
        }
      }
      discard(res);
    }
  }

  /** Forgets the host's challenge, tokens and origin (after a login or logout). */
  forget(domain: string): void {
    const host = this.#host(domain);
    this.#challenges.delete(host);
    this.#origins.delete(host);
    for (const key of this.#tokens.keys()) if (key.startsWith(`${host}\n`)) this.#tokens.delete(key);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#insecureAgent.destroy();
    for (const agent of this.#hostAgents.values()) agent.destroy();
  }

  #host(domain: string): string {
    return registryHost(domain, this.#options.hosts);
  }

  #origin(domain: string): Promise<Origin> {
    const host = this.#host(domain);
    let origin = this.#origins.get(host);
    if (origin === undefined) {
      origin = this.#probe(domain, host);
      this.#origins.set(host, origin);
      origin.catch(() => this.#origins.delete(host));
    }
    return origin;
  }

  async #probe(domain: string, host: string): Promise<Origin> {
    const pinned = this.#pinnedAgent(host);
    if (pinned !== undefined) return { url: new URL(`https://${host}`), agent: pinned };
    const secure: Origin = { url: new URL(`https://${host}`), agent: this.#httpsAgent };
    const insecure = this.#options.insecureRegistries ?? [];
    if (!isInsecure(domain, insecure) && !isInsecure(host, insecure)) return secure;
    const attempt = async (origin: Origin): Promise<void> => {
      const res = await sendRequest({ method: 'GET', url: new URL('/v2/', origin.url), agent: origin.agent, idleTimeoutMs: 5000, headers: this.#baseHeaders() });
      discard(res);
    };
    try {
      await attempt(secure);
      return secure;
    } catch (err) {
      const code = String(((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? '');
      if (CERTIFICATE_ERROR.test(code)) return { url: secure.url, agent: this.#insecureAgent };
    }
    return { url: new URL(`http://${host}`), agent: this.#httpAgent };
  }

  #baseHeaders(): Record<string, string> {
    return { 'user-agent': this.#options.userAgent ?? 'berth/0.1' };
  }

  async #send(
    method: string,
    start: URL,
    headers: Record<string, string | number>,
    body: Buffer | Readable | undefined,
    authorization: string | undefined,
    origin: Origin,
  ): Promise<HttpResponse> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const sameOrigin = url.origin === origin.url.origin;
      const res = await sendRequest({
        method,
        url,
        headers: { ...this.#baseHeaders(), ...headers, ...(authorization && sameOrigin ? { authorization } : {}) },
        body,
        agent: sameOrigin ? origin.agent : this.#agentFor(url),
        idleTimeoutMs: this.#options.idleTimeoutMs,
      });
      const location = res.headers.location;
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location !== undefined;
      if (!redirect || (method !== 'GET' && method !== 'HEAD') || hop >= MAX_REDIRECTS) return res;
      discard(res);
      url = new URL(location, url);
    }
  }

  /** The HTTPS agent trusting `host`'s own CA (`hostCas`), or undefined for a host without one. */
  #pinnedAgent(host: string): https.Agent | undefined {
    const ca = this.#options.hostCas?.[host.toLowerCase()];
    if (ca === undefined) return undefined;
    let agent = this.#hostAgents.get(host.toLowerCase());
    if (agent === undefined) {
      agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca, rejectUnauthorized: true });
      this.#hostAgents.set(host.toLowerCase(), agent);
    }
    return agent;
  }

  #agentFor(url: URL): http.Agent {
    if (url.protocol === 'http:') return this.#httpAgent;
    const pinned = this.#pinnedAgent(url.host);
    if (pinned !== undefined) return pinned;
    return isInsecure(url.host, this.#options.insecureRegistries) ? this.#insecureAgent : this.#httpsAgent;
  }

  async #authorization(host: string, scopes: string[], credentials: Credentials | undefined, origin: Origin): Promise<string | undefined> {
    const challenge = this.#challenges.get(host);
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      return credentials ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` : undefined;
    }
    return `Bearer ${await this.#token(host, challenge, scopes, credentials, origin)}`;
  }

  #token(host: string, challenge: Challenge, scopes: string[], credentials: Credentials | undefined, origin: Origin): Promise<string> {
    const key = tokenKey(host, credentials, scopes);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now() + 5000) return Promise.resolve(cached.token);
    let pending = this.#pendingTokens.get(key);
    if (pending === undefined) {
      pending = this.#fetchToken(host, challenge, scopes, credentials, origin).then((t) => {
        this.#tokens.set(key, t);
        return t.token;
      });
      // awaited by its caller; this only keeps an early rejection from being unhandled
      pending.finally(() => this.#pendingTokens.delete(key)).catch(() => undefined);
      this.#pendingTokens.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(host: string, challenge: Challenge, scopes: string[], credentials: Credentials | undefined, origin: Origin): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw new UnavailableError(`Registry "${host}" sent a Bearer challenge without a realm`);
    const url = new URL(realm, origin.url);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const scope of [...new Set(scopes)].sort()) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = this.#baseHeaders();
    if (credentials) {
      url.searchParams.set('account', credentials.username);
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const res = await sendRequest({
      method: 'GET',
      url,
      headers,
      agent: url.origin === origin.url.origin ? origin.agent : this.#agentFor(url),
      idleTimeoutMs: this.#options.idleTimeoutMs,
    });
    if (res.status !== 200) throw await registryError(res);
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      body = JSON.parse((await readBody(res, 1024 * 1024)).toString('utf8'));
    } catch (err) {
      throw new UnavailableError(`Token server "${url.origin}" answered with invalid JSON`, { cause: err });
    }
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || token === '') throw new UnavailableError(`Token server "${url.origin}" answered without a token`);
    const lifetime = Math.max(Number(body.expires_in) || 0, MIN_TOKEN_LIFETIME_S) * 1000;
    const issued = body.issued_at ? Date.parse(body.issued_at) : NaN;
    // Trust issued_at only when the clocks roughly agree.
    const start = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 60_000 ? issued : Date.now();
    return { token, expiresAt: start + lifetime };
  }
}

function tokenKey(host: string, credentials: Credentials | undefined, scopes: string[]): string {
  return `${host}\n${credentials?.username ?? ''}\n${[...new Set(scopes)].sort().join(' ')}`;
}
