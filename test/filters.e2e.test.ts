/**
 * `--filter` of ps, images, volume ls, network ls and events through the CLI against a real
 * platform, with docker's rules (moby filters.Args): different keys AND, values of one key OR,
 * except `label`, every one of which must hold; unknown keys refused with docker's message.
 * The per-key rules have unit tests beside each filter (libs/containers container-filters.test.ts,
 * libs/network network-filters.test.ts, libs/events event-filter.test.ts, libs/filters).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, untilNow, type TestPlatform } from '@berth/testing';

let p: TestPlatform;

async function ok(args: string[]): Promise<string> {
  const r = await p.berth(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const lines = (text: string) => text.split('\n').filter(Boolean);

beforeAll(async () => {
  p = await startTestPlatform();
  await ok(['image', 'bootstrap', 'busybox']);
  // Oldest first: exited 3, then running ones with labels, ports and a volume.
  expect((await p.berth(['run', '--name', 'job', 'busybox', 'sh', '-c', 'exit 3'])).code).toBe(3);
  await ok(['run', '-d', '--name', 'one', '-l', 'a=1', 'busybox', 'sleep', '600']);
  await ok(['run', '-d', '--name', 'both', '-l', 'a=1', '-l', 'b=2', '--expose', '5000', '-v', 'filtervol:/data', 'busybox', 'sleep', '600']);
  await ok(['create', '--name', 'fresh', 'busybox', 'true']);
}, 240_000);

afterAll(async () => {
  await p?.stop();
});

describe('ps --filter', () => {
  const names = async (...filters: string[]) => lines(await ok(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])]));

  it('label=a=1 --filter label=b=2 wants both labels (AND)', async () => {
    expect(await names('label=a=1', 'label=b=2')).toEqual(['both']);
    expect(await names('label=a=1')).toEqual(['both', 'one']);
    expect(await names('label=a')).toEqual(['both', 'one']);
  });

  it('several status, name or id values are alternatives (OR); keys AND', async () => {
    expect(await names('status=exited', 'status=created')).toEqual(['fresh', 'job']);
    expect(await names('name=^job$', 'name=^one$')).toEqual(['one', 'job']);
    const [jobId, oneId] = [(await ok(['inspect', '-f', '{{.Id}}', 'job'])).trim(), (await ok(['inspect', '-f', '{{.Id}}', 'one'])).trim()];
    expect(await names(`id=${jobId.slice(0, 12)}`, `id=${oneId.slice(0, 12)}`)).toEqual(['one', 'job']);
    expect(await names('status=running', 'label=b=2')).toEqual(['both']);
    // a status filter lists stopped containers without -a, as docker
    expect(lines(await ok(['ps', '--format', '{{.Names}}', '--filter', 'status=exited']))).toEqual(['job']);
  });

  it('exited, before, since, expose, volume, network, ancestor, health, is-task', async () => {
    expect(await names('exited=3')).toEqual(['job']);
    expect(await names('exited=0')).toEqual([]);
    expect(await names('before=one')).toEqual(['job']);
    expect(await names('since=one')).toEqual(['fresh', 'both']);
    expect(await names('expose=5000')).toEqual(['both']);
    expect(await names('expose=4000-6000/tcp')).toEqual(['both']);
    expect(await names('volume=filtervol')).toEqual(['both']);
    expect(await names('volume=/data')).toEqual(['both']);
    expect(await names('network=bridge', 'status=running')).toEqual(['both', 'one']);
    expect(await names('ancestor=busybox', 'label=b')).toEqual(['both']);
    expect(await names('health=none', 'name=job')).toEqual(['job']);
    expect(await names('is-task=true')).toEqual([]);
    // the columns that show the mounts are no longer empty
    expect(await ok(['ps', '--format', '{{.Names}} {{.Mounts}} {{.LocalVolumes}}', '--filter', 'volume=filtervol'])).toBe('both filtervol 1\n');
  });

  it("refuses what docker refuses, with docker's messages", async () => {
    expect(await p.berth(['ps', '--filter', 'colour=red'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'colour'\n" });
    expect(await p.berth(['ps', '--filter', 'status=sleeping'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'status=sleeping'\n" });
    expect(await p.berth(['ps', '--filter', 'since=nosuch'])).toMatchObject({ code: 1, stderr: 'Error response from daemon: No such container: nosuch\n' });
  });
});

describe('images --filter', () => {
  beforeAll(async () => {
    await ok(['commit', '--change', 'LABEL a=1', '--change', 'LABEL b=2', 'one', 'labelled:both']);
    await ok(['commit', '--change', 'LABEL a=1', 'one', 'labelled:one']);
  });

  const refs = async (...filters: string[]) =>
    lines(await ok(['images', '--format', '{{.Repository}}:{{.Tag}}', ...filters.flatMap((f) => ['--filter', f])])).sort();

  it('label filters AND, reference globs OR', async () => {
    expect(await refs('label=a=1', 'label=b=2')).toEqual(['labelled:both']);
    expect(await refs('label=a=1')).toEqual(['labelled:both', 'labelled:one']);
    expect(await refs('reference=busy*', 'reference=*:one')).toEqual(['busybox:latest', 'labelled:one']);
    expect(await refs('until=1h')).toEqual(['busybox:latest']);
    expect(await refs('since=busybox')).toEqual(['labelled:both', 'labelled:one']);
  });

  it("refuses a bad dangling value and unknown keys with docker's messages", async () => {
    expect(await p.berth(['images', '--filter', 'dangling=maybe'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'dangling=[maybe]'\n" });
    expect(await p.berth(['images', '--filter', 'colour=red'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'colour'\n" });
  });
});

describe('volume ls --filter', () => {
  it('name is a regular expression, driver exact, label every one, dangling', async () => {
    await ok(['volume', 'create', '--label', 'a=1', '--label', 'b=2', 'webdata']);
    await ok(['volume', 'create', '--label', 'a=1', 'webcache']);
    const names = async (...filters: string[]) => lines(await ok(['volume', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])]));
    expect(await names('name=^web')).toEqual(['webcache', 'webdata']);
    expect(await names('name=data$', 'name=^filter')).toEqual(['filtervol', 'webdata']);
    expect(await names('driver=loc')).toEqual([]);
    expect(await names('label=a=1', 'label=b=2')).toEqual(['webdata']);
    expect(await names('dangling=false')).toEqual(['filtervol']);
    expect(await p.berth(['volume', 'ls', '--filter', 'dangling=maybe'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter 'dangling=[maybe]'\n" });
  });
});

describe('network ls --filter', () => {
  it('name and id are regular expressions, type builtin|custom, dangling', async () => {
    await ok(['network', 'create', '--label', 'a=1', 'backend']);
    const names = async (...filters: string[]) => lines(await ok(['network', 'ls', '--format', '{{.Name}}', ...filters.flatMap((f) => ['--filter', f])])).sort();
    expect(await names('name=^b')).toEqual(['backend', 'bridge']);
    expect(await names('name=^back', 'name=^host$')).toEqual(['backend', 'host']);
    expect(await names('type=custom')).toEqual(['backend']);
    expect(await names('dangling=true')).toEqual(['backend']);
    expect(await names('label=a=1', 'driver=bridge')).toEqual(['backend']);
    expect(await p.berth(['network', 'ls', '--filter', 'type=mine'])).toMatchObject({ code: 1, stderr: "Error response from daemon: invalid filter: 'type'='mine'\n" });
  });
});

describe('events --filter', () => {
  // Volume events name the volume in the actor id, as docker's (their attributes: driver only).
  const actions = async (...filters: string[]) =>
    lines(
      await ok(['events', '--since', '10m', '--until', untilNow(), '--format', '{{.Type}} {{.Action}} {{or .Actor.Attributes.name .Actor.ID}}', ...filters.flatMap((f) => ['--filter', f])]),
    );

  it('labels AND, other keys OR within, AND across', async () => {
    expect(await actions('label=a=1', 'label=b=2', 'event=start')).toEqual(['container start both']);
    expect(await actions('type=container', 'event=die', 'event=create', 'container=job')).toEqual(['container create job', 'container die job']);
    expect(await actions('type=volume', 'volume=filtervol', 'event=create')).toEqual(['volume create filtervol']);
  });

  it("refuses an unknown key at once, with docker's message", async () => {
    expect(await p.berth(['events', '--filter', 'colour=red'], { timeoutMs: 15_000 })).toMatchObject({
      code: 1,
      stderr: "Error response from daemon: invalid filter 'colour'\n",
    });
  });
});
