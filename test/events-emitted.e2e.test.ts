/**
 * Events docker emits that Berth used to leave out, through `berth events` in docker's line format
 * against a real platform: network create/connect/disconnect/destroy/prune, container attach,
 * resize and prune, volume mount/unmount/prune, each with docker's attributes.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_CLI, startTestPlatform, untilNow, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let since: string;

async function ok(args: string[]): Promise<string> {
  const r = await p.berth(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The event lines (docker's format, time cut off) matching `filters`, once `want` of them are in the history. */
async function eventLines(filters: string[], want: number): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = await ok(['events', '--since', since, '--until', untilNow(), ...filters.flatMap((f) => ['--filter', f])]);
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\S+ /, ''));
    if (lines.length >= want || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  p = await startTestPlatform();
  await ok(['image', 'bootstrap', 'busybox']);
  since = String(Math.floor(Date.now() / 1000) - 1);
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

describe('network events', () => {
  it('create, connect at start and by hand, disconnect by hand and at the end, destroy, prune', async () => {
    const net = (await ok(['network', 'create', 'evnet'])).trim();
    const bridge = (await ok(['network', 'inspect', '-f', '{{.Id}}', 'bridge'])).trim();
    const c = (await ok(['run', '-d', '--name', 'netted', 'busybox', 'sleep', '600'])).trim();
    await ok(['network', 'connect', 'evnet', 'netted']);
    await ok(['network', 'disconnect', 'evnet', 'netted']);
    await ok(['rm', '-f', 'netted']);
    await ok(['network', 'rm', 'evnet']);
    await ok(['network', 'prune', '-f']);
    expect(await eventLines(['type=network'], 7)).toEqual([
      `network create ${net} (name=evnet, type=bridge)`,
      `network connect ${bridge} (container=${c}, name=bridge, type=bridge)`,
      `network connect ${net} (container=${c}, name=evnet, type=bridge)`,
      `network disconnect ${net} (container=${c}, name=evnet, type=bridge)`,
      `network disconnect ${bridge} (container=${c}, name=bridge, type=bridge)`,
      `network destroy ${net} (name=evnet, type=bridge)`,
      'network prune  (reclaimed=0)',
    ]);
  });

  it('a container on the host network connects to `host`', async () => {
    const host = (await ok(['network', 'inspect', '-f', '{{.Id}}', 'host'])).trim();
    const c = (await ok(['run', '-d', '--network', 'host', 'busybox', 'true'])).trim();
    expect(await eventLines(['type=network', `network=${host}`], 2)).toEqual([
      `network connect ${host} (container=${c}, name=host, type=host)`,
      `network disconnect ${host} (container=${c}, name=host, type=host)`,
    ]);
  });
});

describe('container attach and resize', () => {
  it('run attaches before it starts', async () => {
    await ok(['run', '--name', 'attached', 'busybox', 'true']);
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'attached'])).trim();
    const lines = await eventLines(['container=attached', 'event=attach', 'event=start', 'event=die'], 3);
    expect(lines).toEqual([
      `container attach ${id} (image=busybox, name=attached)`,
      `container start ${id} (image=busybox, name=attached)`,
      // docker 25+ says how long the run lasted, in seconds
      `container die ${id} (execDuration=0, exitCode=0, image=busybox, name=attached)`,
    ]);
  });

  it('run -t sizes the terminal before the process reads it, and announces the resize', async () => {
    // `script` gives the CLI a terminal of 30 rows and 100 columns; the process lives on a second so
    // that the resize docker's client sends after the start finds it.
    const viaScript = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', `stty rows 30 cols 100; ${BERTH_CLI} run -t --name sized-tty busybox sh -c 'stty size; sleep 1'`, '/dev/null'], { env: p.env });
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    });
    expect(viaScript.code).toBe(0);
    expect(viaScript.stdout.replace(/\r/g, '')).toContain('30 100\n');
    const id = (await ok(['inspect', '-f', '{{.Id}}', 'sized-tty'])).trim();
    expect(await eventLines(['container=sized-tty', 'event=resize'], 1)).toEqual([`container resize ${id} (height=30, image=busybox, name=sized-tty, width=100)`]);
  });
});

describe('volume events', () => {
  it("mount at a container's start and unmount at its end, with docker's attributes; prune", async () => {
    await ok(['volume', 'create', 'evvol']);
    const c = (await ok(['run', '-d', '-v', 'evvol:/data:ro', 'busybox', 'true'])).trim();
    expect(await eventLines(['type=volume', 'volume=evvol'], 3)).toEqual([
      'volume create evvol (driver=local)',
      `volume mount evvol (container=${c}, destination=/data, driver=local, propagation=, read/write=false)`,
      `volume unmount evvol (container=${c}, driver=local)`,
    ]);
    await ok(['rm', c]);
    await ok(['volume', 'prune', '-f', '--filter', 'all=1']);
    expect(await eventLines(['type=volume', 'event=prune'], 1)).toEqual(['volume prune  (reclaimed=0)']);
  });
});

describe('container prune event', () => {
  it('says what it reclaimed', async () => {
    await ok(['run', '--name', 'leftover', 'busybox', 'sh', '-c', 'head -c 3000 /dev/zero > /blob']);
    await ok(['container', 'prune', '-f']);
    expect(await eventLines(['type=container', 'event=prune'], 1)).toEqual(['container prune  (reclaimed=3000)']);
  });
});

describe('container top, export and commit; image prune', () => {
  it("are announced with docker's attributes", async () => {
    const c = (await ok(['run', '-d', '--name', 'observed', 'busybox', 'sleep', '600'])).trim();
    await ok(['top', 'observed']);
    // Into a file of the test's own: `-o` writes a temporary file and renames it over the target,
    // as docker's CopyToFile does, so `-o /dev/null` would replace the host's /dev/null.
    const tar = join(p.dataRoot, 'observed.tar');
    const exported = await p.berth(['export', '-o', tar, 'observed']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(statSync(tar).size).toBeGreaterThan(0);
    await ok(['commit', '-m', 'snap', 'observed', 'observed-image:1']);
    const image = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'observed-image:1'])).trim();
    expect(await eventLines(['container=observed', 'event=top', 'event=export', 'event=commit'], 3)).toEqual([
      `container top ${c} (image=busybox, name=observed)`,
      `container export ${c} (image=busybox, name=observed)`,
      `container commit ${c} (comment=snap, image=busybox, imageID=${image}, imageRef=observed-image:1, name=observed)`,
    ]);
    expect(await eventLines(['type=image', 'event=tag', `image=${image}`], 1)).toEqual([`image tag ${image} (name=observed-image:1)`]);
    await ok(['image', 'prune', '-f']);
    expect(await eventLines(['type=image', 'event=prune'], 1)).toEqual(['image prune  (reclaimed=0)']);
  });
});
