import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Http2Server } from 'node:http2';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@berth/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, freshBundleSources } from './test-bundle.js';


/**
 * What the CLI's bundle loads of Node when it runs `ps`, `inspect`, `rm` and `--version` against a
 * gateway on a unix socket (here a node:http2 server answering as the gateway would: an empty list,
 * "not found"): none of node:net, node:stream, node:v8 or node:tty, each of which costs a command
 * ~4.5–6.5 ms to load (bench/README.md, "ps, inspect, rm: no node:net, no node:stream"). The answers
 * still reach stdout and stderr whole, in order, through a pipe and a file.
 */
let dir: TempDir;
let server: Http2Server;
let socket: string;

beforeAll(async () => {
  freshBundleSources();
  dir = tempDir('berth-launch-modules-');
  socket = join(dir.path, 'api.sock');
  writeFileSync(
    join(dir.path, 'record.cjs'),
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.RECORD_MODULES, JSON.stringify(process.moduleLoadList)));\n`,
  );
  server = createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    if (path.endsWith('/List')) {
      // An empty list: one gRPC message of no bytes.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    } else {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'No such container: nope' }, { endStream: true });
    }
  });
  server.listen(socket);
  await once(server, 'listening');
});

afterAll(() => {
  server?.close();
  dir?.remove();
});

/** Runs the bundle with `args`, its stdout into a pipe; @returns what it printed and which of the `watched` modules it loaded. */
async function run(args: string[], watched = /^NativeModule (net|stream|v8|tty|internal\/streams\/(readable|writable))$/): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const record = join(dir.path, `modules-${args[0]}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_CONFIG: join(dir.path, 'config'), BERTH_CLI_CODE_CACHE: join(dir.path, 'cache'), RECORD_MODULES: record };
  delete env.BERTH_HOST;
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['-r', join(dir.path, 'record.cjs'), BUNDLE, '-H', `unix:${socket}`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const loaded = JSON.parse(readFileSync(record, 'utf8')) as string[];
  return { code, stdout, stderr, modules: loaded.filter((m) => watched.test(m)) };
}

describe('what the CLI bundle loads of Node', () => {
  it('for ps, inspect, rm and --version: no node:net, node:stream, node:v8 or node:tty, and the answers printed whole', async () => {
    // Twice each: the first run makes the code caches, the second reads them (the V8 flag it sets first).
    for (let round = 0; round < 2; round++) {
      const ps = await run(['ps']);
      expect(ps).toMatchObject({ code: 0, stderr: '', modules: [] });
      expect(ps.stdout).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n$/);

      const inspect = await run(['inspect', 'nope']);
      expect(inspect).toMatchObject({ code: 1, stdout: '[]\n', modules: [] });
      expect(inspect.stderr).toMatch(/^Error: No such object: nope\n$/);

      const rm = await run(['rm', 'nope']);
      expect(rm).toMatchObject({ code: 1, stdout: '', modules: [] });
      expect(rm.stderr).toMatch(/No such container: nope\n$/);

      expect(await run(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Berth version \S+\n$/), stderr: '', modules: [] });
    }
  }, 60_000);

  it('for build (a bidirectional call): no node:http2, tls or dns, the call on the same HTTP/2 client; no net, crypto, child_process or perf_hooks', async () => {
    const context = join(dir.path, 'context');
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\n');
    // node:net, crypto, child_process and perf_hooks: ~12 ms of a fully cached build before (the
    // stderr stream's isTTY, the context key's hash, git contexts, the walk's timer; bench/README.md).
    const build = await run(['build', '-q', context], /^NativeModule (http2|tls|dns|_http_client|net|crypto|child_process|perf_hooks)$/);
    // The fake gateway answers every call "not found": the build fails with its message, having reached it.
    expect(build).toMatchObject({ code: 1, modules: [] });
    expect(build.stderr).toContain('No such container: nope');
  }, 60_000);

  it('loads them for a command that streams (the check can see them)', async () => {
    const logs = await run(['logs', 'nope']);
    expect(logs.code).not.toBe(0);
    expect(logs.modules).toContain('NativeModule net');
  }, 60_000);
});
