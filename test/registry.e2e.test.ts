/**
 * End to end: `berth push`, `berth pull`, `berth run` pulling a missing image, `berth login` /
 * `logout`, against real registry processes (Berth's apps/registry on random ports, one without
 * auth and one with basic auth) and skopeo as an independent client. Credentials live in a
 * temporary DOCKER_CONFIG, never in ~/.docker.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistryProcess, startTestPlatform, tempDir, untilNow, type CliResult, type RegistryProcess, type TempDir, type TestPlatform } from '@berth/testing';

const exec = promisify(execFile);

let p: TestPlatform;
let dir: TempDir;
let open: RegistryProcess;
let locked: RegistryProcess;
let host: string; // 127.0.0.1:PORT of the registry without auth
let lockedHost: string;
const dockerConfig = () => join(dir.path, 'docker');

/** The CLI with this file's Docker config directory. */
const berth = (args: string[], options: { input?: string } = {}): Promise<CliResult> =>
  p.berth(args, { ...options, env: { DOCKER_CONFIG: dockerConfig() }, timeoutMs: 120_000 });
/** The CLI with a Docker config directory of its own that no login ever writes to. */
const anonymous = (args: string[], options: { input?: string } = {}): Promise<CliResult> =>
  p.berth(args, { ...options, env: { DOCKER_CONFIG: join(dir.path, 'docker-anonymous') }, timeoutMs: 120_000 });

beforeAll(async () => {
  dir = tempDir('berth-registry-e2e-');
  const hash = bcrypt.hashSync('s3cret', 4).replace(/^\$2[ab]\$/, '$2y$');
  writeFileSync(join(dir.path, 'htpasswd'), `alice:${hash}\n`);
  [p, open, locked] = await Promise.all([
    startTestPlatform(),
    startRegistryProcess(['--listen', '127.0.0.1:0', '--root', join(dir.path, 'open'), '--log-level', 'silent']),
    startRegistryProcess([
      '--listen', '127.0.0.1:0', '--root', join(dir.path, 'locked'), '--auth', 'basic', '--htpasswd', join(dir.path, 'htpasswd'), '--log-level', 'silent',
    ]),
  ]);
  host = `127.0.0.1:${open.port}`;
  lockedHost = `127.0.0.1:${locked.port}`;
  const boot = await berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.stop();
  await open?.stop('SIGKILL');
  await locked?.stop('SIGKILL');
  dir?.remove();
});

const ok = (r: CliResult) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
const layerIds = async (ref: string) => {
  const r = await berth(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]);
  ok(r);
  return JSON.parse(r.stdout) as string[];
};

let firstPush: Promise<{ ref: string; first: CliResult; layers: string[]; digest: string }> | undefined;
/**
 * `<open registry>/test/busybox:1`, tagged from busybox and pushed once for the file (the first
 * push's output is kept): every test that needs it calls this, so the tests pass in any order.
 */
function pushedBusybox() {
  firstPush ??= (async () => {
    const ref = `${host}/test/busybox:1`;
    ok(await berth(['tag', 'busybox', ref]));
    const layers = await layerIds(ref);
    const first = await berth(['push', ref]);
    ok(first);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(first.stdout)?.[1] ?? '';
    return { ref, first, layers, digest };
  })();
  return firstPush;
}

describe('berth push and pull', () => {
  it('pushes a local image, then finds every layer already there', async () => {
    const { ref, first, layers } = await pushedBusybox();
    const lines = first.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`The push refers to repository [${host}/test/busybox]`);
    expect(lines.filter((l) => /^[0-9a-f]{12}: Pushed$/.test(l))).toHaveLength(layers.length);
    const last = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/.exec(lines.at(-1)!);
    expect(last, first.stdout).not.toBeNull();
    const pushedDigest = last![1]!;

    const again = await berth(['push', ref]);
    ok(again);
    expect(again.stdout).toMatch(/^[0-9a-f]{12}: Layer already exists$/m);
    expect(again.stdout).not.toMatch(/: Pushed$/m);
    expect(again.stdout.trimEnd().split('\n').at(-1)).toBe(`1: digest: ${pushedDigest} size: ${last![2]}`);

    // An independent client sees the same manifest.
    const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(pushedDigest);
  });

  it('says which tag is missing locally', async () => {
    const r = await berth(['push', `${host}/test/nothing`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`Using default tag: latest\nThe push refers to repository [${host}/test/nothing]\n`);
    expect(r.stderr.trim()).toBe(`An image does not exist locally with the tag: ${host}/test/nothing`);
  });

  it('run pulls an image that is not there locally, then runs it', async () => {
    const { ref, digest: pushedDigest } = await pushedBusybox();
    ok(await berth(['rmi', ref]));
    ok(await berth(['rmi', 'busybox']));
    // Nor any image that shares its layers (another test may have made or pulled one).
    const others = [...new Set((await berth(['images', '-q'])).stdout.split('\n').filter(Boolean))];
    if (others.length > 0) ok(await berth(['rmi', '-f', ...others]));
    const r = await berth(['run', '--rm', ref, 'echo', 'pulled']);
    ok(r);
    expect(r.stdout).toBe('pulled\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`Unable to find image '${ref}' locally`);
    expect(lines[1]).toBe('1: Pulling from test/busybox');
    expect(lines.filter((l) => /^[0-9a-f]{12}: Pull complete$/.test(l)).length).toBeGreaterThan(0);
    expect(lines.slice(-2)).toEqual([`Digest: ${pushedDigest}`, `Status: Downloaded newer image for ${ref}`]);

    const images = await berth(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', `${host}/test/busybox`]);
    expect(images.stdout.trim()).toBe(`${ref} ${pushedDigest}`);
  });

  it('pull of an image that is up to date says so and prints the full reference last', async () => {
    const { digest: pushedDigest } = await pushedBusybox();
    const r = await berth(['pull', `${host}/test/busybox:1`]);
    ok(r);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('1: Pulling from test/busybox');
    expect(lines.slice(-3)).toEqual([`Digest: ${pushedDigest}`, `Status: Image is up to date for ${host}/test/busybox:1`, `${host}/test/busybox:1`]);
    const quiet = await berth(['pull', '-q', `${host}/test/busybox:1`]);
    expect(quiet).toMatchObject({ code: 0, stdout: `${host}/test/busybox:1\n` });
    const byDigest = await berth(['pull', `${host}/test/busybox@${pushedDigest}`]);
    ok(byDigest);
    expect(byDigest.stdout.trimEnd().split('\n').at(-1)).toBe(`${host}/test/busybox@${pushedDigest}`);
  });

  it('reports what the registry says about a missing tag, and refuses --pull=never', async () => {
    const missing = await berth(['pull', `${host}/test/busybox:nope`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^Error response from daemon: manifest for ${host}/test/busybox:nope not found: manifest unknown`));
    const never = await berth(['run', '--rm', '--pull', 'never', `${host}/test/other:1`, 'true']);
    expect(never.code).toBe(125);
    expect(never.stderr).toContain(`No such image: ${host}/test/other:1`);
    const bad = await berth(['run', '--rm', '--pull', 'sometimes', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain(`invalid pull option: 'sometimes': must be one of "always", "missing" or "never"`);
  });

  it('pulls and runs an image that skopeo pushed from a `berth save` archive', async () => {
    await pushedBusybox();
    const maker = await berth(['run', '--name', 'skopeo-maker', `${host}/test/busybox:1`, 'sh', '-c', 'echo made for skopeo > /hello']);
    ok(maker);
    ok(await berth(['commit', 'skopeo-maker', 'skopeo-src:1']));
    ok(await berth(['rm', 'skopeo-maker']));
    const archive = join(dir.path, 'skopeo-src.tar');
    ok(await berth(['save', '-o', archive, 'skopeo-src:1']));
    ok(await berth(['rmi', 'skopeo-src:1']));
    await exec('skopeo', ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${host}/skopeo/app:2`]);

    const pulled = await berth(['pull', `${host}/skopeo/app:2`]);
    ok(pulled);
    expect(pulled.stdout).toMatch(/^[0-9a-f]{12}: Already exists$/m); // busybox's layer
    expect(pulled.stdout).toMatch(/^[0-9a-f]{12}: Pull complete$/m); // the committed one
    const run = await berth(['run', '--rm', `${host}/skopeo/app:2`, 'cat', '/hello']);
    expect(run).toMatchObject({ code: 0, stdout: 'made for skopeo\n' });
  });

  it('publishes image.push and image.pull events', async () => {
    ok(await berth(['pull', (await pushedBusybox()).ref]));
    const r = await berth(['events', '--since', '10m', '--until', untilNow(), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    ok(r);
    expect(r.stdout).toContain(`push ${host}/test/busybox:1\n`);
    expect(r.stdout).toContain(`pull ${host}/test/busybox:1\n`);
  });
});

describe('berth login and a registry with basic auth', () => {
  const ref = () => `${lockedHost}/team/busybox:1`;

  it('refuses a push without credentials', async () => {
    ok(await berth(['tag', (await pushedBusybox()).ref, ref()]));
    const r = await anonymous(['push', ref()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('unauthorized: authentication required');
  });

  it('refuses a wrong password and stores nothing', async () => {
    const r = await anonymous(['login', '-u', 'alice', '--password-stdin', lockedHost], { input: 'wrong\n' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error response from daemon: unauthorized: Invalid username or password');
    expect(() => statSync(join(dir.path, 'docker-anonymous', 'config.json'))).toThrow();
  });

  it('logs in with --password-stdin, then pushes and pulls', async () => {
    ok(await berth(['tag', (await pushedBusybox()).ref, ref()]));
    const login = await berth(['login', '-u', 'alice', '--password-stdin', lockedHost], { input: 's3cret\n' });
    ok(login);
    expect(login.stdout).toBe('Login Succeeded\n');
    const file = join(dockerConfig(), 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[lockedHost]!.auth, 'base64').toString()).toBe('alice:s3cret');

    const push = await berth(['push', ref()]);
    ok(push);
    expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    ok(await berth(['rmi', ref()]));
    ok(await berth(['pull', '-q', ref()]));

    // Stored credentials are reused by a bare `login`.
    const again = await berth(['login', lockedHost]);
    ok(again);
    expect(again.stdout).toBe('Login Succeeded\n');
  });

  it('logs out, after which the registry refuses pulls', async () => {
    // Logged in, with the image in the registry (whichever test ran before).
    ok(await berth(['login', '-u', 'alice', '--password-stdin', lockedHost], { input: 's3cret\n' }));
    ok(await berth(['tag', (await pushedBusybox()).ref, ref()]));
    ok(await berth(['push', ref()]));
    const out = await berth(['logout', lockedHost]);
    expect(out).toMatchObject({ code: 0, stdout: `Removing login credentials for ${lockedHost}\n` });
    const twice = await berth(['logout', lockedHost]);
    expect(twice.stdout).toBe(`Not logged in to ${lockedHost}\n`);
    const pull = await berth(['pull', `${lockedHost}/team/busybox:1`]);
    expect(pull.code).toBe(1);
    expect(pull.stderr.trim()).toBe(
      `Error response from daemon: pull access denied for ${lockedHost}/team/busybox, repository does not exist or may require 'docker login': unauthorized: Authentication required`,
    );
    const login = await berth(['login', lockedHost]);
    expect(login.code).toBe(1);
    expect(login.stderr.trim()).toBe('Error: Cannot perform an interactive login from a non TTY device');
  });
});
