import { readFile, writeFile } from 'node:fs/promises';
import { hostsFile } from '@berth/network';

/** `/etc/hostname` of a container. */
export async function writeHostname(path: string, hostname: string): Promise<void> {
  await writeFile(path, `${hostname}\n`, { mode: 0o644 });
}

/**
 * `/etc/hosts` of a container before any network is joined: loopback names, the IPv6 defaults
 * Docker writes, and the hostname on 127.0.1.1 (libs/network's `hostsFile`, which rewrites it
 * with the container's address when it joins a network).
 */
export async function writeHosts(path: string, hostname: string, domainname = ''): Promise<void> {
  await writeFile(path, hostsFile({ hostname, domainname }), { mode: 0o644 });
}

/**
 * The container's resolv.conf: the host's, without loopback nameservers (127.*, ::1), which cannot
 * be reached from inside the container; when none is left, Google's public resolvers like Docker.
 */
export function containerResolvConf(hostResolvConf: string): string {
  const kept: string[] = [];
  let nameservers = 0;
  for (const line of hostResolvConf.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) {
      if (m[1]!.startsWith('127.') || m[1] === '::1') continue;
      nameservers++;
    }
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
  if (nameservers === 0) kept.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return `${kept.join('\n')}\n`;
}

export async function writeResolvConf(path: string, hostFile = '/etc/resolv.conf'): Promise<void> {
  let host = '';
  try {
    host = await readFile(hostFile, 'utf8');
  } catch {
    // No resolv.conf on the host: the defaults below.
  }
  await writeFile(path, containerResolvConf(host), { mode: 0o644 });
}
