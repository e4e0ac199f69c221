import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import { InvalidArgumentError, isBerthError } from '@berth/errors';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexType,
  MediaType,
  matchPlatform,
  ociLayerType,
  parseReference,
  validateIndex,
  validateManifest,
} from '@berth/oci';
import { readTar, type TarEntry, type TarWriteEntry, writeTar } from '@berth/layers';
import { blobCompression, decompressed } from './layer-blobs.js';
import type { ImageRecord } from './types.js';

/**
 * Image archives, the format of `docker save` / `docker load`:
 *
 *   oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   index.json            one manifest descriptor per name, annotated with
 *                         io.containerd.image.name (full name) and org.opencontainers.image.ref.name (tag)
 *   manifest.json         Docker's index: [{Config, RepoTags, Layers}] with paths into blobs/
 *   blobs/sha256/<hex>    manifests, configs, layers
 *
 * Older `docker save` tars have only manifest.json, `<id>.json` configs and `<id>/layer.tar`
 * (uncompressed) layers; `readArchive` takes both.
 */

const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_JSON_FILE = 64 * 1024 * 1024;

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export interface ArchiveImage {
  record: ImageRecord;
  /** Full names to record in the archive (tag references). */
  names: string[];
}

/** Streams an archive of the images `collect` returns; a failure destroys the stream with it. */
export function writeArchive(content: ContentStore, collect: () => Promise<ArchiveImage[]>): Readable {
  const file = (name: string, body: Buffer): TarWriteEntry => ({ header: { name, size: body.length }, body });
  async function* entries(): AsyncGenerator<TarWriteEntry> {
    const images = await collect();
    yield file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    const written = new Set<string>();
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    const dockerManifest: DockerManifestEntry[] = [];
    for (const { record, names } of images) {
      const blobs = [record.manifest.config.digest, ...record.manifest.layers.map((l) => l.digest), record.manifestDigest];
      for (const digest of blobs) {
        if (written.has(digest)) continue;
        const { size } = await content.info(digest);
        yield { header: { name: blobPath(digest), size }, body: content.createReadStream(digest) };
        written.add(digest);
      }
      const manifestSize = (await content.info(record.manifestDigest)).size;
      const descriptor: Descriptor = { mediaType: record.manifestMediaType, digest: record.manifestDigest, size: manifestSize };
      if (names.length === 0) index.manifests.push(descriptor);
      for (const name of names) {
        const ref = parseReference(name);
        index.manifests.push({
          ...descriptor,
          annotations: { [ANNOTATION_IMAGE_NAME]: ref.toString(), [ANNOTATION_REF_NAME]: ref.tag ?? 'latest' },
        });
      }
      dockerManifest.push({
        Config: blobPath(record.manifest.config.digest),
        RepoTags: names.length > 0 ? names.map((n) => parseReference(n).familiar()) : null,
        Layers: record.manifest.layers.map((l) => blobPath(l.digest)),
      });
    }
    yield file('index.json', Buffer.from(JSON.stringify(index)));
    yield file('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
  }
  return Readable.from(writeTar(entries()));
}

function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return `blobs/${algorithm}/${hex}`;
}

/** An image found in an archive: its manifest (exact bytes) and full names. */
export interface ArchivedImage {
  manifest: Buffer;
  names: string[];
}

/**
 * Reads an archive: blobs go straight into the content store (verified against their path's
 * digest), JSON documents are kept; then the images are worked out from index.json (preferred) or
 * manifest.json. Blobs of a failed load stay in the store until garbage collection.
 */
export async function readArchive(content: ContentStore, source: Readable | AsyncIterable<Uint8Array>): Promise<ArchivedImage[]> {
  const files = new Map<string, Buffer>(); // small documents by path
  const blobs = new Map<string, string>(); // path → digest of what was stored for it
  const links = new Map<string, string>(); // symlink path → target path
  // `docker load` also takes a compressed archive (`docker save | gzip`).
  const input = await decompressed(Readable.from(source));
  const entries = readTar(input)[Symbol.asyncIterator]();
  let sawEntry = false;
  try {
    await collectEntries();
  } catch (err) {
    input.destroy();
    if (isBerthError(err)) throw err;
    throw new InvalidArgumentError(`Cannot load: the archive is not a valid tar (${(err as Error).message})`, { cause: err });
  }
  /** The next entry; a corrupt archive is `Cannot load: the archive is not a valid tar (…)`. */
  async function nextEntry(): Promise<TarEntry | undefined> {
    try {
      const next = await entries.next();
      return next.done ? undefined : next.value;
    } catch (err) {
      throw new InvalidArgumentError(`Cannot load: the archive is not a valid tar (${(err as Error).message})`, { cause: err });
    }
  }
  async function collectEntries(): Promise<void> {
    for (let entry = await nextEntry(); entry; entry = await nextEntry()) {
      sawEntry = true;
      const name = clean(entry.header.name);
      if (entry.header.type === 'symlink' || entry.header.type === 'link') {
        const target = entry.header.linkname;
        links.set(name, entry.header.type === 'symlink' ? clean(posix.join(posix.dirname(name), target)) : clean(target));
        continue;
      }
      if (entry.header.type !== 'file') continue;
      const blob = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
      if (blob) {
        const stored = await content.ingest(Readable.from(entry.body), { expected: `${blob[1]}:${blob[2]}`, size: entry.header.size });
        blobs.set(name, stored.digest);
      } else if (name.endsWith('.json') || name === 'oci-layout' || name === 'repositories') {
        if (entry.header.size > MAX_JSON_FILE) throw new InvalidArgumentError(`Cannot load: "${name}" is too large`);
        const parts: Buffer[] = [];
        for await (const chunk of entry.body) parts.push(chunk);
        files.set(name, Buffer.concat(parts));
      } else if (name.endsWith('.tar') || name.endsWith('layer.tar.gz')) {
        const stored = await content.ingest(Readable.from(entry.body), { size: entry.header.size });
        blobs.set(name, stored.digest);
      }
    }
  }
  if (!sawEntry) throw new InvalidArgumentError('Cannot load: the archive is empty or not a tar');

  const resolvePath = (path: string): string => {
    let p = clean(path);
    for (let i = 0; i < 10 && links.has(p); i++) p = links.get(p)!;
    return p;
  };
  const dockerManifest = files.has('manifest.json') ? parseJson<DockerManifestEntry[]>(files.get('manifest.json')!, 'manifest.json') : undefined;

  if (files.has('index.json')) {
    const index = validateIndex(parseJson(files.get('index.json')!, 'index.json'));
    const byManifest = new Map<string, ArchivedImage>();
    for (const descriptor of index.manifests) {
      const manifestDigest = await pickManifest(content, descriptor);
      if (!manifestDigest) continue;
      const bytes = await content.read(manifestDigest);
      const manifest = validateManifest(parseJson(bytes, manifestDigest));
      const image = byManifest.get(manifestDigest) ?? { manifest: bytes, names: [] };
      const name = nameFromAnnotations(descriptor.annotations);
      if (name && !image.names.includes(name)) image.names.push(name);
      // manifest.json may name images the annotations do not (older Docker wrote only ref.name tags).
      for (const entry of dockerManifest ?? []) {
        if (resolvePath(entry.Config) === blobPath(manifest.config.digest)) {
          for (const tag of entry.RepoTags ?? []) {
            const full = parseReference(tag).toString();
            if (!image.names.includes(full)) image.names.push(full);
          }
        }
      }
      byManifest.set(manifestDigest, image);
    }
    return [...byManifest.values()];
  }

  if (dockerManifest) {
    if (!Array.isArray(dockerManifest)) throw new InvalidArgumentError('Cannot load: manifest.json is not a list');
    const out: ArchivedImage[] = [];
    for (const entry of dockerManifest) {
      const configPath = resolvePath(entry.Config);
      let configDigest = blobs.get(configPath);
      if (!configDigest) {
        const data = files.get(configPath);
        if (!data) throw new InvalidArgumentError(`Cannot load: manifest.json names config "${entry.Config}" but the archive has no such file`);
        configDigest = (await content.ingest(data)).digest;
      }
      const config = await content.info(configDigest);
      const layers: Descriptor[] = [];
      for (const layerPath of entry.Layers ?? []) {
        const digest = blobs.get(resolvePath(layerPath));
        if (!digest) throw new InvalidArgumentError(`Cannot load: manifest.json names layer "${layerPath}" but the archive has no such file`);
        const { size } = await content.info(digest);
        layers.push({ mediaType: ociLayerType(await blobCompression(content, digest)), digest, size });
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.size },
        layers,
      };
      out.push({
        manifest: Buffer.from(JSON.stringify(manifest)),
        names: (entry.RepoTags ?? []).map((t) => parseReference(t).toString()),
      });
    }
    return out;
  }
  throw new InvalidArgumentError('Cannot load: the archive has neither index.json (OCI layout) nor manifest.json (docker save)');
}

/** The image manifest for this host behind a descriptor (descending into nested indexes). */
async function pickManifest(content: ContentStore, descriptor: Descriptor, depth = 0): Promise<string | undefined> {
  if (!isIndexType(descriptor.mediaType)) return descriptor.digest;
  if (depth > 4) throw new InvalidArgumentError('Cannot load: image indexes are nested too deeply');
  const index = validateIndex(await content.readJson(descriptor.digest));
  const match = matchPlatform();
  const chosen = index.manifests.find((m) => match(m.platform)) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
  return chosen ? pickManifest(content, chosen, depth + 1) : undefined;
}

function nameFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return parseReference(full).toString();
  const ref = annotations?.[ANNOTATION_REF_NAME];
  // A bare tag ("latest") names no repository: only a full reference is a name.
  if (ref && /[/:@]/.test(ref)) {
    try {
      return parseReference(ref).toString();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function clean(path: string): string {
  return posix.normalize(`/${path}`).slice(1).replace(/\/$/, '');
}

function parseJson<T = unknown>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidArgumentError(`Cannot load: "${what}" is not valid JSON`, { cause: err });
  }
}

