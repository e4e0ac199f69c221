/**
 * The figures docker users read and trust, measured as docker measures them, through the CLI
 * against a real platform: `ps -s` SIZE (writable layer, and virtual with the image), `system df`
 * (containers' writable layers, the build cache), `stats` NET I/O (the container's own interfaces)
 * and BLOCK I/O (its blkio cgroup). Container prune's reclaimed space: time-args.e2e.test.ts.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform, until } from '@berth/testing';

let p: TestPlatform;

async function ok(args: string[]): Promise<string> {
  const r = await p.berth(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}


beforeAll(async () => {
  p = await startTestPlatform();
  await ok(['image', 'bootstrap', 'busybox']);
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

/** go-units' size strings (`4.37MB`, `852B`, `1.07kB`) back to bytes, to the precision shown. */
function bytesOf(text: string): number {
  const m = /^([\d.]+)(B|kB|MB|GB)$/.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B']!;
}

describe('ps -s and system df', () => {
  it('show the writable layer of each container, and the image under it as "virtual"', async () => {
    await ok(['run', '-d', '--name', 'sized', 'busybox', 'sh', '-c', 'printf "hello world\\n" > /greeting; sleep 600']);
    await ok(['run', '--name', 'stopped', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /blob']);
    const imageSize = (await ok(['images', '--format', '{{.Size}}', 'busybox'])).trim();
    const size = await until(
      async () => (await ok(['ps', '-s', '--format', '{{.Size}}', '--filter', 'name=sized'])).trim(),
      (s) => s.startsWith('12B'),
    );
    expect(size).toBe(`12B (virtual ${imageSize})`);
    const table = await ok(['ps', '-a', '-s', '--format', 'table {{.Names}}\t{{.Size}}']);
    expect(table.split('\n')[0]).toMatch(/^NAMES\s+SIZE$/);
    const virtual = /\nstopped\s+5kB \(virtual ([\d.]+MB)\)\n/.exec(table)?.[1];
    const imageBytes = Number((await ok(['image', 'inspect', '-f', '{{.Size}}', 'busybox'])).trim());
    // three significant digits of the image's layers plus the 5000 bytes
    expect(Math.abs(bytesOf(virtual!) - (imageBytes + 5000))).toBeLessThan(5_000);

    const df = await ok(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}']);
    expect(df.split('\n')).toContain('Containers|2|1|5.012kB|5kB (99%)');
  });

  it('counts the build cache the builder keeps', async () => {
    const before = (await ok(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Size}}'])).split('\n').find((l) => l.startsWith('Build Cache'));
    expect(before).toBe('Build Cache|0|0B');
    const context = mkdtempSync(join(tmpdir(), 'df-build-'));
    try {
      writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nRUN head -c 20000 /dev/urandom > /noise\n');
      await ok(['build', '-q', '-t', 'cached', context]);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
    const row = (await ok(['system', 'df', '--format', '{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}'])).split('\n').find((l) => l.startsWith('Build Cache'))!;
    const [, count, sizeText, reclaimable] = row.split('|');
    expect(Number(count)).toBeGreaterThan(0);
    // The RUN layer holds 20000 random bytes: gzip cannot shrink them.
    expect(bytesOf(sizeText!)).toBeGreaterThan(20_000);
    // docker prints no percentage for the build cache
    expect(reclaimable).toBe(sizeText);
  });
});

describe('stats', () => {
  it("NET I/O is the container's own interfaces, BLOCK I/O its blkio cgroup", async () => {
    await ok(['run', '-d', '--name', 'pinger', 'busybox', 'sh', '-c', 'ping -c 3 -W 2 $(ip route | awk "/default/ {print \\$3}"); sleep 600']);
    await until(
      () => ok(['logs', 'pinger']),
      (out) => out.includes('packets received'),
    );
    const counters = async () => {
      const eth0 = (await ok(['exec', 'pinger', 'cat', '/proc/net/dev'])).split('\n').find((l) => l.trim().startsWith('eth0:'))!;
      const n = eth0.split(':')[1]!.trim().split(/\s+/).map(Number);
      return { rx: n[0]!, tx: n[8]! };
    };
    const low = await counters();
    const [net, block] = (await ok(['stats', '--no-stream', '--format', '{{.NetIO}}|{{.BlockIO}}', 'pinger'])).trim().split('|');
    const high = await counters();
    expect(low.rx).toBeGreaterThan(3 * 84); // three echo replies at least
    const [rx, tx] = net!.split(' / ').map(bytesOf);
    // Shown with three significant digits: within 1% of what the interface counted around the sample.
    expect(rx).toBeGreaterThanOrEqual(low.rx * 0.99);
    expect(rx).toBeLessThanOrEqual(high.rx * 1.01);
    expect(tx).toBeGreaterThanOrEqual(low.tx * 0.99);
    expect(tx).toBeLessThanOrEqual(high.tx * 1.01);

    // BLOCK I/O is what the blkio controller accounted (runc reads the throttle files when no
    // scheduler group has figures); on hosts whose kernel accounts nothing both are 0B.
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'pinger'])).trim();
    const file = (name: string) => readFileSync(`/sys/fs/cgroup/blkio/berth/${id}/${name}`, 'utf8');
    const sum = (op: string) =>
      file('blkio.throttle.io_service_bytes_recursive')
        .split('\n')
        .filter((l) => l.split(' ')[1] === op)
        .reduce((n, l) => n + Number(l.split(' ')[2]), 0);
    const [read, write] = block!.split(' / ').map(bytesOf);
    expect(read).toBeCloseTo(sum('Read'), -2);
    expect(write).toBeCloseTo(sum('Write'), -2);
  });

  it('a container on the host network has no NET I/O of its own', async () => {
    await ok(['run', '-d', '--name', 'hostnet', '--network', 'host', 'busybox', 'sleep', '600']);
    expect((await ok(['stats', '--no-stream', '--format', '{{.NetIO}}', 'hostnet'])).trim()).toBe('0B / 0B');
  });
});
