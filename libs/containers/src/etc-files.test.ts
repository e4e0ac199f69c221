import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerResolvConf, writeHosts } from './etc-files.js';

describe('container /etc files', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('drops loopback nameservers from the host resolv.conf', () => {
    expect(containerResolvConf('search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions ndots:1\n')).toBe(
      'search lan\nnameserver 10.0.0.1\noptions ndots:1\n',
    );
    expect(containerResolvConf('nameserver 127.0.0.1\nnameserver ::1\n')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });

  it('writes hosts with localhost and the hostname', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-etc-'));
    dirs.push(dir);
    await writeHosts(join(dir, 'hosts'), 'abc123');
    const hosts = await readFile(join(dir, 'hosts'), 'utf8');
    expect(hosts).toContain('127.0.0.1\tlocalhost\n');
    expect(hosts).toContain('::1\tlocalhost ip6-localhost ip6-loopback\n');
    expect(hosts).toContain('\tabc123\n');
    await writeHosts(join(dir, 'hosts'), 'web', 'example.com');
    expect(await readFile(join(dir, 'hosts'), 'utf8')).toMatch(/\n127\.0\.1\.1\tweb\.example\.com web\n$/);
  });
});
