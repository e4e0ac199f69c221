import { ContainersMethods } from '@berth/proto';
import { unaryClient } from './unary-clients.js';
import type { CommandContext } from './context.js';

/**
 * `logs --details`: the attributes docker's json-file and local drivers attach to each line, from
 * the container's `--log-opt labels=… / labels-regex=… / env=… / env-regex=…` (daemon/logger
 * `ExtraAttributes`), as docker's API writes them before a line: `k=v,k2=v2 ` (keys sorted,
 * query-escaped), or a lone space when there are none.
 */
export async function logDetails(ctx: CommandContext, id: string): Promise<string> {
  const c = unaryClient(ctx, ContainersMethods);
  const view = JSON.parse((await c.inspect({ id })).json) as {
    Config?: { Labels?: Record<string, string> | null; Env?: string[] | null };
    HostConfig?: { LogConfig?: { Config?: Record<string, string> } };
  };
  return `${detailsOf(view.HostConfig?.LogConfig?.Config ?? {}, view.Config?.Labels ?? {}, view.Config?.Env ?? [])} `;
}

export function detailsOf(opts: Record<string, string>, labels: Record<string, string>, env: string[]): string {
  const extra = new Map<string, string>();
  const list = (key: string) => (opts[key] ? opts[key]!.split(',') : []);
  for (const name of list('labels')) if (name in labels) extra.set(name, labels[name]!);
  if (opts['labels-regex']) {
    const re = new RegExp(opts['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) extra.set(k, v);
  }
  const vars = new Map(env.filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as [string, string]));
  for (const name of list('env')) if (vars.has(name)) extra.set(name, vars.get(name)!);
  if (opts['env-regex']) {
    const re = new RegExp(opts['env-regex']);
    for (const [k, v] of vars) if (re.test(k)) extra.set(k, v);
  }
  // Go's url.QueryEscape: spaces become '+'
  const escape = (s: string) => encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return [...extra.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${escape(k)}=${escape(v)}`)
    .join(',');
}
