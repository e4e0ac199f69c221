import { RegistryError } from '../registry-error.js';
import type { AccessPolicy, Action } from './access-policy.js';
import { parseBasicAuth, type Htpasswd } from './htpasswd.js';
import type { AccessEntry, TokenIssuer } from './token-issuer.js';

export type AuthMode = 'none' | 'basic' | 'token';

/** What a request needs: `repository:<name>:<actions>`, `registry:catalog:*`, or nothing but a login (`/v2/`). */
export type Requirement =
  | { type: 'repository'; name: string; actions: Action[] }
  | { type: 'registry'; name: 'catalog'; actions: ['*'] }
  | { type: 'base' };

/** Who is calling and what they may do, once authenticated. */
export interface Identity {
  /** The user name; undefined for anonymous clients and with auth mode `none`. */
  user?: string;
  /** True when the caller may perform `action` on repository `name` (used for the mount source). */
  may(name: string, action: Action): boolean;
}

export interface AuthorizerOptions {
  mode: AuthMode;
  policy: AccessPolicy;
  htpasswd?: Htpasswd;
  issuer?: TokenIssuer;
  /** `realm` of the Basic challenge. */
  basicRealm?: string;
  /** `service` of the Bearer challenge (also the tokens' audience). */
  service?: string;
}

/**
 * Decides, for one request, between letting it through, a 401 with a challenge (no or bad
 * credentials, or a token too narrow for what the user is allowed: fetch another) and a 403
 * `DENIED` (authenticated, but the access file does not allow it).
 */
export class Authorizer {
  constructor(private readonly options: AuthorizerOptions) {}

  get mode(): AuthMode {
    return this.options.mode;
  }

  /**
   * Authenticates the request's `Authorization` header and checks `requirement`.
   * `realm` is the token endpoint URL for Bearer challenges.
   */
  async authorize(authorization: string | undefined, requirement: Requirement, realm: string): Promise<Identity> {
    const { mode, policy } = this.options;
    if (mode === 'none') return { may: () => true };

    if (mode === 'basic') {
      let user: string | undefined;
      if (authorization !== undefined) {
        const creds = parseBasicAuth(authorization);
        if (creds === undefined || !(await this.options.htpasswd!.verify(creds.user, creds.password))) {
          throw this.challenge(requirement, realm, 'Invalid username or password');
        }
        user = creds.user;
      }
      const identity: Identity = { user, may: (name, action) => policy.allowed(user, name).has(action) };
      if (this.permits(identity, requirement)) return identity;
      if (user === undefined) throw this.challenge(requirement, realm, 'Authentication required');
      throw denied(user, requirement);
    }

    // token
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw this.challenge(requirement, realm, 'Authentication required: get a token from the realm of the challenge');
    let access: AccessEntry[];
    let user: string | undefined;
    try {
      const claims = await this.options.issuer!.verify(m[1]);
      access = claims.access;
      user = claims.sub === '' ? undefined : claims.sub;
    } catch (err) {
      throw this.challenge(requirement, realm, `Invalid token: ${(err as Error).message}`, 'invalid_token');
    }
    const granted = (type: string, name: string, action: string): boolean =>
      access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')));
    const identity: Identity = { user, may: (name, action) => granted('repository', name, action) };
    if (requirement.type === 'base') return identity;
    if (requirement.type === 'registry') {
      if (granted('registry', 'catalog', '*')) return identity;
      if (user !== undefined && !policy.mayListCatalog(user)) throw denied(user, requirement);
      throw this.challenge(requirement, realm, 'Token does not grant registry:catalog:*', 'insufficient_scope');
    }
    if (requirement.actions.every((a) => granted('repository', requirement.name, a))) return identity;
    // Would a new token help? Only if the policy allows what the token lacks.
    const allowed = policy.allowed(user, requirement.name);
    if (user !== undefined && !requirement.actions.every((a) => allowed.has(a))) throw denied(user, requirement);
    throw this.challenge(requirement, realm, `Token does not grant ${scopeOf(requirement)}`, 'insufficient_scope');
  }

  private permits(identity: Identity, requirement: Requirement): boolean {
    if (requirement.type === 'base') return identity.user !== undefined || this.options.policy.allowed(undefined, '').size > 0;
    if (requirement.type === 'registry') return this.options.policy.mayListCatalog(identity.user);
    return requirement.actions.every((a) => identity.may(requirement.name, a));
  }

  private challenge(requirement: Requirement, realm: string, message: string, error?: string): RegistryError {
    let header: string;
    if (this.options.mode === 'basic') {
      header = `Basic realm="${this.options.basicRealm ?? 'Berth Registry'}"`;
    } else {
      header = `Bearer realm="${realm}",service="${this.options.service}"`;
      if (requirement.type !== 'base') header += `,scope="${scopeOf(requirement)}"`;
      if (error !== undefined) header += `,error="${error}"`;
    }
    return new RegistryError('UNAUTHORIZED', message, { detail: detailOf(requirement), headers: { 'www-authenticate': header } });
  }
}

/** `repository:library/busybox:pull,push` / `registry:catalog:*`. */
export function scopeOf(requirement: Requirement): string {
  if (requirement.type === 'base') return '';
  return `${requirement.type}:${requirement.name}:${requirement.actions.join(',')}`;
}

function detailOf(requirement: Requirement): unknown {
  if (requirement.type === 'base') return undefined;
  return requirement.actions.map((action) => ({ Type: requirement.type, Name: requirement.name, Action: action }));
}

function denied(user: string, requirement: Requirement): RegistryError {
  return new RegistryError('DENIED', `User "${user}" may not ${scopeOf(requirement)}: ask for it in the registry's access file`, {
    detail: detailOf(requirement),
  });
}
