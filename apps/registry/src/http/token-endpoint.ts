import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessPolicy } from '../auth/access-policy.js';
import { parseBasicAuth, type Htpasswd } from '../auth/htpasswd.js';
import { grantAccess, parseScopes } from '../auth/scope.js';
import type { TokenIssuer } from '../auth/token-issuer.js';
import { RegistryError } from '../registry-error.js';

export interface TokenEndpointOptions {
  issuer: TokenIssuer;
  policy: AccessPolicy;
  htpasswd: Htpasswd;
  basicRealm: string;
}

/**
 * The registry's own token server (registry-auth/token.md, oauth.md):
 * - `GET /auth/token?service=&scope=...` with optional Basic credentials (Docker, skopeo);
 * - `POST /auth/token` with a form body `grant_type=password&username=&password=&scope=...`.
 * Wrong credentials are a 401; missing ones give an anonymous token. The token grants the
 * intersection of the requested scopes with what the access policy allows: never an error.
 */
export function tokenHandler(options: TokenEndpointOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let user: string | undefined;
    let password: string | undefined;
    let scope: string | string[] | undefined;
    if (request.method === 'POST') {
      const form = new URLSearchParams(await readText(request));
      const grant = form.get('grant_type');
      if (grant !== 'password') {
        reply.code(400).send({ error: 'unsupported_grant_type', error_description: `Unsupported grant_type "${grant}": only "password" is supported` });
        return;
      }
      user = form.get('username') ?? undefined;
      password = form.get('password') ?? '';
      scope = form.getAll('scope');
    } else {
      const creds = parseBasicAuth(request.headers.authorization);
      if (request.headers.authorization !== undefined && creds === undefined) throw badCredentials(options.basicRealm);
      user = creds?.user;
      password = creds?.password;
      scope = (request.query as Record<string, string | string[] | undefined>).scope;
    }
    if (user !== undefined && !(await options.htpasswd.verify(user, password ?? ''))) throw badCredentials(options.basicRealm);
    const access = grantAccess(options.policy, user, parseScopes(scope));
    const issued = await options.issuer.issue(user ?? '', access);
    reply.code(200).header('cache-control', 'no-store').type('application/json').send(issued);
  };
}

function badCredentials(realm: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', 'Invalid username or password', { headers: { 'www-authenticate': `Basic realm="${realm}"` } });
}

async function readText(request: FastifyRequest): Promise<string> {
  let text = '';
  for await (const chunk of request.raw) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 64 * 1024) throw new RegistryError('SIZE_INVALID', 'Token request body too large: more than 64 KiB', { status: 413 });
  }
  return text;
}
