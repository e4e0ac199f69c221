/**
 * Every time argument through the CLI against a real platform, with docker's semantics (one parser,
 * @berth/filters): `logs --since/--until`, `events --since/--until`, the `until` filter of
 * `container prune` and `image prune`. Durations are relative to now, RFC 3339 with or without zone,
 * Unix seconds with a fraction; both ends inclusive to the nanosecond.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyboxPlatform, type TestPlatform, until } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());


/** RFC 3339 nanoseconds (`2026-11-22T12:07:35.135309990Z`) → Unix seconds with nine fraction digits. */
function unixOf(rfc3339: string): string {
  const [whole, fraction = '0'] = rfc3339.replace(/Z$/, '').split('.');
  return `${Date.parse(`${whole}Z`) / 1000}.${fraction.padEnd(9, '0')}`;
}

describe('logs --since / --until', () => {
  let name: string;
  let one: string;
  let two: string;

  beforeAll(async () => {
    name = 'ticker';
    const run = await p.berth(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo one; sleep 1; echo two; sleep 600']);
    expect(run.code, run.stderr).toBe(0);
    const logs = await until(
      () => p.berth(['logs', '-t', name]),
      (r) => r.stdout.includes(' two'),
    );
    [one, two] = logs.stdout.trim().split('\n').map((l) => l.split(' ')[0]!) as [string, string];
    expect(logs.stdout).toBe(`${one} one\n${two} two\n`);
  });

  it('reads a Go duration relative to now', async () => {
    expect(await p.berth(['logs', '--since', '10m', name])).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    expect(await p.berth(['logs', '--until', '10m', name])).toMatchObject({ code: 0, stdout: '' });
    expect(await p.berth(['logs', '--since', '-1h', name])).toMatchObject({ code: 0, stdout: '' });
  });

  it('reads RFC 3339 with nanoseconds, both ends inclusive', async () => {
    expect((await p.berth(['logs', '--since', two, name])).stdout).toBe('two\n');
    expect((await p.berth(['logs', '--until', one, name])).stdout).toBe('one\n');
    expect((await p.berth(['logs', '--since', one, '--until', two, name])).stdout).toBe('one\ntwo\n');
  });

  it('reads Unix seconds with a fraction', async () => {
    expect((await p.berth(['logs', '--since', unixOf(two), name])).stdout).toBe('two\n');
    expect((await p.berth(['logs', '--until', unixOf(one), name])).stdout).toBe('one\n');
  });

  it("refuses a value that is no time with docker's client message", async () => {
    expect(await p.berth(['logs', '--since', 'yesterday', name])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'invalid value for "since": failed to parse value as time or duration: "yesterday"\n',
    });
    expect(await p.berth(['logs', '--until', '2026-13-01', name])).toMatchObject({
      code: 1,
      stderr: 'invalid value for "until": parsing time "2026-13-01": month out of range\n',
    });
  });
});

describe('events --since / --until', () => {
  it('replays a window given as durations, RFC 3339 without zone, or Unix seconds', async () => {
    const created = await p.berth(['create', '--name', 'evented', 'busybox', 'true']);
    expect(created.code, created.stderr).toBe(0);
    const lines = async (args: string[]) =>
      (await p.berth(['events', ...args, '--filter', 'container=evented', '--format', '{{.Action}}'])).stdout.trim().split('\n');
    // Events are published in the background: wait until the create is in the history.
    expect(await until(() => lines(['--since', '5m', '--until', '0s']), (l) => l.includes('create'))).toEqual(['create']);
    // Local time to the hour, as docker reads a timestamp without zone.
    const d = new Date(Date.now() - 3_600_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    const localHour = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}`;
    expect(await lines(['--since', localHour, '--until', String(Math.ceil(Date.now() / 1000) + 1)])).toEqual(['create']);
    expect(await p.berth(['events', '--since', 'soon'])).toMatchObject({ code: 1, stderr: 'failed to parse value as time or duration: "soon"\n' });
  });
});

describe('prune --filter until', () => {
  it('container prune removes only what was created before, and says what it reclaimed', async () => {
    // The label keeps the other tests' containers out of these prunes.
    const old = (await p.berth(['run', '--name', 'old', '-l', 'prunetest', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /blob'])).code;
    expect(old).toBe(0);
    // `until` is inclusive: the creation time of `old` itself.
    const cut = (await p.berth(['inspect', '--format', '{{.Created}}', 'old'])).stdout.trim();
    expect((await p.berth(['run', '--name', 'young', '-l', 'prunetest', '-l', 'keep=no', 'busybox', 'true'])).code).toBe(0);
    const bad = await p.berth(['container', 'prune', '-f', '--filter', 'until=whenever']);
    expect(bad).toMatchObject({ code: 1, stderr: 'Error response from daemon: failed to parse value as time or duration: "whenever"\n' });
    const pruned = await p.berth(['container', 'prune', '-f', '--filter', `until=${cut}`, '--filter', 'label=prunetest']);
    expect(pruned.code, pruned.stderr).toBe(0);
    const oldId = (await p.berth(['ps', '-aq', '--no-trunc', '--filter', 'name=^old$'])).stdout.trim();
    expect(oldId).toBe('');
    expect(pruned.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 5kB\n$/);
    expect((await p.berth(['ps', '-a', '--format', '{{.Names}}', '--filter', 'name=young'])).stdout).toBe('young\n');
    expect((await p.berth(['container', 'prune', '-f', '--filter', 'label=prunetest', '--filter', 'label!=keep'])).stdout).toBe('Total reclaimed space: 0B\n');
    const rest = await p.berth(['container', 'prune', '-f', '--filter', 'until=-1h', '--filter', 'label=prunetest']);
    expect(rest.stdout).toMatch(/^Deleted Containers:\n[0-9a-f]{64}\n\nTotal reclaimed space: 0B\n$/);
  });

  it('image prune reads until with the same parser', async () => {
    expect(await p.berth(['image', 'prune', '-f', '--filter', 'until=2026-13-01'])).toMatchObject({
      code: 1,
      stderr: 'Error response from daemon: parsing time "2026-13-01": month out of range\n',
    });
  });
});
