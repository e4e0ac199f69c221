import { readFileSync } from 'node:fs';
import type { ContainerSpec } from '@berth/proto';
import type { FlagSpec, FlagValue } from './flags.js';

/**
 * The security flags of `run` / `create` (docker's `--privileged`, `--cap-add`, `--cap-drop`,
 * `--read-only`, `--security-opt`) and what they put in the create request, as the docker CLI does
 * (cli/command/container/opts.go): capabilities normalised (`CAP_` + upper case, sorted, an added
 * one not dropped, `ALL` alone), a `seccomp=FILE` profile read here and sent as its compact JSON.
 * The platform checks names and options again.
 */
export const securityFlags: FlagSpec[] = [
  { long: 'privileged', type: 'bool', description: 'Give extended privileges to this container' },
  { long: 'cap-add', type: 'list', description: 'Add Linux capabilities' },
  { long: 'cap-drop', type: 'list', description: 'Drop Linux capabilities' },
  { long: 'read-only', type: 'bool', description: "Mount the container's root filesystem as read only" },
  { long: 'security-opt', type: 'list', description: 'Security Options' },
];

/** The create request's security options; `invalid` makes the usage error to throw. */
export function securitySpecFields(values: Record<string, FlagValue>, invalid: (message: string) => Error): Pick<ContainerSpec, 'security'> {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const privileged = (values.privileged as boolean | undefined) ?? false;
  const readOnly = (values['read-only'] as boolean | undefined) ?? false;
  const { capAdd, capDrop } = effectiveCaps(list('cap-add'), list('cap-drop'));
  const securityOpt = list('security-opt').map((opt) => securityOpt1(opt, invalid));
  if (!privileged && !readOnly && capAdd.length === 0 && capDrop.length === 0 && securityOpt.length === 0) return { security: undefined };
  return { security: { privileged, capAdd, capDrop, readOnly, securityOpt } };
}

/** docker's opts.EffectiveCapAddCapDrop. */
export function effectiveCaps(add: string[], drop: string[]): { capAdd: string[]; capDrop: string[] } {
  const normalize = (cap: string) => {
    const upper = cap.trim().toUpperCase();
    return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  };
  let adds = new Set(add.map(normalize));
  let drops = new Set(drop.map(normalize));
  if (adds.has('ALL')) adds = new Set(['ALL']);
  if (drops.has('ALL')) drops = new Set(['ALL']);
  for (const cap of adds) drops.delete(cap);
  return { capAdd: [...adds].sort(), capDrop: [...drops].sort() };
}

/** docker's parseSecurityOpts (client side): a value is needed, a seccomp profile file is sent as content. */
function securityOpt1(opt: string, invalid: (message: string) => Error): string {
  let sep = opt.indexOf('=');
  if (sep < 0 && opt !== 'no-new-privileges') sep = opt.indexOf(':');
  const key = sep < 0 ? opt : opt.slice(0, sep);
  const value = sep < 0 ? '' : opt.slice(sep + 1);
  if ((sep < 0 || value === '') && key !== 'no-new-privileges') throw invalid(`Invalid --security-opt: "${opt}"`);
  if (key !== 'seccomp' || value === 'unconfined' || value === 'builtin') return opt;
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw invalid(`opening seccomp profile (${value}) failed: open ${value}: ${reason}`);
  }
  try {
    return `seccomp=${JSON.stringify(JSON.parse(text))}`;
  } catch (err) {
    throw invalid(`compacting json for seccomp profile (${value}) failed: ${(err as Error).message}`);
  }
}
