import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { InvalidArgumentError } from '@berth/errors';

/**
 * An htpasswd file of bcrypt entries (`user:$2y$...`, as `htpasswd -B` writes them; `$2a$`/`$2b$`
 * work too). Other schemes (MD5 `$apr1$`, SHA1, crypt) are rejected at load time, as registry:2 does.
 *
 * bcrypt is deliberately slow and Docker sends Basic credentials on every request, so successful
 * checks are cached (by a sha256 of user, password and hash) for the life of the process, and
 * requests that arrive together with the same credentials share one check (a push opens several
 * connections at once: each would otherwise pay bcrypt's cost, and more so under the platform's
 * --lite-mode, where a cost-10 compare takes seconds).
 */
export class Htpasswd {
  private readonly verified = new Set<string>();
  private readonly checking = new Map<string, Promise<boolean>>();

  private constructor(private readonly entries: Map<string, string>) {}

  static parse(text: string, source = 'htpasswd'): Htpasswd {
    const entries = new Map<string, string>();
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
        throw new InvalidArgumentError(`Invalid entry on line ${i + 1} of "${source}": expected "user:<bcrypt hash>" (htpasswd -B)`);
      }
      entries.set(user, hash);
    });
    return new Htpasswd(entries);
  }

  static async load(file: string): Promise<Htpasswd> {
    return Htpasswd.parse(await readFile(file, 'utf8'), file);
  }

  /** True when `user` exists and `password` matches its hash. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.entries.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.verified.has(key)) return true;
    let check = this.checking.get(key);
    if (!check) {
      check = bcrypt.compare(password, hash).finally(() => this.checking.delete(key));
      this.checking.set(key, check);
    }
    const ok = await check;
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.add(key);
    }
    return ok;
  }
}

/** Decodes `Authorization: Basic <base64(user:password)>`; undefined for any other header. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
