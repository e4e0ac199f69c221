/**
 * Interoperability and transport security: skopeo (containers/image) reads what Berth pushed and
 * Berth pulls what skopeo pushed; HTTPS with the registry's self-signed certificate on loopback and
 * on a non-loopback address, where plain HTTP and unverified certificates need opting in.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContentStore } from '@berth/content';
import { MediaType, sha256 } from '@berth/oci';
import { startRegistryProcess, tempDir, type RegistryProcess, type TempDir } from '@berth/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from './registry-client.js';
import { storeImage } from './test-support.js';

const run = promisify(execFile);
let root: TempDir;
let dir: TempDir;
let plain: RegistryProcess;
let tls: RegistryProcess;
let skopeoAvailable = true;
const clients: RegistryClient[] = [];
const newClient = (options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient => {
  const c = new RegistryClient({ dockerConfig: join(dir.path, 'docker'), ...options });
  clients.push(c);
  return c;
};

/** A non-loopback IPv4 address of this machine, if it has one. */
const externalIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

beforeAll(async () => {
  root = tempDir('berth-interop-registry-');
  try {
    await run('skopeo', ['--version']);
  } catch {
    skopeoAvailable = false;
  }
  plain = await startRegistryProcess(['--listen', '0.0.0.0:0', '--root', join(root.path, 'plain'), '--log-level', 'silent']);
  tls = await startRegistryProcess(['--listen', '0.0.0.0:0', '--root', join(root.path, 'tls'), '--tls-self-signed', '--log-level', 'silent']);
});
afterAll(async () => {
  await plain?.stop('SIGKILL');
  await tls?.stop('SIGKILL');
  root?.remove();
});
beforeEach(() => {
  dir = tempDir('berth-interop-');
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  dir.remove();
});

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', args, { env: { ...process.env, HOME: dir.path, XDG_RUNTIME_DIR: dir.path }, timeout: 30_000 });
  return stdout;
}

describe('skopeo interop', () => {
  it('skopeo sees the manifest Berth pushed, byte for byte', async (ctx) => {
    if (!skopeoAvailable) ctx.skip();
    const host = `127.0.0.1:${plain.port}`;
    const store = new ContentStore(join(dir.path, 'content'));
    const img = await storeImage(store, { layers: [randomBytes(10_000)], docker: true });
    await newClient().push(`${host}/berth/interop:v1`, { store, manifestDigest: img.digest });
    const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${host}/berth/interop:v1`]));
    expect(inspect.Digest).toBe(img.digest);
    expect(inspect.Layers).toEqual(img.layers);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/berth/interop:v1`]);
    expect(sha256(raw)).toBe(img.digest);
  });

  it('Berth pulls what skopeo copied from an OCI layout', async (ctx) => {
    if (!skopeoAvailable) ctx.skip();
    const host = `127.0.0.1:${plain.port}`;
    const store = new ContentStore(join(dir.path, 'content'));
    const img = await storeImage(store, { layers: [randomBytes(20_000), randomBytes(30_000)], label: 'skopeo' });
    const layout = join(dir.path, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const d of [img.digest, img.config, ...img.layers]) await writeFile(join(layout, 'blobs', 'sha256', d.slice(7)), await store.read(d));
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest: img.digest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
    );
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/berth/from-skopeo:v1`]);
    // skopeo may rewrite the manifest (it compresses uncompressed layers for registries): compare
    // with what it says it stored.
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/berth/from-skopeo:v1`]);
    const target = new ContentStore(join(dir.path, 'target'));
    const pulled = await newClient().pull(`${host}/berth/from-skopeo:v1`, { store: target });
    expect(pulled.manifestDigest).toBe(sha256(raw));
    expect(pulled.manifestBytes.toString()).toBe(raw);
    expect(pulled.configDescriptor.digest).toBe(img.config);
    expect(pulled.config.rootfs.diff_ids).toEqual(img.layers);
    for (const l of pulled.layers) expect(await target.has(l.digest)).toBe(true);
  });
});

describe('transport security', () => {
  it('speaks verified HTTPS to a loopback registry given its CA, and falls back for loopback without it', async () => {
    const host = `127.0.0.1:${tls.port}`;
    const ca = await readFile(join(root.path, 'tls', 'tls', 'cert.pem'));
    const store = new ContentStore(join(dir.path, 'content'));
    const img = await storeImage(store, { layers: [randomBytes(1000)], label: 'tls' });
    const verified = newClient({ ca });
    expect((await verified.origin(host)).protocol).toBe('https:');
    await verified.push(`${host}/berth/tls:v1`, { store, manifestDigest: img.digest });
    const unverified = newClient();
    expect((await unverified.origin(host)).protocol).toBe('https:');
    const pulled = await unverified.pull(`${host}/berth/tls:v1`, { store: new ContentStore(join(dir.path, 'target')) });
    expect(pulled.manifestDigest).toBe(img.digest);
    expect((await newClient().origin(`127.0.0.1:${plain.port}`)).protocol).toBe('http:');
  });

  it('requires verified HTTPS for a non-loopback host unless told otherwise', async (ctx) => {
    if (externalIp === undefined) ctx.skip();
    const tlsHost = `${externalIp}:${tls.port}`;
    const plainHost = `${externalIp}:${plain.port}`;
    expect((await newClient().origin(tlsHost)).protocol).toBe('https:');
    await expect(newClient().ping(tlsHost)).rejects.toMatchObject({
      kind: 'unavailable',
      message: `Cannot reach registry at https://${tlsHost}: self-signed certificate`,
    });
    await newClient({ rejectUnauthorized: false }).ping(tlsHost);
    await newClient({ insecureRegistries: [externalIp!] }).ping(tlsHost);

    await expect(newClient().ping(plainHost)).rejects.toMatchObject({ kind: 'unavailable' });
    const insecure = newClient({ insecureRegistries: [plainHost] });
    expect((await insecure.origin(plainHost)).protocol).toBe('http:');
    await insecure.ping(plainHost);
  });
});
