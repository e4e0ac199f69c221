/**
 * `berth system prune` (docker's prompt, filters, per-type output, "Total reclaimed space:"),
 * `system df -v` and `inspect --size` against a real platform. One platform for the file; each
 * test bootstraps busybox again since prune -a removes it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => {
  p = await startTestPlatform();
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

beforeEach(async () => {
  const ids = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await p.berth(['rm', '-f', '-v', ...ids]);
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 120_000);

const ok = async (args: string[]) => {
  const r = await p.berth(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

describe('system prune', () => {
  it("asks docker's question and does nothing when the answer is no", async () => {
    await ok(['create', '--name', 'stopped', 'busybox']);
    const r = await p.berth(['system', 'prune'], { input: 'n\n' });
    expect(r).toEqual({
      code: 0,
      stdout:
        'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] ',
      stderr: '',
    });
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('stopped\n');
    const all = await p.berth(['system', 'prune', '-a', '--volumes', '--filter', 'label=x=1'], { input: 'n\n' });
    expect(all.stdout).toBe(
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n\n  Items to be pruned will be filtered with:\n  - label=x=1\n\nAre you sure you want to continue? [y/N] ',
    );
  });

  it('removes stopped containers, unused networks and dangling images, and keeps what runs', async () => {
    const stopped = (await ok(['create', '--name', 'stopped', 'busybox'])).trim();
    await ok(['run', '-d', '--name', 'up', 'busybox', 'sleep', '300']);
    await ok(['network', 'create', 'unused']);
    const r = await p.berth(['system', 'prune'], { input: 'y\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Deleted Containers:\n${stopped}\n\nDeleted Networks:\nunused\n\n`);
    expect(r.stdout).toMatch(/Total reclaimed space: \d+(\.\d+)?[kMG]?B\n$/);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('up\n');
    expect(await ok(['images', '-q'])).not.toBe('');
  });

  it('honours label and until filters', async () => {
    await ok(['create', '--name', 'ca', '--label', 'tier=old', 'busybox']);
    await ok(['create', '--name', 'cb', '--label', 'tier=new', 'busybox']);
    const label = await ok(['system', 'prune', '-f', '--filter', 'label=tier=old']);
    expect(label).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: /);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('cb\n');
    // created less than an hour ago: `until=1h` keeps it
    expect(await ok(['system', 'prune', '-f', '--filter', 'until=1h'])).toMatch(/^Total reclaimed space: /);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toBe('cb\n');
    const volumes = await p.berth(['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']);
    expect(volumes).toEqual({ code: 1, stdout: '', stderr: 'ERROR: The "until" filter is not supported with "--volumes"\n' });
  });

  it('-a removes unused images; --volumes removes anonymous volumes but not named ones', async () => {
    await ok(['volume', 'create', 'named']);
    await ok(['run', '--name', 'anon', '-v', '/scratch', 'busybox', 'true']);
    const anonymous = (await ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'anon'])).trim();
    const r = await ok(['system', 'prune', '-a', '-f', '--volumes']);
    expect(r).toContain(`Deleted Volumes:\n${anonymous}\n\n`);
    expect(r).toMatch(/Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:[0-9a-f]{64}\n/);
    expect(await ok(['volume', 'ls', '-q'])).toBe('named\n');
    expect(await ok(['images', '-q'])).toBe('');
    await ok(['volume', 'rm', 'named']);
  });
});

describe('system df -v and inspect --size', () => {
  it("lists images, containers and volumes with docker's columns and measured sizes", async () => {
    await ok(['volume', 'create', 'data']);
    await ok(['run', '--name', 'writer', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo hello > /data/f && printf 12345 > /x']);
    const out = await ok(['system', 'df', '-v']);
    const sections = out.split('\n\n');
    expect(sections[0]).toBe('Images space usage:');
    expect(sections[1]!.split('\n')[0]).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$/);
    expect(sections[1]!.split('\n')[1]).toMatch(/^busybox +latest +[0-9a-f]{12} +.+ago +[\d.]+[kM]B +0B +[\d.]+[kM]B +1$/);
    expect(sections[2]).toBe('Containers space usage:');
    expect(sections[3]!.split('\n')[0]).toMatch(/^CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES$/);
    // the rw layer holds /x (5 bytes) only; the volume is not counted in it
    expect(sections[3]!.split('\n')[1]).toMatch(/^[0-9a-f]{12} +busybox +"sh -c 'echo hello >…" +1 +5B +.+ago +Exited \(0\) .+ago +writer$/);
    expect(sections[4]).toBe('Local Volumes space usage:');
    expect(sections[5]).toMatch(/^VOLUME NAME +LINKS +SIZE\ndata +1 +6B$/);
    expect(sections[6]).toMatch(/^Build cache usage: [\d.]+[kMG]?B$/);
    expect(sections[7]).toMatch(/^CACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n$/);
    const sizes = await ok(['inspect', '--size', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'writer']);
    const image = Number(await ok(['image', 'inspect', '-f', '{{.Size}}', 'busybox']));
    expect(sizes).toBe(`5 ${5 + image}\n`);
    expect(await ok(['container', 'inspect', '-f', '{{.SizeRw}}', 'writer'])).toBe('<no value>\n');
    await ok(['rm', 'writer']);
    await ok(['volume', 'rm', 'data']);
  });
});
