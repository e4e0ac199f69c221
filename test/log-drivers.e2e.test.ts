/**
 * `--log-driver` json-file (docker's JSON lines, rotated by --log-opt max-size/max-file, compressed
 * on demand), local and none on real containers, `logs` reading them (and following through
 * rotations), `logs --details`, and docker's refusals. One platform for the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const ok = async (args: string[]) => {
  const r = await p.berth(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};
/** Runs a container printing `count` numbered lines, waits for it, returns its id. */
async function printer(args: string[], count: number, delay = ''): Promise<string> {
  const script = `i=0; while [ $i -lt ${count} ]; do echo "line $i of the output"; i=$((i+1)); ${delay} done`;
  const id = (await ok(['run', '-d', ...args, 'busybox', 'sh', '-c', script])).trim();
  expect((await ok(['wait', id])).trim()).toBe('0');
  return id;
}
const numbers = (text: string) => text.split('\n').filter(Boolean).map((l) => Number(/^line (\d+)/.exec(l)?.[1]));

describe('json-file', () => {
  it("is the default: docker's JSON lines at <id>-json.log, read back by logs", async () => {
    const id = await printer([], 3);
    const logPath = (await ok(['inspect', '-f', '{{.LogPath}}', id])).trim();
    expect(logPath.endsWith(`/${id}/${id}-json.log`)).toBe(true);
    expect(JSON.parse(await ok(['inspect', '-f', '{{json .HostConfig.LogConfig}}', id]))).toEqual({ Type: 'json-file', Config: {} });
    const lines = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\{"log":"line 0 of the output\\n","stream":"stdout","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"\}$/);
    expect(await ok(['logs', id])).toBe('line 0 of the output\nline 1 of the output\nline 2 of the output\n');
  });

  it('rotates by max-size and keeps max-file files; logs reads across them', async () => {
    const id = await printer(['--log-opt', 'max-size=1k', '--log-opt', 'max-file=3'], 200);
    const logPath = (await ok(['inspect', '-f', '{{.LogPath}}', id])).trim();
    const files = readdirSync(dirname(logPath)).filter((f) => f.startsWith(`${id}-json.log`)).sort();
    expect(files).toEqual([`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    for (const f of files) expect(statSync(join(dirname(logPath), f)).size).toBeLessThanOrEqual(1000);
    const shown = numbers(await ok(['logs', id]));
    // the newest lines, in order, without a gap, ending with the last one; the oldest rotated away
    expect(shown.at(-1)).toBe(199);
    expect(shown[0]).toBeGreaterThan(0);
    expect(shown).toEqual(Array.from({ length: shown.length }, (_, i) => shown[0]! + i));
    expect(numbers(await ok(['logs', '--tail', '2', id]))).toEqual([198, 199]);
  });

  it('compresses rotated files with compress=true', async () => {
    const id = await printer(['--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', '--log-opt', 'compress=true'], 100);
    const logPath = (await ok(['inspect', '-f', '{{.LogPath}}', id])).trim();
    expect(existsSync(`${logPath}.1.gz`)).toBe(true);
    expect(gunzipSync(readFileSync(`${logPath}.1.gz`)).toString()).toMatch(/^\{"log":"line \d+ of the output\\n"/);
    expect(numbers(await ok(['logs', id])).at(-1)).toBe(99);
  });

  it('logs -f follows the output through rotations, losing nothing', async () => {
    const script = 'i=0; while [ $i -lt 150 ]; do echo "line $i of the output"; i=$((i+1)); sleep 0.01; done';
    const id = (await ok(['run', '-d', '--log-opt', 'max-size=800', '--log-opt', 'max-file=50', 'busybox', 'sh', '-c', script])).trim();
    const followed = await ok(['logs', '-f', id]);
    expect(numbers(followed)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  it('logs --details prefixes the labels and env the log options name', async () => {
    await ok(['run', '--name', 'detailed', '--label', 'tier=web', '-e', 'MODE=prod', '--log-opt', 'labels=tier', '--log-opt', 'env=MODE', 'busybox', 'echo', 'hello']);
    expect(await ok(['logs', '--details', 'detailed'])).toBe('MODE=prod,tier=web hello\n');
    await ok(['run', '--name', 'plain', 'busybox', 'echo', 'hello']);
    expect(await ok(['logs', '--details', 'plain'])).toBe(' hello\n');
  });
});

describe('local and none', () => {
  it('local keeps compressed rotated files under local-logs/', async () => {
    const id = await printer(['--log-driver', 'local', '--log-opt', 'max-size=500'], 100);
    const logPath = (await ok(['inspect', '-f', '{{.LogPath}}', id])).trim();
    expect(logPath.endsWith(`/${id}/local-logs/container.log`)).toBe(true);
    expect(readdirSync(dirname(logPath)).sort()).toEqual(['container.log', 'container.log.1.gz', 'container.log.2.gz', 'container.log.3.gz', 'container.log.4.gz']);
    expect(numbers(await ok(['logs', id])).at(-1)).toBe(99);
  });

  it("none keeps nothing: logs says docker's message; the attached output still flows", async () => {
    expect(await p.berth(['run', '--name', 'quiet', '--log-driver', 'none', 'busybox', 'echo', 'seen'])).toEqual({ code: 0, stdout: 'seen\n', stderr: '' });
    expect(await p.berth(['logs', 'quiet'])).toEqual({ code: 1, stdout: '', stderr: 'Error response from daemon: configured logging driver does not support reading\n' });
    expect(await ok(['inspect', '-f', '{{.LogPath}}', 'quiet'])).toBe('\n');
  });

  it("refuses unknown drivers and options with docker's messages", async () => {
    expect((await p.berth(['run', '--log-driver', 'bogus', 'busybox', 'true'])).stderr).toBe(
      "berth: Error response from daemon: logger: no log driver named 'bogus' is registered\n",
    );
    expect((await p.berth(['run', '--log-driver', 'syslog', 'busybox', 'true'])).stderr).toContain('logging driver "syslog" is not supported on Berth');
    expect((await p.berth(['run', '--log-opt', 'colour=red', 'busybox', 'true'])).stderr).toContain("unknown log opt 'colour' for json-file log driver");
    expect((await p.berth(['run', '--log-driver', 'local', '--log-opt', 'labels=x', 'busybox', 'true'])).stderr).toContain("unknown log opt 'labels' for local log driver");
    expect((await p.berth(['run', '--log-opt', 'max-file=0', 'busybox', 'true'])).stderr).toContain('max-file cannot be less than 1');
    const none = await p.berth(['run', '--log-driver', 'none', '--log-opt', 'max-size=1k', 'busybox', 'true']);
    expect(none).toEqual({ code: 125, stdout: '', stderr: "berth: invalid logging opts for driver none\n\nRun 'berth run --help' for more information\n" });
    expect(await ok(['ps', '-aq'])).toBe('');
  });
});
