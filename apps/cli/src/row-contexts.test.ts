import type { ImageSummary } from '@berth/proto';
import { describe, expect, it, vi } from 'vitest';
import { ellipsis, imageRows, imagesDefaultTable, imagesHeader, psDefaultTable, psHeader, psRow, truncateId } from './row-contexts.js';
import { FormatError, renderListing, resolveFormat } from './table-format.js';
import { Template } from './template.js';
import { webContainer, webContainerId } from './test-support.js';

const now = 1_800_000_000_000;
const id = webContainerId;

const container = webContainer({
  command: 'sh -c "while true; do sleep 1; done"',
  created: now / 1000 - 120,
  status: 'Up 5 seconds',
  labels: { tier: 'web', app: 'x' },
});

describe('ps rows', () => {
  it('render the default table like docker ps', () => {
    const text = renderListing(psDefaultTable, [psRow(container, { trunc: true, now })], psHeader);
    expect(text).toBe(
      [
        'CONTAINER ID   IMAGE     COMMAND                   CREATED         STATUS         PORTS     NAMES',
        'f1e2d3c4b5a6   busybox   "sh -c \\"while true; …"   2 minutes ago   Up 5 seconds             web',
        '',
      ].join('\n'),
    );
  });

  it('show SIZE as docker ps -s: the writable layer, and the virtual size when known', () => {
    const size = (sizeRw: number, sizeRootFs: number) => renderListing('{{.Size}}', [psRow({ ...container, sizeRw, sizeRootFs }, { trunc: true, now })], psHeader);
    expect(size(12, 4_260_000 + 12)).toBe('12B (virtual 4.26MB)\n');
    expect(size(0, 4_372_000)).toBe('0B (virtual 4.37MB)\n');
    expect(size(1_500, 0)).toBe('1.5kB\n');
  });

  it('show Mounts and LocalVolumes as docker ps does', () => {
    const mounts = [
      { type: 'volume', name: 'a-rather-long-volume-name', source: '/v/x/_data', destination: '/data', driver: 'local' },
      { type: 'bind', name: '', source: '/srv', destination: '/srv', driver: '' },
    ];
    const row = (trunc: boolean) => psRow({ ...container, mounts }, { trunc, now });
    expect(renderListing('{{.Mounts}}|{{.LocalVolumes}}', [row(true)], psHeader)).toBe('a-rather-long-…,/srv|1\n');
    expect(renderListing('{{.Mounts}}', [row(false)], psHeader)).toBe('a-rather-long-volume-name,/srv\n');
  });

  it('serve custom formats, table formats, labels and json', () => {
    const row = psRow(container, { trunc: false, now });
    expect(renderListing('{{.ID}} {{.Names}}', [row], psHeader)).toBe(`${id} web\n`);
    expect(renderListing('table {{.Names}}\\t{{.Label "tier"}}', [row], psHeader)).toBe('NAMES     LABEL\nweb       web\n');
    expect(renderListing('{{.Labels}}', [row], psHeader)).toBe('app=x,tier=web\n');
    expect(JSON.parse(renderListing(resolveFormat({ format: 'json', defaultTable: psDefaultTable }), [row], psHeader))).toMatchObject({
      ID: id,
      Names: 'web',
      Status: 'Up 5 seconds',
    });
    expect(resolveFormat({ format: '', defaultTable: psDefaultTable, quiet: true, quietFormat: '{{.ID}}' })).toBe('{{.ID}}');
  });

  it('print only the header when there are no rows', () => {
    expect(renderListing(psDefaultTable, [], psHeader)).toBe('CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  });

  it('truncate like docker', () => {
    expect(truncateId('sha256:' + 'b'.repeat(64))).toBe('bbbbbbbbbbbb');
    expect(ellipsis('abcdef', 4)).toBe('abc…');
  });
});

describe('image rows', () => {
  const image: ImageSummary = {
    id: 'sha256:' + 'c'.repeat(64),
    repoTags: ['busybox:latest', 'busybox:1.36', 'localhost:5000/tools/bb:v1'],
    repoDigests: [],
    created: now / 1000 - 3 * 86400,
    size: 4_261_234,
    labels: {},
    manifests: [],
    containers: -1,
    parentId: '',
  };

  it('give one row per repository and tag, and <none> for an untagged image', () => {
    const rows = [...imageRows(image, { trunc: true, digests: false, now }), ...imageRows({ ...image, repoTags: [] }, { trunc: true, digests: false, now })];
    expect(renderListing(imagesDefaultTable, rows, imagesHeader)).toBe(
      [
        'REPOSITORY                TAG       IMAGE ID       CREATED      SIZE',
        'busybox                   latest    cccccccccccc   3 days ago   4.26MB',
        'busybox                   1.36      cccccccccccc   3 days ago   4.26MB',
        'localhost:5000/tools/bb   v1        cccccccccccc   3 days ago   4.26MB',
        '<none>                    <none>    cccccccccccc   3 days ago   4.26MB',
        '',
      ].join('\n'),
    );
  });
});

describe('listings of literal text and plain fields', () => {
  // `{{""}}` prints nothing but is no plain field: the same template, rendered by the template engine.
  const byEngine = (source: string) => `${source}{{""}}`;

  it('print what the template engine prints, header and rows (table-format.ts renders them without it)', () => {
    const rows = [psRow(container, { trunc: true, now }), psRow({ ...container, names: ['/db', '/web/db'] }, { trunc: false, now })];
    for (const source of [psDefaultTable, `${psDefaultTable}\t{{.Size}}`, '{{.ID}}: {{.Names}} ({{.Labels}})', 'table {{.Mounts}}|{{.Networks}}', '']) {
      expect({ source, text: renderListing(source, rows, psHeader) }).toEqual({ source, text: renderListing(byEngine(source), rows, psHeader) });
    }
    expect(renderListing(psDefaultTable, rows, psHeader).split('\n')).toHaveLength(4);
    const execute = vi.spyOn(Template.prototype, 'execute');
    renderListing(psDefaultTable, rows, psHeader);
    renderListing(imagesDefaultTable, [], imagesHeader);
    expect(execute).not.toHaveBeenCalled();
    renderListing(byEngine(psDefaultTable), rows, psHeader);
    expect(execute).toHaveBeenCalledTimes(3);
    execute.mockRestore();
  });

  it('leave to the template engine a field given arguments, a missing field, and what is not a string', () => {
    const rows = [psRow(container, { trunc: true, now })];
    expect(renderListing('{{.Label "tier"}}', rows, psHeader)).toBe('web\n');
    expect(() => renderListing('{{.Nope}}', rows, psHeader)).toThrow(FormatError);
    expect(() => renderListing('{{.Nope}}', rows, psHeader)).toThrow(/Nope/);
    expect(renderListing('{ {{.Names}} }', rows, psHeader)).toBe('{ web }\n');
  });
});

