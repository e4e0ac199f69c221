import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { EventBus, RegistryDirectory } from '@berth/events';
import { channelOptions, grpcTarget, RegistryClient, unary } from '@berth/proto';
import { startNatsServer } from '@berth/testing';
import { buildApp } from './app.js';
import { sha256 } from '@berth/oci';
import { parseDuration, parseServeArgs } from './config.js';
import { makeTempDir, pushBlob, pushImage, startRegistryProcess, type RegistryProcess } from './test-support.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function tempRoot(): Promise<string> {
  const root = await makeTempDir();
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function start(args: string[]): Promise<RegistryProcess> {
  const proc = await startRegistryProcess(args);
  cleanups.push(() => proc.stop('SIGKILL'));
  return proc;
}

describe('the registry process', () => {
  it('never exposes a partial blob when killed -9 during an upload, and accepts a fresh upload after restart', async () => {
    const root = await tempRoot();
    let proc = await start(['--listen', '127.0.0.1:0', '--root', root, '--log-level', 'silent']);
    const blob = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < blob.length; i += 4) blob.writeUInt32LE(i * 2654435761 % 2 ** 32, i);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

    let res = await fetch(`${proc.url}/v2/crash/test/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    const uuid = res.headers.get('docker-upload-uuid')!;
    res = await fetch(`${proc.url}${location}`, { method: 'PATCH', body: blob.subarray(0, 1024 * 1024), headers: { 'content-range': `0-${1024 * 1024 - 1}` } });
    expect(res.status).toBe(202);

    // The closing PUT streams the rest but never finishes: the server dies with half of it received.
    const uploadData = join(root, 'repositories', 'crash', 'test', '_uploads', uuid, 'data');
    const put = httpRequest(`${proc.url}${location}?digest=${digest}`, { method: 'PUT', headers: { 'content-length': String(blob.length - 1024 * 1024) } });
    put.on('error', () => undefined);
    put.write(blob.subarray(1024 * 1024, 2 * 1024 * 1024));
    for (let i = 0; i < 200 && (await stat(uploadData)).size < 2 * 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await stat(uploadData)).size).toBe(2 * 1024 * 1024);
    await proc.stop('SIGKILL');
    put.destroy();

    proc = await start(['--listen', '127.0.0.1:0', '--root', root, '--log-level', 'silent']);
    expect((await fetch(`${proc.url}/v2/crash/test/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);
    expect(await readdir(join(root, 'blobs', 'sha256')).catch(() => [])).toEqual([]);
    // The interrupted session still reports what it holds, so a client could also resume it.
    res = await fetch(`${proc.url}${location}`);
    expect(res.status).toBe(204);
    expect(res.headers.get('range')).toBe(`0-${2 * 1024 * 1024 - 1}`);

    res = await fetch(`${proc.url}/v2/crash/test/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob });
    expect(res.status).toBe(201);
    res = await fetch(`${proc.url}/v2/crash/test/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(blob)).toBe(true);
  });

  it('serves HTTPS with a self-signed certificate made by openssl in the root', async () => {
    const root = await tempRoot();
    const proc = await start(['--listen', '127.0.0.1:0', '--root', root, '--tls-self-signed', '--log-level', 'silent']);
    expect(proc.url).toMatch(/^https:\/\//);
    expect((await readdir(join(root, 'tls'))).sort()).toEqual(['cert.pem', 'key.pem']);
    const status = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${proc.url}/v2/`, { rejectUnauthorized: false }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
  });

  it('runs gc from the command line, with --dry-run', async () => {
    const root = await tempRoot();
    const app = await buildApp({ root });
    await pushImage(app, 'lib/app', 'v1');
    const orphan = await pushBlob(app, 'lib/app', 'orphan');
    await app.close();
    const gc = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'apps/registry/src/main.ts', 'gc', '--root', root, '--grace', '0s', ...args], {
        cwd: join(import.meta.dirname, '../../..'),
      });
    let { stdout } = await gc(['--dry-run']);
    expect(stdout).toContain(`would remove blob ${orphan} (6 bytes)`);
    expect(stdout).toContain('would remove 1 blobs (6 bytes) and 0 uploads');
    ({ stdout } = await gc([]));
    expect(stdout).toContain(`removed blob ${orphan} (6 bytes)`);
    const remaining = (await readdir(join(root, 'blobs', 'sha256'), { recursive: true })).filter((p) => p.endsWith('data'));
    expect(remaining).toHaveLength(3); // manifest, config, layer
  });
});

describe('configuration', () => {
  it('reads flags with environment fallbacks', async () => {
    const opts = await parseServeArgs(['--listen', '127.0.0.1:5001', '--root', '/r', '--delete-enabled'], {
      BERTH_REGISTRY_AUTH: 'basic',
      BERTH_REGISTRY_HTPASSWD: '/h',
      BERTH_REGISTRY_ANONYMOUS_PULL: 'true',
    });
    expect(opts).toMatchObject({ host: '127.0.0.1', port: 5001, config: { root: '/r', auth: 'basic', htpasswd: '/h', anonymousPull: true, deleteEnabled: true } });
    await expect(parseServeArgs(['--listen', 'nope'], {})).rejects.toThrow('Invalid --listen "nope": expected host:port, e.g. 127.0.0.1:5000');
    await expect(parseServeArgs(['--auth', 'token'], {})).rejects.toThrow('--auth token needs --htpasswd <file>');
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000); // Go's durations (@berth/filters)
    expect(parseDuration('90')).toBe(90_000); // a bare number is seconds
    expect(() => parseDuration('-5m')).toThrow('Invalid duration "-5m": expected a number with ms, s, m or h, e.g. 30m');
    expect(() => parseDuration('soon')).toThrow('Invalid duration "soon": expected a number with ms, s, m or h, e.g. 30m');
  });

  it('reads the NATS, admin API and proxy flags', async () => {
    const opts = await parseServeArgs(
      ['--nats', 'nats://127.0.0.1:4222', '--grpc-listen', 'unix:/run/r.sock', '--proxy-remote-url', 'https://registry-1.docker.io', '--proxy-username', 'u'],
      { BERTH_REGISTRY_PROXY_PASSWORD: 'p' },
    );
    expect(opts).toMatchObject({
      nats: 'nats://127.0.0.1:4222',
      grpcListen: 'unix:/run/r.sock',
      config: { proxy: { remoteUrl: 'https://registry-1.docker.io', username: 'u', password: 'p' } },
    });
    await expect(parseServeArgs(['--grpc-listen', 'somewhere'], {})).rejects.toThrow(
      'Invalid --grpc-listen "somewhere": expected unix:/path/to.sock or host:port',
    );
    await expect(parseServeArgs(['--proxy-remote-url', 'ftp://x'], {})).rejects.toThrow('Invalid --proxy-remote-url "ftp://x": expected http(s)://host[:port]');
    await expect(parseServeArgs(['--proxy-remote-url', 'https://x/v2'], {})).rejects.toThrow(
      'Invalid --proxy-remote-url "https://x/v2": expected http(s)://host[:port] without path or credentials',
    );
    await expect(parseServeArgs(['--proxy-username', 'u'], {})).rejects.toThrow('--proxy-username and --proxy-password need --proxy-remote-url <url>');
  });
});

describe('the registry process on NATS', () => {
  it('announces its URL and admin address in the registries bucket, serves the admin API, and withdraws on SIGTERM', async () => {
    const root = await tempRoot();
    const nats = await startNatsServer(root);
    cleanups.push(() => nats.stop());
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const socket = join(root, 'admin.sock');
    const proc = await start(['--listen', '127.0.0.1:0', '--root', join(root, 'data'), '--nats', nats.url, '--grpc-listen', `unix:${socket}`, '--log-level', 'silent']);
    expect(proc.output()).toContain(`registry admin API listening on unix:${socket}`);

    const directory = new RegistryDirectory(nc);
    const announced = await directory.first(5000);
    expect(announced).toMatchObject({ url: proc.url, grpcAddress: `unix:${socket}`, proxy: false });

    const since = Date.now() - 1;
    const pushed = await fetch(`${proc.url}/v2/proc/app/blobs/uploads/?digest=${sha256('x')}`, { method: 'POST', body: 'x' });
    expect(pushed.status).toBe(201);
    const client = new RegistryClient(grpcTarget(announced.grpcAddress), grpc.credentials.createInsecure(), channelOptions);
    try {
      expect(await unary(client, client.listRepositories, {})).toEqual({ repositories: [{ name: 'proc/app', tags: [] }] });
    } finally {
      client.close();
    }
    // A manifest push is published (the bus is the registry's, found through the same server).
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('x'), size: 1 },
      layers: [],
    });
    const put = await fetch(`${proc.url}/v2/proc/app/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(put.status).toBe(201);
    const events = [];
    for await (const e of new EventBus(nc).subscribe({ since, until: Date.now() + 500 })) events.push(`${e.type}.${e.action} ${e.actor?.id}`);
    expect(events).toEqual(['image.push proc/app:v1']);

    await proc.stop('SIGTERM');
    expect(proc.child.exitCode).toBe(0);
    expect(await directory.list()).toEqual([]);
  });
});
