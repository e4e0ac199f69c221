import { InvalidArgumentError, messageOf } from '@berth/errors';
import { computeCapabilities, convertSeccompProfile, type DockerSeccompProfile, type SpecOptions } from '@berth/runtime';
import type { CreateOptions, HostConfig } from './types.js';

/** What `--security-opt` entries ask of the runtime spec. */
export interface SecuritySettings {
  /** Undefined: the platform's default (true). */
  noNewPrivileges?: boolean;
  /** Undefined: Docker's default profile. */
  seccomp?: 'default' | 'unconfined' | DockerSeccompProfile;
  /** Options accepted without effect on this platform (AppArmor, SELinux labels), one message each. */
  warnings: string[];
}

/**
 * Docker's `--security-opt` (daemon `parseSecurityOpt`): `no-new-privileges[=bool]`,
 * `seccomp=unconfined|builtin|<profile JSON>` (the CLI sends a profile file's content),
 * `apparmor=…` and `label=…` / `disable` (accepted and ignored: Berth applies neither AppArmor nor
 * SELinux). `key:value` is read as `key=value`, as Docker still does. Anything else is refused with
 * Docker's messages, `invalid --security-opt 1: "x"` (no value) or `invalid --security-opt 2: "x=y"`.
 */
export function parseSecurityOpts(opts: string[]): SecuritySettings {
  const settings: SecuritySettings = { warnings: [] };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      settings.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      settings.warnings.push(ignored(opt, 'SELinux labels'));
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (sep === undefined) throw new InvalidArgumentError(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    switch (key) {
      case 'label':
        settings.warnings.push(ignored(opt, 'SELinux labels'));
        break;
      case 'apparmor':
        settings.warnings.push(ignored(opt, 'AppArmor profiles'));
        break;
      case 'seccomp':
        settings.seccomp = seccompOf(value);
        break;
      case 'no-new-privileges': {
        const flag = parseGoBool(value);
        if (flag === undefined) throw new InvalidArgumentError(`invalid --security-opt 2: "${opt}"`);
        settings.noNewPrivileges = flag;
        break;
      }
      case 'writable-cgroups':
        throw new InvalidArgumentError(`Security option "${opt}" is not supported: the cgroup filesystem is read-only unless --privileged`);
      default:
        throw new InvalidArgumentError(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return settings;
}

function ignored(opt: string, what: string): string {
  return `Security option "${opt}" ignored: Berth does not apply ${what}`;
}

function seccompOf(value: string): SecuritySettings['seccomp'] {
  if (value === 'unconfined') return 'unconfined';
  if (value === '' || value === 'builtin') return 'default';
  let profile: unknown;
  try {
    profile = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`Decoding seccomp profile failed: ${messageOf(err)}`);
  }
  if (typeof profile !== 'object' || profile === null || typeof (profile as DockerSeccompProfile).defaultAction !== 'string') {
    throw new InvalidArgumentError('Decoding seccomp profile failed: "defaultAction" must be a string such as "SCMP_ACT_ERRNO"');
  }
  return profile as DockerSeccompProfile;
}

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/**
 * Checks the security options of a create request before anything is made: capability names
 * (`unknown capability: "CAP_X"`), `--security-opt` entries, and that a custom seccomp profile
 * converts. @returns the warnings to show the user.
 */
export function checkSecurityOptions(options: Pick<CreateOptions, 'capAdd' | 'capDrop' | 'securityOpt'>): string[] {
  const caps = computeCapabilities(options.capAdd ?? [], options.capDrop ?? []);
  const settings = parseSecurityOpts(options.securityOpt ?? []);
  if (typeof settings.seccomp === 'object') {
    try {
      convertSeccompProfile(settings.seccomp, { goArch: 'amd64', capabilities: caps });
    } catch (err) {
      throw new InvalidArgumentError(`Decoding seccomp profile failed: ${messageOf(err)}`);
    }
  }
  return settings.warnings;
}

/** The runtime spec options of a container's security settings (HostConfig as recorded). */
export function securitySpecOptions(host: HostConfig): Pick<
  SpecOptions,
  'privileged' | 'capAdd' | 'capDrop' | 'readonlyRootfs' | 'noNewPrivileges' | 'seccomp'
> {
  const settings = parseSecurityOpts(host.SecurityOpt ?? []);
  return {
    privileged: host.Privileged ?? false,
    capAdd: host.CapAdd ?? [],
    capDrop: host.CapDrop ?? [],
    readonlyRootfs: host.ReadonlyRootfs ?? false,
    ...(settings.noNewPrivileges !== undefined ? { noNewPrivileges: settings.noNewPrivileges } : {}),
    ...(settings.seccomp !== undefined ? { seccomp: settings.seccomp } : {}),
  };
}
