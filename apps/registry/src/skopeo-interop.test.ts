/**
 * Interoperability with an independent client: Debian's skopeo (containers/image) pushes an OCI
 * layout to the registry and pulls it back, through token auth, over plain HTTP.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarBuffer } from '@berth/layers';
import { MediaType } from '@berth/oci';
import { makeTempDir, startRegistryProcess, type RegistryProcess } from './test-support.js';

const run = promisify(execFile);
let dir: string;
let proc: RegistryProcess | undefined;
let skopeoAvailable = true;

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function tarGz(files: Record<string, string>): Promise<Buffer> {
  return gzipSync(await tarBuffer(Object.entries(files).map(([name, content]) => ({ header: { name }, body: Buffer.from(content) }))));
}

/** Writes an OCI image layout with two gzip layers and returns its manifest digest. */
async function makeOciLayout(layout: string): Promise<{ manifestDigest: string; blobs: string[] }> {
  const layers = [await tarGz({ 'hello.txt': 'hello from berth\n' }), await tarGz({ 'etc/motd': 'second layer\n' })];
  const diffIds = layers.map((l) => digestOf(gunzipSync(l)));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(l), size: l.length })),
    }),
  );
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  for (const blob of [...layers, config, manifest]) await writeFile(join(layout, 'blobs', 'sha256', digestOf(blob).slice(7)), blob);
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ mediaType: MediaType.OciManifest, digest: digestOf(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
  return { manifestDigest: digestOf(manifest), blobs: [...layers, config].map(digestOf) };
}

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir }, timeout: 30_000 });
  return stdout;
}

beforeAll(async () => {
  dir = await makeTempDir('berth-skopeo-');
  try {
    await run('skopeo', ['--version']);
  } catch {
    skopeoAvailable = false;
    return;
  }
  const line = `alice:${bcrypt.hashSync('alicepw', 4).replace(/^\$2[ab]\$/, '$2y$')}\n`;
  await writeFile(join(dir, 'htpasswd'), line);
  proc = await startRegistryProcess([
    '--listen', '127.0.0.1:0', '--root', join(dir, 'root'), '--auth', 'token', '--htpasswd', join(dir, 'htpasswd'), '--anonymous-pull', '--log-level', 'silent',
  ]);
});

afterAll(async () => {
  await proc?.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('skopeo against the registry (token auth)', () => {
  it('copies an OCI layout in and back out unchanged', async (ctx) => {
    if (!skopeoAvailable) ctx.skip();
    const src = join(dir, 'src');
    const { manifestDigest, blobs } = await makeOciLayout(src);
    const host = `127.0.0.1:${proc!.port}`;

    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:alicepw', `oci:${src}:v1`, `docker://${host}/berth/hello:v1`]);

    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'alice:alicepw', `docker://${host}/berth/hello:v1`]);
    expect(digestOf(Buffer.from(raw))).toBe(manifestDigest); // stored byte for byte, not converted
    const tags = JSON.parse(await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/berth/hello`])); // anonymous pull
    expect(tags).toEqual({ Repository: `${host}/berth/hello`, Tags: ['v1'] });

    const dest = join(dir, 'dest');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/berth/hello:v1`, `oci:${dest}:v1`]); // anonymous pull
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(manifestDigest);
    for (const d of blobs) {
      expect(await readFile(join(dest, 'blobs', 'sha256', d.slice(7)))).toEqual(await readFile(join(src, 'blobs', 'sha256', d.slice(7))));
    }
  });

  it('is refused a push without credentials', async (ctx) => {
    if (!skopeoAvailable) ctx.skip();
    const host = `127.0.0.1:${proc!.port}`;
    await expect(skopeo(['copy', '--dest-tls-verify=false', `oci:${join(dir, 'src')}:v1`, `docker://${host}/berth/anon:v1`])).rejects.toThrow(/unauthorized|authentication required/i);
  });
});
