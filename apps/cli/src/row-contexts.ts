import type { ContainerSummary, DfRow, HistoryEntry, ImageSummary } from '@berth/proto';
import { headerContext } from './table-format.js';
import { FieldContext } from './template.js';
import { labelFields } from './label-fields.js';
import { portsColumn } from './network-spec.js';
import { goTimeString, humanSize, humanSizeWithPrecision, rfc3339, timeAgo } from './units.js';

/**
 * The rows of docker's listings (its `formatter.*Context` types): the fields a `--format`
 * template can use, the column titles, and the default table layouts, computed the way the
 * docker CLI computes them (12-character ids, quoted and truncated commands, go-units sizes).
 */

/** stringid.TruncateID: drops the algorithm and keeps 12 hex digits. */
export function truncateId(id: string): string {
  const hex = id.includes(':') ? id.slice(id.indexOf(':') + 1) : id;
  return hex.slice(0, 12);
}

/** docker's formatter.Ellipsis: at most `max` characters, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return chars.slice(0, max).join('');
  return chars.slice(0, max - 1).join('') + '…';
}

export const psDefaultTable = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
export const psSizeTable = `${psDefaultTable}\t{{.Size}}`;

export const psHeader = headerContext('*formatter.ContainerContext', [['ID', 'CONTAINER ID'], 'Names', 'Image', 'Command', 'CreatedAt', ['RunningFor', 'CREATED'], 'Ports', 'State', 'Status', 'Size', 'Labels', 'Label', 'Mounts', 'Networks', 'LocalVolumes', 'Platform', 'Node']);

export function psRow(c: ContainerSummary, options: { trunc: boolean; now?: number }): FieldContext {
  const { trunc } = options;
  return new FieldContext('*formatter.ContainerContext', {
    ID: () => (trunc ? truncateId(c.id) : c.id),
    // Berth's cluster: the node that runs it (`ps --format '{{.Node}}'`, filter `node=`).
    Node: () => c.node ?? '',
    Names: () =>
      c.names
        .map((n) => (n.startsWith('/') ? n.slice(1) : n))
        .filter((n) => !trunc || !n.includes('/')) // links (`/other/alias`) only without truncation
        .join(','),
    Image: () => {
      const image = c.image || '<no image>';
      if (trunc && (image.startsWith('sha256:') || (c.imageId && truncateId(image) === truncateId(c.imageId) && /^[0-9a-f]{12,}$/.test(image)))) {
        return truncateId(image);
      }
      return trunc ? image.replace(/@sha256:[0-9a-f]+$/, '') : image;
    },
    Command: () => JSON.stringify(trunc ? ellipsis(c.command, 20) : c.command),
    CreatedAt: () => goTimeString(c.created),
    RunningFor: () => timeAgo(c.created, options.now),
    Ports: () => portsColumn(c),
    State: () => c.state,
    Status: () => c.status,
    // docker's ContainerContext.Size: `12B (virtual 4.26MB)`, the writable layer alone when the virtual size is unknown.
    Size: () => {
      const rw = humanSizeWithPrecision(c.sizeRw, 3);
      return c.sizeRootFs > 0 ? `${rw} (virtual ${humanSizeWithPrecision(c.sizeRootFs, 3)})` : rw;
    },
    ...labelFields(c.labels),
    // docker's ContainerContext.Mounts / LocalVolumes: volume names (else sources), cut to 15 characters.
    Mounts: () => (c.mounts ?? []).map((m) => (trunc ? ellipsis(m.name || m.source, 15) : m.name || m.source)).join(','),
    Networks: () => (c.networks ?? []).join(','),
    LocalVolumes: () => String((c.mounts ?? []).filter((m) => m.driver === 'local').length),
    Platform: () => '',
  });
}

export const imagesDefaultTable = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const imagesDigestTable = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

export const imagesHeader = headerContext('*formatter.ImageContext', [['ID', 'IMAGE ID'], 'Repository', 'Tag', 'Digest', ['CreatedSince', 'CREATED'], 'CreatedAt', 'Size', 'Containers', ['VirtualSize', 'SIZE'], 'SharedSize', 'UniqueSize']);

/** `docker.io/library/busybox` → `busybox`, `docker.io/x/y` → `x/y` (reference.FamiliarName). */
export function familiarName(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

function splitTag(ref: string): { repo: string; tag: string } | undefined {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return { repo: familiarName(ref.slice(0, colon)), tag: ref.slice(colon + 1) };
}

function splitDigest(ref: string): { repo: string; digest: string } | undefined {
  const at = ref.indexOf('@');
  if (at < 0) return undefined;
  return { repo: familiarName(ref.slice(0, at)), digest: ref.slice(at + 1) };
}

/** One row per repository:tag (and per digest with --digests), as docker's imageFormat does. */
export function imageRows(image: ImageSummary, options: { trunc: boolean; digests: boolean; now?: number }): FieldContext[] {
  const row = (repo: string, tag: string, digest: string) => imageRow(image, { ...options, repo, tag, digest });
  const tags = image.repoTags.filter((t) => t !== '<none>:<none>');
  const digestRefs = image.repoDigests.filter((d) => d !== '<none>@<none>');
  if (tags.length === 0 && digestRefs.length === 0) return [row('<none>', '<none>', '<none>')];
  const repoTags = new Map<string, string[]>();
  for (const ref of tags) {
    const parsed = splitTag(ref);
    if (parsed) repoTags.set(parsed.repo, [...(repoTags.get(parsed.repo) ?? []), parsed.tag]);
  }
  const repoDigests = new Map<string, string[]>();
  for (const ref of digestRefs) {
    const parsed = splitDigest(ref);
    if (parsed) repoDigests.set(parsed.repo, [...(repoDigests.get(parsed.repo) ?? []), parsed.digest]);
  }
  const rows: FieldContext[] = [];
  for (const [repo, repoTagList] of repoTags) {
    let digests = repoDigests.get(repo) ?? [];
    repoDigests.delete(repo);
    if (!options.digests || digests.length === 0) digests = ['<none>'];
    for (const tag of repoTagList) for (const digest of digests) rows.push(row(repo, tag, digest));
  }
  for (const [repo, digests] of repoDigests) {
    if (options.digests) for (const digest of digests) rows.push(row(repo, '<none>', digest));
    else rows.push(row(repo, '<none>', ''));
  }
  return rows;
}

function imageRow(
  image: ImageSummary,
  o: { trunc: boolean; now?: number; repo: string; tag: string; digest: string },
): FieldContext {
  return new FieldContext('*formatter.ImageContext', {
    ID: () => (o.trunc ? truncateId(image.id) : image.id),
    Repository: () => o.repo,
    Tag: () => o.tag,
    Digest: () => o.digest,
    CreatedSince: () => timeAgo(image.created, o.now),
    CreatedAt: () => goTimeString(image.created),
    Size: () => humanSizeWithPrecision(image.size, 3),
    Containers: () => (image.containers < 0 ? 'N/A' : String(image.containers)),
    VirtualSize: () => humanSizeWithPrecision(image.size, 3),
    SharedSize: () => 'N/A',
    UniqueSize: () => 'N/A',
  });
}

export const historyDefaultTable = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

export const historyHeader = headerContext('*formatter.historyContext', [['ID', 'IMAGE'], ['CreatedSince', 'CREATED'], 'CreatedAt', 'CreatedBy', 'Size', 'Comment']);

export function historyRow(h: HistoryEntry, options: { trunc: boolean; human: boolean; now?: number }): FieldContext {
  return new FieldContext('*formatter.historyContext', {
    ID: () => (h.id === '<missing>' || !options.trunc ? h.id : truncateId(h.id)),
    CreatedSince: () => (options.human ? timeAgo(h.created, options.now) : rfc3339(h.created)),
    CreatedAt: () => rfc3339(h.created),
    CreatedBy: () => {
      const createdBy = h.createdBy.replace(/\t/g, ' ');
      return options.trunc ? ellipsis(createdBy, 45) : createdBy;
    },
    Size: () => (options.human ? humanSizeWithPrecision(h.size, 3) : String(h.size)),
    Comment: () => h.comment,
  });
}

export const dfDefaultTable = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

export const dfHeader = headerContext('*formatter.diskUsageImagesContext', ['Type', ['TotalCount', 'TOTAL'], 'Active', 'Size', 'Reclaimable']);

export function dfRow(r: DfRow): FieldContext {
  return new FieldContext('*formatter.diskUsageImagesContext', {
    Type: () => r.type,
    TotalCount: () => String(r.total),
    Active: () => String(r.active),
    Size: () => humanSize(r.size),
    // docker prints a percentage for images, containers and volumes, none for the build cache.
    Reclaimable: () =>
      r.size > 0 && r.type !== 'Build Cache' ? `${humanSize(r.reclaimable)} (${Math.trunc((r.reclaimable * 100) / r.size)}%)` : humanSize(r.reclaimable),
  });
}
