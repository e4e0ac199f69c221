/**
 * The Docker Engine API versions served: a request may name any of them in its `/v1.NN/` prefix
 * (docker-compose 1.29 sends 1.41, the docker 28 CLI negotiates down to the maximum through
 * `/_ping`'s `Api-Version`). A request without a prefix is served as the maximum, as dockerd does.
 */
export const MAX_API_VERSION = '1.49';
export const MIN_API_VERSION = '1.41';

const prefix = /^\/v(\d+)\.(\d+)(\/.*)$/;

export interface VersionedUrl {
  /** The URL without its version prefix. */
  url: string;
  /** The version asked for, or the maximum. */
  version: string;
  /** Why the version is refused (docker's wording), undefined when served. */
  refusal?: string;
}

export function splitVersion(url: string): VersionedUrl {
  const m = prefix.exec(url);
  if (!m) return { url, version: MAX_API_VERSION };
  const version = `${Number(m[1])}.${Number(m[2])}`;
  const rest = m[3]!;
  if (compareVersions(version, MAX_API_VERSION) > 0) {
    return { url: rest, version, refusal: `client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}` };
  }
  if (compareVersions(version, MIN_API_VERSION) < 0) {
    return { url: rest, version, refusal: `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version` };
  }
  return { url: rest, version };
}

/** Compares "1.41" and "1.9" numerically, part by part. */
export function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** The headers dockerd puts on every answer. */
export function versionHeaders(): Record<string, string> {
  return { 'Api-Version': MAX_API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `Berth (linux)` };
}
