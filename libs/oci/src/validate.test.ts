import { describe, expect, it } from 'vitest';
import { MediaType, sha256, validateConfig, validateIndex, validateManifest } from './index.js';

const d = (s: string, mediaType: string = MediaType.OciLayerGzip) => ({ mediaType, digest: sha256(s), size: s.length });

describe('validateManifest', () => {
  const good = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: d('c', MediaType.OciConfig), layers: [d('l')] };

  it('accepts OCI and Docker manifests', () => {
    expect(validateManifest(good)).toBe(good);
    expect(() =>
      validateManifest({ ...good, mediaType: MediaType.DockerManifest, config: d('c', MediaType.DockerConfig) }),
    ).not.toThrow();
  });

  it('names the broken field', () => {
    expect(() => validateManifest('x')).toThrow('Invalid image manifest: expected a JSON object');
    expect(() => validateManifest({ ...good, schemaVersion: 1 })).toThrow('Invalid image manifest: schemaVersion 1 is not 2');
    expect(() => validateManifest({ ...good, layers: [d('a'), { ...d('b'), digest: 'sha256:xyz' }] })).toThrow(
      'Invalid image manifest: layers[1].digest "sha256:xyz" is not a valid digest',
    );
    expect(() => validateManifest({ ...good, config: { ...good.config, size: -1 } })).toThrow(
      'Invalid image manifest: config.size -1 must be a non-negative integer',
    );
    expect(() => validateManifest({ ...good, mediaType: MediaType.OciIndex })).toThrow(
      `Invalid image manifest: mediaType "${MediaType.OciIndex}" is not an image manifest type`,
    );
    expect(() => validateManifest({ schemaVersion: 2, manifests: [] })).toThrow(
      'Invalid image manifest: has "manifests": this is an image index, not a manifest',
    );
  });
});

describe('validateIndex', () => {
  it('checks entries and platforms', () => {
    const entry = { ...d('m', MediaType.OciManifest), platform: { os: 'linux', architecture: 'amd64' } };
    expect(validateIndex({ schemaVersion: 2, manifests: [entry] }).manifests).toHaveLength(1);
    expect(() => validateIndex({ schemaVersion: 2, manifests: [{ ...entry, platform: { os: 'linux' } }] })).toThrow(
      'Invalid image index: manifests[0].platform needs os and architecture strings',
    );
  });
});

describe('validateConfig', () => {
  it('requires os, architecture and layered rootfs', () => {
    const good = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('x')] } };
    expect(validateConfig(good)).toBe(good);
    expect(() => validateConfig({ ...good, os: '' })).toThrow('Invalid image config: os is missing');
    expect(() => validateConfig({ ...good, rootfs: { type: 'layers', diff_ids: ['x'] } })).toThrow(
      'Invalid image config: rootfs.diff_ids[0] "x" is not a valid digest',
    );
  });
});
