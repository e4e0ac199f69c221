import { MediaType, sha256 } from '@berth/oci';

/** What `pushTestImage` put in the registry. */
export interface SeededImage {
  manifest: Buffer;
  digest: string;
  config: string;
  layers: string[];
}

/**
 * Uploads `data` to repository `name` of the registry at `url` (`http://host:port`) in one POST, the
 * way a client would; returns its digest. Throws unless the registry answers 201.
 */
export async function pushTestBlob(url: string, name: string, data: Buffer | string): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: Buffer.from(data),
    headers: { 'content-type': 'application/octet-stream' },
  });
  if (res.status !== 201) throw new Error(`push blob to ${url}/${name}: ${res.status} ${await res.text()}`);
  return digest;
}

/** PUTs a manifest (or index) under `reference`; returns the response for the caller to check. */
export function putTestManifest(url: string, name: string, reference: string, body: Buffer | string, contentType: string): Promise<Response> {
  return fetch(`${url}/v2/${name}/manifests/${reference}`, { method: 'PUT', body: Buffer.from(body), headers: { 'content-type': contentType } });
}

/**
 * Pushes a small image over HTTP: a config (amd64, linux), one blob per `layers` string and an image
 * manifest (OCI unless `mediaType` says Docker) tagged `tag`. The layers are not real tars: enough
 * for tests of transfer, not for unpacking.
 */
export async function pushTestImage(
  url: string,
  name: string,
  tag: string,
  options: { layers?: string[]; mediaType?: string } = {},
): Promise<SeededImage> {
  const configBody = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag });
  const config = await pushTestBlob(url, name, configBody);
  const layerData = options.layers ?? [`layer of ${name}:${tag}`];
  const layers: string[] = [];
  for (const l of layerData) layers.push(await pushTestBlob(url, name, l));
  const docker = options.mediaType === MediaType.DockerManifest;
  const mediaType = options.mediaType ?? MediaType.OciManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig, digest: config, size: Buffer.byteLength(configBody) },
      layers: layers.map((digest, i) => ({
        mediaType: docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip,
        digest,
        size: Buffer.byteLength(layerData[i]!),
      })),
    }),
  );
  const res = await putTestManifest(url, name, tag, manifest, mediaType);
  if (res.status !== 201) throw new Error(`push manifest to ${url}/${name}:${tag}: ${res.status} ${await res.text()}`);
  return { manifest, digest: sha256(manifest), config, layers };
}
