/**
 * Bad input through the real launcher, CLI, gateway and agent (issue 8 §6): each is refused with
 * a clear message (docker's where docker has one), never an internal error or a path under the
 * data root, and leaves nothing behind.
 */
import { availableParallelism } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

/** Nothing was created: no container, no volume. */
afterEach(async () => {
  expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  expect((await p.berth(['volume', 'ls', '-q'])).stdout).toBe('');
});

const hint = (command: string) => `\n\nRun 'berth ${command} --help' for more information\n`;

describe('bad input', () => {
  it('--cpus beyond the host, or negative: the daemon\'s range message', async () => {
    const ncpu = availableParallelism();
    for (const cpus of ['-1', String(ncpu + 1)]) {
      const r = await p.berth(['create', '--cpus', cpus, 'busybox']);
      expect(r).toEqual({
        code: 125,
        stdout: '',
        stderr: `berth: Error response from daemon: Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available\n`,
      });
    }
  });

  it('-m below 6 MB and a relative -w: the daemon\'s messages, at create', async () => {
    expect(await p.berth(['create', '-m', '1m', 'busybox'])).toEqual({ code: 125, stdout: '', stderr: 'berth: Error response from daemon: Minimum memory limit allowed is 6MB\n' });
    expect(await p.berth(['create', '-w', 'app', 'busybox'])).toEqual({
      code: 125,
      stdout: '',
      stderr: "berth: Error response from daemon: the working directory 'app' is invalid, it needs to be an absolute path\n",
    });
  });

  it('a huge -m: a flag error, not a serialization failure', async () => {
    const r = await p.berth(['run', '-m', '99999999999999999999g', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(
      `invalid argument "99999999999999999999g" for "-m, --memory" flag: invalid size: '99999999999999999999g' (the largest is 9007199254740991 bytes, 8 PiB)`,
    );
  });

  it('a missing --env-file and -e =x: docker\'s messages', async () => {
    expect(await p.berth(['run', '--env-file', './nope.env', 'busybox', 'true'])).toEqual({
      code: 125,
      stdout: '',
      stderr: `berth: open ./nope.env: no such file or directory${hint('run')}`,
    });
    const r = await p.berth(['run', '-e', '=x', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x');
  });

  it('an over-long volume name: refused without a path', async () => {
    const name = 'v'.repeat(300);
    const message = `volume name "${'v'.repeat(40)}…" is too long: 300 characters, the maximum is 255`;
    expect(await p.berth(['volume', 'create', name])).toEqual({ code: 1, stdout: '', stderr: `Error response from daemon: ${message}\n` });
    expect(await p.berth(['create', '-v', `${name}:/data`, 'busybox'])).toEqual({ code: 125, stdout: '', stderr: `berth: Error response from daemon: ${message}\n` });
  });
});
