import { InvalidArgumentError } from '@berth/errors';
import type { Filter } from '@berth/proto';

/** Query parameters as fastify parses them (a repeated one is an array). */
export type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function str(q: Query, name: string, fallback = ''): string {
  return one(q, name) ?? fallback;
}

/** Docker's boolean parameters: "1", "true", "True" are true; "0", "false", "" false. */
export function bool(q: Query, name: string, fallback = false): boolean {
  const v = one(q, name);
  if (v === undefined) return fallback;
  return /^(1|true|yes)$/i.test(v);
}

export function int(q: Query, name: string): number | undefined {
  const v = one(q, name);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`invalid value for "${name}": "${v}": expected a number`);
  return Math.trunc(n);
}

/**
 * Docker's `filters` parameter: JSON `{"label": {"a=b": true}}` (map form) or `{"label": ["a=b"]}`
 * (the older list form), as the proto's key/value filters.
 */
export function filters(q: Query, name = 'filters'): Filter[] {
  const raw = one(q, name);
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter "${raw}": not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError(`invalid filter "${raw}": expected an object`);
  const out: Filter[] = [];
  for (const [key, values] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(values)) for (const v of values) out.push({ key, value: String(v) });
    else if (values && typeof values === 'object') {
      for (const [v, on] of Object.entries(values)) if (on) out.push({ key, value: v });
    } else throw new InvalidArgumentError(`invalid filter "${raw}": the values of "${key}" must be a list or an object`);
  }
  return out;
}

/** Docker's `X-Registry-Auth` header: base64url JSON {username, password, serveraddress}. */
export function registryAuth(header: string | string[] | undefined): { username: string; password: string } | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  try {
    const json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { username?: string; password?: string; identitytoken?: string };
    if (!json.username && !json.password) return undefined;
    return { username: json.username ?? '', password: json.password ?? '' };
  } catch {
    throw new InvalidArgumentError('Invalid X-Registry-Auth header: expected base64url-encoded JSON');
  }
}
