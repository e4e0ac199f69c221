import type { ImageSummary } from '@berth/proto';
import { describe, expect, it } from 'vitest';
import { renderImageTree } from './image-tree.js';

const image = (over: Partial<ImageSummary>): ImageSummary => ({
  id: 'sha256:' + 'a'.repeat(64),
  repoTags: [],
  repoDigests: [],
  created: 1,
  size: 0,
  labels: {},
  containers: 0,
  parentId: '',
  manifests: [],
  ...over,
});

describe('renderImageTree', () => {
  it('prints docker 28 tree view: names, then the platform branches, newest first', () => {
    const text = renderImageTree([
      image({
        id: 'sha256:' + 'b'.repeat(64),
        repoTags: ['busybox:latest'],
        created: 10,
        manifests: [{ id: 'sha256:' + 'c'.repeat(64), platform: 'linux/amd64', totalSize: 6_500_000, contentSize: 2_200_000, containers: 1, available: true }],
      }),
      image({
        repoTags: ['app:1', 'app:latest'],
        created: 20,
        manifests: [{ id: 'sha256:' + 'd'.repeat(64), platform: 'linux/amd64', totalSize: 7_000_000, contentSize: 2_300_000, containers: 0, available: true }],
      }),
      image({ id: 'sha256:' + 'e'.repeat(64), created: 5, manifests: [], size: 1000 }),
    ]);
    expect(text).toBe(
      [
        "WARNING: This is an experimental feature. The output may change and shouldn't be depended on.",
        '',
        'IMAGE                ID             DISK USAGE   CONTENT SIZE   IN USE',
        'app:1             ',
        'app:latest           aaaaaaaaaaaa          7MB          2.3MB         ',
        '└─ linux/amd64       dddddddddddd          7MB          2.3MB         ',
        '',
        'busybox:latest       bbbbbbbbbbbb        6.5MB          2.2MB     ✔   ',
        '└─ linux/amd64       cccccccccccc        6.5MB          2.2MB     ✔   ',
        '',
        // With branches anywhere, every image is followed by a blank line.
        '<untagged>           eeeeeeeeeeee          1kB             0B         ',
        '',
        '',
      ].join('\n'),
    );
  });
});

describe('renderImageTree on a narrow terminal', () => {
  it('drops the columns that leave the name column under 12', () => {
    const text = renderImageTree([image({ repoTags: ['x:1'] })], 40);
    expect(text.split('\n')[2]).toBe('IMAGE   ID             DISK USAGE');
  });
});
