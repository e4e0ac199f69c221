import { readFileSync } from 'node:fs';

let cached: readonly string[] | undefined;

/**
 * The capabilities this process may hand to a container: those of `all` (numbered by position,
 * CAP_CHOWN = 0) present in its bounding set (`CapBnd` of /proc/self/status). On a normal host that
 * is every one; inside a sandbox some are missing, and runc fails to apply them. Docker limits
 * `--privileged` and `--cap-add ALL` to the same set. Read once; `all` when the file cannot be read.
 */
export function hostCapabilities(all: readonly string[], statusText?: string): readonly string[] {
  if (statusText === undefined && cached !== undefined) return cached;
  let text = statusText;
  try {
    text ??= readFileSync('/proc/self/status', 'utf8');
  } catch {
    return all;
  }
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  if (hex === undefined) return all;
  const mask = BigInt(`0x${hex}`);
  const available = all.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
  if (statusText === undefined) cached = available;
  return available;
}
