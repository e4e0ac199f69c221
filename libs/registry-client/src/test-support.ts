/**
 * Helpers for this library's tests (not exported from index.ts): images written straight into a
 * ContentStore, a registry process with a fresh client per test, and a tampering HTTP proxy in front of a registry (request log, cut connections,
 * ignored Range headers, corrupted bodies).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ContentStore } from '@berth/content';
import { MediaType, sha256 } from '@berth/oci';
import { startRegistryProcess, tempDir, type RegistryProcess, type TempDir } from '@berth/testing';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { RegistryClient } from './registry-client.js';

export interface StoredImage {
  manifest: Buffer;
  digest: string;
  config: string;
  layers: string[];
}

/** Writes config, uncompressed layers and an OCI (or Docker) manifest into `store`. */
export async function storeImage(
  store: ContentStore,
  options: { layers: Buffer[]; architecture?: string; variant?: string; docker?: boolean; label?: string },
): Promise<StoredImage> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.architecture ?? 'amd64',
      os: 'linux',
      ...(options.variant ? { variant: options.variant } : {}),
      config: { Labels: { test: options.label ?? 'berth' } },
      rootfs: { type: 'layers', diff_ids: options.layers.map((l) => sha256(l)) },
    }),
  );
  await store.ingest(config);
  for (const l of options.layers) await store.ingest(l);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: options.docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: { mediaType: options.docker ? MediaType.DockerConfig : MediaType.OciConfig, digest: sha256(config), size: config.length },
      layers: options.layers.map((l) => ({ mediaType: options.docker ? MediaType.DockerLayer : MediaType.OciLayer, digest: sha256(l), size: l.length })),
    }),
  );
  await store.ingest(manifest);
  return { manifest, digest: sha256(manifest), config: sha256(config), layers: options.layers.map((l) => sha256(l)) };
}

/** Writes an OCI index over stored manifests (with their platforms) into `store`. */
export async function storeIndex(store: ContentStore, entries: Array<{ image: StoredImage; platform: { os: string; architecture: string; variant?: string } }>): Promise<{ bytes: Buffer; digest: string }> {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: entries.map((e) => ({ mediaType: MediaType.OciManifest, digest: e.image.digest, size: e.image.manifest.length, platform: e.platform })),
    }),
  );
  await store.ingest(bytes);
  return { bytes, digest: sha256(bytes) };
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  status: number;
  range?: string;
  authorization?: string;
}

export interface ProxyOptions {
  /** Cut the connection after `afterBytes` of the body of GETs whose path ends with `digest`, the first `times` times. */
  cut?: { digest: string; afterBytes: number; times: number };
  /** Drop `Range` request headers (a server that does not support ranges). */
  ignoreRange?: boolean;
  /** Flip one byte of the bodies of GETs whose path ends with this. */
  corrupt?: string;
}

export interface TestProxy {
  url: string;
  /** `127.0.0.1:<port>`: a reference domain. */
  host: string;
  log: ProxyLogEntry[];
  close(): Promise<void>;
}

/** An HTTP proxy to `target` (an http:// origin) on 127.0.0.1; it keeps the client's Host header. */
export async function startProxy(target: string, options: ProxyOptions = {}): Promise<TestProxy> {
  const upstream = new URL(target);
  const log: ProxyLogEntry[] = [];
  let cuts = 0;
  const server = http.createServer((req, res) => {
    const headers = { ...req.headers };
    if (options.ignoreRange) delete headers.range;
    const entry: ProxyLogEntry = {
      method: req.method!,
      path: req.url!,
      status: 0,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    log.push(entry);
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      entry.status = up.statusCode!;
      res.writeHead(up.statusCode!, up.headers);
      const path = req.url!.split('?')[0]!;
      const cut = options.cut && req.method === 'GET' && path.endsWith(options.cut.digest) && up.statusCode! < 300 && cuts < options.cut.times;
      if (cut) cuts++;
      let sent = 0;
      let flipped = false;
      up.on('data', (chunk: Buffer) => {
        if (cut) {
          const room = options.cut!.afterBytes - sent;
          if (room <= 0) return;
          const part = chunk.subarray(0, room);
          sent += part.length;
          if (sent >= options.cut!.afterBytes) {
            up.destroy();
            res.write(part, () => res.socket?.end());
          } else res.write(part);
          return;
        }
        if (options.corrupt && req.method === 'GET' && path.endsWith(options.corrupt) && !flipped && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[chunk.length - 1] ^= 0x01;
          flipped = true;
        }
        res.write(chunk);
      });
      up.on('end', () => res.end());
      up.on('error', () => res.socket?.destroy());
    });
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RegistryFixture {
  registry: RegistryProcess;
  /** `127.0.0.1:<port>`: the registry as a reference domain. */
  host: string;
  /** This test's temporary directory (its docker config and content stores). */
  dir: TempDir;
  client: RegistryClient;
  /** A proxy the test started; closed after it. */
  proxy?: TestProxy;
}

/**
 * Starts Berth's registry as a real process for the file's tests (killed after them) and gives each
 * test a fresh temporary directory and RegistryClient (closed, with any proxy, after it).
 */
export function useRegistryFixture(name: string): RegistryFixture {
  const t = {} as RegistryFixture;
  let root: TempDir | undefined;
  beforeAll(async () => {
    root = tempDir(`berth-${name}-registry-`);
    t.registry = await startRegistryProcess(['--listen', '127.0.0.1:0', '--root', root.path, '--log-level', 'silent']);
    t.host = t.registry.host;
  });
  afterAll(async () => {
    await t.registry?.stop('SIGKILL');
    root?.remove();
  });
  beforeEach(() => {
    t.dir = tempDir(`berth-${name}-`);
    t.client = new RegistryClient({ dockerConfig: join(t.dir.path, 'docker') });
  });
  afterEach(async () => {
    t.client.close();
    await t.proxy?.close();
    t.proxy = undefined;
    t.dir.remove();
  });
  return t;
}

/** The id progress events give a blob: 12 hex digits of its digest. */
export const progressId = (digest: string): string => digest.slice(7, 19);
