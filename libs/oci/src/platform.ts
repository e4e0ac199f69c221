import { InvalidArgumentError } from '@berth/errors';
import type { Platform } from './types.js';

/** Node's `process.arch` → GOARCH, as OCI platforms use Go's names. */
const goArch: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** The platform of this host, e.g. `{ os: 'linux', architecture: 'amd64' }` (arm64 gets variant v8). */
export function currentPlatform(): Platform {
  const architecture = goArch[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return architecture === 'arm64' ? { os, architecture, variant: 'v8' } : { os, architecture };
}

/** `linux/amd64`, `linux/arm64/v8`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/** Parses `os/arch[/variant]` (`linux/arm64/v8`); a missing arm64 variant defaults to v8. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || p !== p.toLowerCase())) {
    throw new InvalidArgumentError(`Invalid platform "${s}": expected os/arch[/variant] in lowercase, e.g. "linux/amd64"`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  const normalized = normalizeArch(architecture, variant);
  return normalized.variant ? { os, ...normalized } : { os, architecture: normalized.architecture };
}

function normalizeArch(architecture: string, variant: string | undefined): { architecture: string; variant?: string } {
  switch (architecture) {
    case 'x86_64':
    case 'x86-64':
      return { architecture: 'amd64' };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: variant === '8' || !variant ? 'v8' : variant };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: variant ? (variant.startsWith('v') ? variant : `v${variant}`) : 'v7' };
    default:
      return variant ? { architecture, variant } : { architecture };
  }
}

/**
 * A predicate that says whether an index entry's platform can run where `wanted` (default: this
 * host) is asked for. os and architecture must be equal; the variant must be equal when both name
 * one (arm64 with no variant counts as v8). Entries without a platform do not match.
 */
export function matchPlatform(wanted: Platform = currentPlatform()): (candidate: Platform | undefined) => boolean {
  const want = normalizeArch(wanted.architecture, wanted.variant);
  return (candidate) => {
    if (!candidate || candidate.os !== wanted.os) return false;
    const have = normalizeArch(candidate.architecture, candidate.variant);
    if (have.architecture !== want.architecture) return false;
    return !have.variant || !want.variant || have.variant === want.variant;
  };
}
