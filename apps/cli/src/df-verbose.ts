import type { DfContainer, DfImage, DfResponse, DfVolume } from '@berth/proto';
import { ellipsis, familiarName, truncateId } from './row-contexts.js';
import { headerContext, renderListing } from './table-format.js';
import { FieldContext } from './template.js';
import { humanSize, humanSizeWithPrecision, timeAgo } from './units.js';

/**
 * `system df -v`: docker's verbose layout (formatter/disk_usage.go `verboseWriteTable`), one table
 * per kind under its title, then the build cache total.
 */

const imageTable = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const containerTable = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const volumeTable = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';
const buildCacheTable = 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}';

const imageHeader = headerContext('*formatter.imageContext', ['Repository', 'Tag', ['ID', 'IMAGE ID'], ['CreatedSince', 'CREATED'], 'Size', 'SharedSize', 'UniqueSize', 'Containers']);
const containerHeader = headerContext('*formatter.ContainerContext', [['ID', 'CONTAINER ID'], 'Image', 'Command', 'LocalVolumes', 'Size', ['RunningFor', 'CREATED'], 'Status', 'Names']);
const volumeHeader = headerContext('*formatter.volumeContext', [['Name', 'VOLUME NAME'], 'Links', 'Size']);
const buildCacheHeader = headerContext('*formatter.buildCacheContext', [['ID', 'CACHE ID'], 'CacheType', 'Size', ['CreatedSince', 'CREATED'], ['LastUsedSince', 'LAST USED'], ['UsageCount', 'USAGE'], 'Shared']);

function imageRow(i: DfImage, now: number): FieldContext {
  // docker shows the first tag only; an untagged image is <none> <none>
  const first = i.repoTags[0];
  const colon = first ? first.lastIndexOf(':') : -1;
  const repo = first && colon > first.lastIndexOf('/') ? familiarName(first.slice(0, colon)) : '<none>';
  const tag = first && colon > first.lastIndexOf('/') ? first.slice(colon + 1) : '<none>';
  return new FieldContext('*formatter.imageContext', {
    Repository: () => repo,
    Tag: () => tag,
    ID: () => truncateId(i.id),
    CreatedSince: () => timeAgo(i.created, now),
    Size: () => humanSizeWithPrecision(i.size, 3),
    SharedSize: () => humanSizeWithPrecision(i.sharedSize, 3),
    UniqueSize: () => humanSizeWithPrecision(i.size - i.sharedSize, 3),
    Containers: () => String(i.containers),
  });
}

function containerRow(c: DfContainer, now: number): FieldContext {
  return new FieldContext('*formatter.ContainerContext', {
    ID: () => truncateId(c.id),
    Image: () => (c.image.startsWith('sha256:') ? truncateId(c.image) : c.image),
    Command: () => JSON.stringify(ellipsis(c.command, 20)),
    LocalVolumes: () => String(c.localVolumes),
    Size: () => humanSizeWithPrecision(c.sizeRw, 3),
    RunningFor: () => timeAgo(c.created, now),
    Status: () => c.status,
    Names: () => c.names.map((n) => n.replace(/^\//, '')).join(','),
  });
}

function volumeRow(v: DfVolume): FieldContext {
  return new FieldContext('*formatter.volumeContext', { Name: () => v.name, Links: () => String(v.links), Size: () => humanSize(v.size) });
}

/** The verbose report as docker prints it. */
export function renderVerboseDf(res: DfResponse, now = Date.now()): string {
  const buildCacheTotal = res.rows.find((r) => r.type === 'Build Cache')?.size ?? 0;
  return [
    'Images space usage:\n\n',
    renderListing(imageTable, res.images.map((i) => imageRow(i, now)), imageHeader),
    '\nContainers space usage:\n\n',
    renderListing(containerTable, res.containers.map((c) => containerRow(c, now)), containerHeader),
    '\nLocal Volumes space usage:\n\n',
    renderListing(volumeTable, res.volumes.map(volumeRow), volumeHeader),
    `\nBuild cache usage: ${humanSize(buildCacheTotal)}\n\n`,
    renderListing(buildCacheTable, [], buildCacheHeader),
  ].join('');
}
