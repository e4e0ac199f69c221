import { InvalidArgumentError } from '@berth/errors';

/**
 * Image references with Docker's normalization (distribution/reference `ParseNormalizedNamed`):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *   domain     := host [":" port]          (needs a "." or ":" or to be "localhost" or to hold uppercase)
 *   component  := [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex        (sha256: 64 hex, sha512: 128 hex)
 *
 * `busybox` → `docker.io/library/busybox:latest`. Errors use Docker's own wording (the CLI and API
 * clients match on it), e.g. `invalid reference format: repository name (library/Busybox) must be lowercase`.
 */
export interface Reference {
  /** Registry host (and port): `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
  /** `domain/path`: `docker.io/library/busybox`. */
  readonly name: string;
  /** The full reference: `docker.io/library/busybox:latest`, `localhost:5000/a@sha256:…`. */
  toString(): string;
  /** As Docker prints it: `busybox:latest`, `user/app:1`, `localhost:5000/a:b`. */
  familiar(): string;
  /** The familiar repository name without tag or digest: `busybox`. */
  familiarName(): string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const identifierRegexp = /^[a-f0-9]{64}$/;

export interface ParseReferenceOptions {
  /** Add the `latest` tag when neither tag nor digest is given (default true). */
  defaultTag?: boolean;
}

class ParsedReference implements Reference {
  readonly name: string;

  constructor(
    readonly domain: string,
    readonly path: string,
    readonly tag: string | undefined,
    readonly digest: string | undefined,
  ) {
    this.name = `${domain}/${path}`;
  }

  toString(): string {
    return suffix(this.name, this.tag, this.digest);
  }

  familiar(): string {
    return suffix(this.familiarName(), this.tag, this.digest);
  }

  familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    if (this.path.startsWith(OFFICIAL_REPO_PREFIX)) {
      const rest = this.path.slice(OFFICIAL_REPO_PREFIX.length);
      if (!rest.includes('/')) return rest;
    }
    return this.path;
  }

  toJSON(): string {
    return this.toString();
  }
}

function suffix(name: string, tag: string | undefined, digest: string | undefined): string {
  return name + (tag ? `:${tag}` : '') + (digest ? `@${digest}` : '');
}

function invalid(message: string, s: string): InvalidArgumentError {
  return new InvalidArgumentError(message, { code: 'INVALID_REFERENCE', detail: { reference: s } });
}

/** Parses and normalizes an image reference; throws InvalidArgumentError with Docker's wording. */
export function parseReference(s: string, options: ParseReferenceOptions = {}): Reference {
  if (identifierRegexp.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`, s);
  }
  if (s === '') throw invalid('invalid reference format', s);
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(':');
  const remote = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`, s);
  }
  const full = `${domain}/${remainder}`;
  const m = referenceRegexp.exec(full);
  if (!m) {
    const lower = full.toLowerCase();
    if (lower !== full && referenceRegexp.test(lower)) {
      throw invalid('repository name must be lowercase', s);
    }
    throw invalid('invalid reference format', s);
  }
  const [, name, tag, digest] = m as unknown as [string, string, string | undefined, string | undefined];
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`, s);
  }
  if (digest !== undefined) validateReferenceDigest(digest, s);
  const nm = anchoredNameRegexp.exec(name)!;
  // "a.b_c/d": the first component looks like a registry (a dot) but is not a host name, so the
  // pattern matched it as a path with no registry at all. Docker keeps an empty domain there,
  // which no registry answers to; refuse it instead.
  if (nm[1] === undefined) throw invalid('invalid reference format', s);
  const useTag = tag ?? (digest === undefined && options.defaultTag !== false ? DEFAULT_TAG : undefined);
  return new ParsedReference(nm[1]!, nm[2]!, useTag, digest);
}

/** True when `s` parses as a reference. */
export function isReference(s: string): boolean {
  try {
    parseReference(s);
    return true;
  } catch {
    return false;
  }
}

/** Validates a tag alone (`docker tag x name:TAG`), Docker's `invalid tag format` otherwise. */
export function validateTag(tag: string): void {
  if (!anchoredTagRegexp.test(tag)) throw invalid('invalid tag format', tag);
}

/** go-digest's `Digest.Validate`, with its messages, for digests inside references. */
function validateReferenceDigest(digest: string, s: string): void {
  const i = digest.indexOf(':');
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  const size = algorithm === 'sha256' ? 64 : algorithm === 'sha512' ? 128 : 0;
  if (size === 0) throw invalid('unsupported digest algorithm', s);
  if (hex.length !== size) throw invalid('invalid checksum digest length', s);
  if (!/^[a-f0-9]+$/.test(hex)) throw invalid('invalid checksum digest format', s);
}

function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash === -1) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === 'localhost') [domain, remote] = [maybeDomain, maybeRemote];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  else if (/[.:]/.test(maybeDomain)) [domain, remote] = [maybeDomain, maybeRemote];
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remote] = [maybeDomain, maybeRemote];
  else [domain, remote] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}
