import type { ImageSummary } from '@berth/proto';
import { humanSizeWithPrecision } from './units.js';

/**
 * `images --tree`, docker 28's experimental tree view (docker/cli `image/tree.go`): each image's
 * names, then its platform manifests as branches, with the disk usage, the content (blob) size and
 * whether a container uses it. Printed without colours (as docker does when stdout is not a terminal).
 */

const columnSpacing = 3;

interface Details {
  id: string;
  diskUsage: string;
  contentSize: string;
  inUse: boolean;
}

interface Column {
  title: string;
  width: number;
  align: 'left' | 'center' | 'right';
  value?: (d: Details) => string;
}

const runes = (s: string) => [...s].length;

function truncate(s: string, length: number): string {
  const chars = [...s];
  return chars.length > length ? `${chars.slice(0, length - 3).join('')}...` : s;
}

function print(column: Column, s: string): string {
  const n = runes(s);
  if (n > column.width) return truncate(s, column.width);
  const fill = column.width - n;
  if (column.align === 'right') return ' '.repeat(fill) + s;
  if (column.align === 'center') return ' '.repeat(Math.floor(fill / 2)) + s + ' '.repeat(fill - Math.floor(fill / 2));
  return s + ' '.repeat(fill);
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const size = (n: number) => humanSizeWithPrecision(n, 3);

/** The view of `images` (asked with manifests) for a terminal `width` columns wide (80 when not a terminal). */
export function renderImageTree(images: ImageSummary[], width = 80): string {
  width = Math.max(width || 80, 20);
  const view = images
    .map((img) => {
      const children = img.manifests.map((m) => ({
        platform: m.platform,
        details: { id: m.id, diskUsage: size(m.totalSize), contentSize: size(m.contentSize), inUse: m.containers > 0 },
      }));
      const total = img.manifests.reduce((sum, m) => sum + m.totalSize, 0);
      const content = img.manifests.reduce((sum, m) => sum + m.contentSize, 0);
      const details = { id: img.id, diskUsage: size(total || img.size), contentSize: size(content), inUse: img.containers > 0 || children.some((c) => c.details.inUse) };
      return { names: img.repoTags, details, children, created: img.created };
    })
    .sort((a, b) => b.created - a.created);
  const spacing = view.some((v) => v.children.length > 0);

  let columns: Column[] = [
    { title: 'Image', width: 0, align: 'left' },
    { title: 'ID', width: 12, align: 'left', value: (d) => shortId(d.id) },
    { title: 'Disk usage', width: 10, align: 'right', value: (d) => d.diskUsage },
    { title: 'Content size', width: 12, align: 'right', value: (d) => d.contentSize },
    { title: 'In Use', width: 6, align: 'center', value: (d) => (d.inUse ? '✔' : ' ') },
  ];
  let nameWidth = width;
  for (const [i, column] of columns.entries()) {
    if (column.width === 0) continue;
    const need = column.width + (i > 0 ? columnSpacing : 0);
    // A name column narrower than 12 drops the columns from here on.
    if (nameWidth - need < 12) {
      columns = columns.slice(0, i);
      break;
    }
    nameWidth -= need;
  }
  // As narrow as the widest name or branch (docker measures these in bytes).
  let widest = columns[0]!.title.length;
  for (const img of view) {
    for (const name of img.names) widest = Math.max(widest, Buffer.byteLength(name));
    for (const child of img.children) widest = Math.max(widest, Buffer.byteLength(child.platform) + Buffer.byteLength('└─ '));
  }
  columns[0]!.width = Math.min(nameWidth, widest);

  const details = (d: Details) => columns.filter((c) => c.value).map((c) => ' '.repeat(columnSpacing) + print(c, c.value!(d))).join('');
  let text = "WARNING: This is an experimental feature. The output may change and shouldn't be depended on.\n\n";
  text += `${columns.map((c) => print(c, c.title.toUpperCase())).join(' '.repeat(columnSpacing))}\n`;
  for (const img of view) {
    text += img.names.length === 0 ? print(columns[0]!, '<untagged>') : img.names.map((n) => print(columns[0]!, n)).join('\n');
    text += details(img.details);
    if (img.children.length > 0 || spacing) text += '\n';
    for (const [i, child] of img.children.entries()) {
      text += print(columns[0]!, `${i === img.children.length - 1 ? '└─' : '├─'} ${child.platform}`) + details(child.details) + '\n';
    }
    text += '\n';
  }
  return text;
}
