/**
 * Helpers for the registry's own tests (not part of the app): a temp root, an injected app, and
 * small pushes through the public API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp, type RegistryConfig } from './app.js';
import { MediaType, sha256 } from '@berth/oci';

export interface TestRegistry {
  app: FastifyInstance;
  root: string;
  close(): Promise<void>;
}

export async function makeTempDir(prefix = 'berth-registry-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A registry app over a fresh temp root; `close()` removes both. */
export async function startTestRegistry(config: Partial<RegistryConfig> = {}): Promise<TestRegistry> {
  const root = config.root ?? (await makeTempDir());
  const app = await buildApp({ ...config, root });
  await app.ready();
  return {
    app,
    root,
    async close() {
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface ListeningRegistry extends TestRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the domain of references to it. */
  host: string;
  /**
   * Stops listening and cuts every connection at once, keep-alive ones included (a plain
   * `app.close()` waits for a connection whose response is still being flushed to go idle,
   * up to the keep-alive timeout). The root stays until `close()`.
   */
  stop(): Promise<void>;
}

/** Like startTestRegistry, but listening on a random loopback port (an upstream for the proxy tests). */
export async function startListeningRegistry(config: Partial<RegistryConfig> = {}): Promise<ListeningRegistry> {
  const registry = await startTestRegistry(config);
  try {
    const url = await registry.app.listen({ host: '127.0.0.1', port: 0 });
    const stop = async () => {
      const closing = registry.app.close();
      registry.app.server.closeAllConnections();
      await closing;
    };
    return { ...registry, url, host: new URL(url).host, stop };
  } catch (err) {
    await registry.close();
    throw err;
  }
}

/** Uploads `data` to `name` in one POST; returns its digest. Throws unless 201. */
export async function pushBlob(app: FastifyInstance, name: string, data: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha256(data);
  const res = await app.inject({
    method: 'POST',
    url: `/v2/${name}/blobs/uploads/?digest=${digest}`,
    payload: Buffer.from(data),
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });
  if (res.statusCode !== 201) throw new Error(`push blob: ${res.statusCode} ${res.body}`);
  return digest;
}

export interface TestImage {
  manifest: Buffer;
  digest: string;
  config: string;
  layers: string[];
}

/** Pushes a config + layers and an image manifest (OCI unless given), tagged `tag`. */
export async function pushImage(
  app: FastifyInstance,
  name: string,
  tag: string,
  options: { layers?: string[]; mediaType?: string; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<TestImage> {
  const headers = options.headers ?? {};
  const configBody = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag });
  const config = await pushBlob(app, name, configBody, headers);
  const layerData = options.layers ?? [`layer of ${name}:${tag}`];
  const layers: string[] = [];
  for (const l of layerData) layers.push(await pushBlob(app, name, l, headers));
  const docker = options.mediaType === MediaType.DockerManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: options.mediaType ?? MediaType.OciManifest,
      config: { mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig, digest: config, size: Buffer.byteLength(configBody) },
      layers: layers.map((digest, i) => ({
        mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest,
        size: Buffer.byteLength(layerData[i]),
      })),
      ...options.extra,
    }),
  );
  const res = await putManifest(app, name, tag, manifest, options.mediaType ?? MediaType.OciManifest, headers);
  if (res.statusCode !== 201) throw new Error(`push manifest: ${res.statusCode} ${res.body}`);
  return { manifest, digest: sha256(manifest), config, layers };
}

export function putManifest(
  app: FastifyInstance,
  name: string,
  reference: string,
  body: Buffer | string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PUT', url: `/v2/${name}/manifests/${reference}`, payload: Buffer.from(body), headers: { 'content-type': contentType, ...headers } });
}

/** The first error code of a JSON error response. */
export function errorCode(res: LightMyRequestResponse): string | undefined {
  return (res.json() as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
}

export function errorMessage(res: LightMyRequestResponse): string | undefined {
  return (res.json() as { errors?: Array<{ message: string }> }).errors?.[0]?.message;
}

/** Asserts the registry's error reply: its HTTP status, its first error's code and, when given, message. */
export function expectRegistryError(res: LightMyRequestResponse, want: { status: number; code: string; message?: string }): void {
  expect(res.statusCode).toBe(want.status);
  expect(errorCode(res)).toBe(want.code);
  if (want.message !== undefined) expect(errorMessage(res)).toBe(want.message);
}

// The registry as a real process: shared with other projects' tests, so it lives in @berth/testing.
export { startRegistryProcess, type RegistryProcess } from '@berth/testing';
