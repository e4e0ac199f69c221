import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import type { OciSeccomp, OciSeccompArg, OciSeccompSyscall } from './oci-spec.js';

/** Docker's seccomp profile format (moby/profiles/seccomp `Seccomp`). */
export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  architectures?: string[];
  flags?: string[];
  syscalls?: Array<{
    names?: string[];
    name?: string;
    action: string;
    errnoRet?: number;
    args?: OciSeccompArg[] | null;
    comment?: string;
    includes?: DockerSeccompFilter;
    excludes?: DockerSeccompFilter;
  }>;
}

interface DockerSeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface SeccompTarget {
  /** Go architecture name as Docker uses in `includes.arches`: `amd64`, `arm64`, ... */
  goArch: string;
  /** The container's bounding capabilities (`CAP_...`). */
  capabilities: string[];
  /** Kernel release, e.g. `6.1.0-18-amd64`; defaults to the host's. */
  kernel?: string;
}

/** Maps Node's `process.arch` to Docker's Go arch name and libseccomp's native architecture. */
const nativeArches: Record<string, { goArch: string; scmp: string }> = {
  x64: { goArch: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  arm64: { goArch: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  s390x: { goArch: 's390x', scmp: 'SCMP_ARCH_S390X' },
  riscv64: { goArch: 'riscv64', scmp: 'SCMP_ARCH_RISCV64' },
};

export function hostGoArch(): string {
  return nativeArches[process.arch]?.goArch ?? process.arch;
}

let cachedDefault: DockerSeccompProfile | undefined;

/** Docker's default profile, loaded once from `libs/runtime/assets/seccomp-default.json`. */
export function dockerDefaultSeccompProfile(): DockerSeccompProfile {
  cachedDefault ??= JSON.parse(
    readFileSync(new URL('../assets/seccomp-default.json', import.meta.url), 'utf8'),
  ) as DockerSeccompProfile;
  return cachedDefault;
}

/**
 * Converts a Docker seccomp profile into the runtime spec's `linux.seccomp`, as moby's
 * `setupSeccomp` does: architectures come from the `archMap` entry of the native architecture (plus its
 * sub-architectures); an entry is kept only when all its `includes` hold (every listed capability is in
 * the container's set, the architecture is listed, the kernel is at least `minKernel`) and none of its
 * `excludes` does (any listed capability present, the architecture listed, kernel at least `minKernel`).
 */
export function convertSeccompProfile(profile: DockerSeccompProfile, target: SeccompTarget): OciSeccomp {
  const kernel = target.kernel ?? release();
  const scmpArch = Object.values(nativeArches).find((a) => a.goArch === target.goArch)?.scmp;
  let architectures: string[] = [];
  if (profile.archMap && profile.archMap.length > 0) {
    for (const entry of profile.archMap) {
      if (entry.architecture === scmpArch) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
    }
  } else {
    architectures = profile.architectures ?? [];
  }
  const caps = new Set(target.capabilities);
  const syscalls: OciSeccompSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    const ex = call.excludes ?? {};
    if (ex.arches?.includes(target.goArch)) continue;
    if (ex.caps?.some((c) => caps.has(c))) continue;
    if (ex.minKernel && compareKernel(kernel, ex.minKernel) >= 0) continue;
    const inc = call.includes ?? {};
    if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(target.goArch)) continue;
    if (inc.caps?.some((c) => !caps.has(c))) continue;
    if (inc.minKernel && compareKernel(kernel, inc.minKernel) < 0) continue;
    const names = call.names ?? (call.name ? [call.name] : []);
    const out: OciSeccompSyscall = { names: [...names], action: call.action };
    if (call.errnoRet !== undefined) out.errnoRet = call.errnoRet;
    if (call.args && call.args.length > 0) out.args = call.args.map((a) => ({ ...a }));
    syscalls.push(out);
  }
  const result: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined) result.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags && profile.flags.length > 0) result.flags = [...profile.flags];
  return result;
}

/** Compares kernel releases by their numeric `major.minor` prefix (`6.1.0-18-amd64` vs `4.8`). */
export function compareKernel(a: string, b: string): number {
  const parse = (v: string) => (v.match(/^(\d+)(?:\.(\d+))?/) ?? []).slice(1, 3).map((x) => Number(x ?? 0));
  const [a1 = 0, a2 = 0] = parse(a);
  const [b1 = 0, b2 = 0] = parse(b);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}
