import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ContainersService, handleUnary, type CreateContainerRequest } from '@berth/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliRun, runCliCaptured } from './test-support.js';

/**
 * Bad values on the command line get docker's error text and exit code, and nothing is created:
 * a tiny in-process gateway records every create request it receives.
 */

const creates: CreateContainerRequest[] = [];
let server: grpc.Server;
let address: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-value-errors-'));
  server = new grpc.Server();
  server.addService(ContainersService, {
    create: handleUnary(async (req: CreateContainerRequest) => {
      creates.push(req);
      return { id: 'f'.repeat(64), warnings: [] };
    }),
  } as grpc.UntypedServiceImplementation);
  // A unix socket, as the platform's gateway: the CLI refuses TCP without TLS.
  address = `unix:${join(dir, 'api.sock')}`;
  await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  creates.length = 0;
});

function berth(args: string[]): Promise<CliRun> {
  return runCliCaptured(['-H', address, ...args], { env: { PATH: '/bin', LOCAL: 'here' } });
}

const usage = (command: string) => `\nUsage:  berth ${command} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth ${command} --help' for more information\n`;
const runStyle = (command: string, message: string) => `berth: ${message}\n\nRun 'berth ${command} --help' for more information\n`;

describe('flag values docker refuses as flag errors (exit 125, usage)', () => {
  const cases: Array<[string[], string]> = [
    [['-e', '=x'], 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x'],
    [['-e', ''], 'invalid argument "" for "-e, --env" flag: invalid environment variable: '],
    [['--label', ' =x'], 'invalid argument " =x" for "-l, --label" flag: invalid label \' =x\': empty name'],
    [['-m', '99999999999999999999g'], 'invalid argument "99999999999999999999g" for "-m, --memory" flag: invalid size: \'99999999999999999999g\' (the largest is 9007199254740991 bytes, 8 PiB)'],
    [['-m', '-1'], 'invalid argument "-1" for "-m, --memory" flag: invalid size: \'-1\''],
    [['-m', ' 5m'], 'invalid argument " 5m" for "-m, --memory" flag: strconv.ParseFloat: parsing " 5": invalid syntax'],
    [['-m', '5ib'], 'invalid argument "5ib" for "-m, --memory" flag: invalid suffix: \'ib\''],
    [['-m', '1e400'], 'invalid argument "1e400" for "-m, --memory" flag: strconv.ParseFloat: parsing "1e400": value out of range'],
    [['--cpus', '0.0000000001'], 'invalid argument "0.0000000001" for "--cpus" flag: value is too precise'],
    [['--cpus', '1/3'], 'invalid argument "1/3" for "--cpus" flag: value is too precise'],
    [['--cpus', 'abc'], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'],
    [['--cpus', '1e10'], 'invalid argument "1e10" for "--cpus" flag: value out of range'],
    [['--stop-timeout', '99999999999999999999'], 'invalid argument "99999999999999999999" for "--stop-timeout" flag: strconv.ParseInt: parsing "99999999999999999999": value out of range'],
    [['--stop-timeout', '3000000000'], 'invalid argument "3000000000" for "--stop-timeout" flag: strconv.ParseInt: parsing "3000000000": value out of range'],
    [['--stop-timeout', ' 5'], 'invalid argument " 5" for "--stop-timeout" flag: strconv.ParseInt: parsing " 5": invalid syntax'],
    [['--pids-limit', '1e3'], 'invalid argument "1e3" for "--pids-limit" flag: strconv.ParseInt: parsing "1e3": invalid syntax'],
  ];
  for (const [flags, message] of cases) {
    it(`create ${flags.join(' ')}`, async () => {
      expect(await berth(['create', ...flags, 'busybox'])).toEqual({ code: 125, stdout: '', stderr: message + '\n' + usage('create') });
      expect(creates).toEqual([]);
    });
  }
});

describe('values docker refuses after parsing (exit 125, `berth:`)', () => {
  it('names a missing or unreadable env or label file as docker does', async () => {
    expect(await berth(['run', '--env-file', join(dir, 'nope.env'), 'busybox'])).toEqual({
      code: 125,
      stdout: '',
      stderr: runStyle('run', `open ${join(dir, 'nope.env')}: no such file or directory`),
    });
    expect(await berth(['create', '--label-file', dir, 'busybox'])).toMatchObject({
      code: 125,
      stderr: runStyle('create', `invalid env file (${dir}): read ${dir}: is a directory`),
    });
    expect(creates).toEqual([]);
  });

  it('refuses malformed env file lines with docker\'s words', async () => {
    const cases: Array<[string | Buffer, string]> = [
      ['A=1\n  =x\n', "no variable name on line '=x'"],
      ['\uFEFF=1\n', "no variable name on line '=1'"],
      ['A B=1\n', "variable 'A B' contains whitespaces"],
      [Buffer.from([0x41, 0x3d, 0x31, 0x0a, 0xff, 0xfe, 0x41]), 'invalid utf8 bytes at line 2: [255 254 65]'],
    ];
    for (const [content, reason] of cases) {
      const file = join(dir, 'bad.env');
      writeFileSync(file, content);
      expect(await berth(['create', '--env-file', file, 'busybox'])).toMatchObject({ code: 125, stderr: runStyle('create', `invalid env file (${file}): ${reason}`) });
    }
    expect(creates).toEqual([]);
  });

  it('reads good env and label files as docker does', async () => {
    const env = join(dir, 'good.env');
    writeFileSync(env, '\uFEFF# comment\n  A=1 \r\n\tLOCAL\nUNSET\nB==2\n');
    const labels = join(dir, 'labels');
    writeFileSync(labels, 'tier=web\nbare\n');
    expect((await berth(['create', '--env-file', env, '--label-file', labels, 'busybox'])).code).toBe(0);
    expect(creates[0]!.spec).toMatchObject({ env: ['A=1 ', 'LOCAL=here', 'B==2'], labels: { tier: 'web' } });
  });

  it('refuses a restart count that is not an integer the platform can carry', async () => {
    for (const count of ['x', '99999999999999999999', '3000000000']) {
      expect(await berth(['create', '--restart', `on-failure:${count}`, 'busybox'])).toMatchObject({
        code: 125,
        stderr: runStyle('create', 'invalid restart policy format: maximum retry count must be an integer'),
      });
    }
    expect(creates).toEqual([]);
  });

  it('passes values docker passes on, exactly', async () => {
    expect((await berth(['create', '-m', '1.5g', '--cpus', '3/2', '--stop-timeout', '0x10', '--pids-limit', '1_000', '--restart', 'on-failure:+3', 'busybox'])).code).toBe(0);
    expect(creates[0]!.spec).toMatchObject({
      resources: { memory: 1.5 * 1024 ** 3, nanoCpus: 1_500_000_000, pidsLimit: 1000 },
      stopTimeout: 16,
      restartPolicy: { name: 'on-failure', maximumRetryCount: 3 },
    });
  });
});

describe('the berth launcher', () => {
  it('leaves --env-file to berth (Node 20 took it for its own option and died)', async () => {
    const launcher = fileURLToPath(new URL('../../../berth', import.meta.url));
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(launcher, ['-H', address, 'run', '--env-file', './nope.env', 'busybox'], { cwd: dir }, (err, _stdout, stderr) =>
        resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }),
      );
    });
    expect(result).toEqual({ code: 125, stderr: runStyle('run', 'open ./nope.env: no such file or directory') });
    expect(creates).toEqual([]);
  });
});
