/**
 * `WWW-Authenticate` challenges (RFC 9110 11.6.1) as registries send them:
 *   Basic realm="Registry"
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 * One header may hold several challenges (`Basic realm="a", Bearer realm="b"`); parameter names are
 * case-insensitive, values are tokens or quoted strings with `\` escapes.
 */
export interface Challenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Parameters by lowercased name: realm, service, scope, error. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** Parses every challenge of one or more header values; malformed tails are ignored. */
export function parseChallenges(headers: string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const header of headers) {
    let rest = header;
    let current: Challenge | undefined;
    for (;;) {
      rest = rest.replace(/^[\s,]+/, '');
      const name = TOKEN.exec(rest)?.[0];
      if (name === undefined) break;
      const afterName = rest.slice(name.length);
      const eq = /^\s*=\s*/.exec(afterName);
      if (eq && current && !/^=+\s*(,|$)/.test(afterName.trimStart())) {
        // auth-param: name=value
        let value: string;
        rest = afterName.slice(eq[0].length);
        if (rest.startsWith('"')) {
          let i = 1;
          value = '';
          while (i < rest.length && rest[i] !== '"') {
            if (rest[i] === '\\' && i + 1 < rest.length) i++;
            value += rest[i];
            i++;
          }
          rest = rest.slice(i + 1);
        } else {
          value = TOKEN.exec(rest)?.[0] ?? '';
          rest = rest.slice(value.length);
        }
        current.params[name.toLowerCase()] = value;
      } else {
        // a new challenge (a token68 after the scheme, e.g. `Negotiate abc==`, is skipped)
        current = { scheme: name.toLowerCase(), params: {} };
        out.push(current);
        rest = afterName.replace(/^\s+[A-Za-z0-9\-._~+/]+=*\s*(?=,|$)/, '');
      }
    }
  }
  return out;
}
