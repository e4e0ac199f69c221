import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** One line of a blkio statistics file: `8:0 Read 4096`. */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** What `docker stats` reads from the blkio controller (cgroup v1). */
export interface BlkioStats {
  /** Bytes per device and operation (Read, Write, Sync, Async, Discard, Total). */
  ioServiceBytes: BlkioEntry[];
  /** Operations per device and kind. */
  ioServiced: BlkioEntry[];
}

/** Counters of one network interface, as Docker names them. */
export interface InterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * A blkio statistics file (runc's getBlkioStat): `MAJ:MIN [OP] VALUE` lines, the `Total N` line
 * skipped. Undefined when the file is missing or holds no device line (then runc tries the next
 * group of files).
 */
export function parseBlkioFile(text: string): BlkioEntry[] | undefined {
  const entries: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(/[ :]+/).filter(Boolean);
    if (fields.length < 3) continue; // `Total N`, blank
    const [major, minor] = [Number(fields[0]), Number(fields[1])];
    const op = fields.length === 4 ? fields[2]! : '';
    const value = Number(fields[fields.length === 4 ? 3 : 2]);
    if ([major, minor, value].some((n) => !Number.isFinite(n))) continue;
    entries.push({ major, minor, op, value });
  }
  return entries.length > 0 ? entries : undefined;
}

/**
 * The blkio groups in runc's order (libcontainer cgroups/fs blkio.go): BFQ with debug stats, BFQ,
 * CFQ, the throttle policy's recursive files, its plain files. The first group whose leading file
 * has device lines is the one read. [leading file, serviced, service bytes].
 */
const GROUPS: Array<[string, string, string]> = [
  ['blkio.bfq.sectors_recursive', 'blkio.bfq.io_serviced_recursive', 'blkio.bfq.io_service_bytes_recursive'],
  ['blkio.bfq.io_serviced_recursive', 'blkio.bfq.io_serviced_recursive', 'blkio.bfq.io_service_bytes_recursive'],
  ['blkio.sectors_recursive', 'blkio.io_serviced_recursive', 'blkio.io_service_bytes_recursive'],
  ['blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_service_bytes_recursive'],
  ['blkio.throttle.io_serviced', 'blkio.throttle.io_serviced', 'blkio.throttle.io_service_bytes'],
];

async function readBlkio(dir: string, file: string): Promise<BlkioEntry[] | undefined> {
  try {
    return parseBlkioFile(await readFile(join(dir, file), 'utf8'));
  } catch {
    return undefined; // missing: this kernel's scheduler does not offer that file
  }
}

/**
 * Block I/O of a container from its blkio cgroup directory, as runc (and so Docker) reads it. Empty
 * lists when the kernel accounts nothing (e.g. buffered writes, which cgroup v1 charges to the
 * flusher, or a host whose blkio controller counts no I/O at all).
 */
export async function readBlkioStats(dir: string): Promise<BlkioStats> {
  for (const [lead, serviced, bytes] of GROUPS) {
    if ((await readBlkio(dir, lead)) === undefined) continue;
    return { ioServiced: (await readBlkio(dir, serviced)) ?? [], ioServiceBytes: (await readBlkio(dir, bytes)) ?? [] };
  }
  return { ioServiced: [], ioServiceBytes: [] };
}

/**
 * `/proc/<pid>/net/dev` as Docker's per-interface counters, the loopback left out (Docker reports
 * the container's endpoints only).
 */
export function parseNetDev(text: string): Record<string, InterfaceStats> {
  const out: Record<string, InterfaceStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const n = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (n.length < 16) continue;
    out[name] = {
      rx_bytes: n[0]!,
      rx_packets: n[1]!,
      rx_errors: n[2]!,
      rx_dropped: n[3]!,
      tx_bytes: n[8]!,
      tx_packets: n[9]!,
      tx_errors: n[10]!,
      tx_dropped: n[11]!,
    };
  }
  return out;
}

/**
 * The network counters of the namespace a container process lives in, read through
 * `/proc/<pid>/net/dev` (the kernel shows the reader that process's namespace). Undefined for a
 * process in the host's namespace (`--network host`: Docker reports no networks then) or one that
 * is gone.
 */
export async function readNetworkStats(pid: number): Promise<Record<string, InterfaceStats> | undefined> {
  try {
    const [theirs, ours] = await Promise.all([readlink(`/proc/${pid}/ns/net`), readlink('/proc/self/ns/net')]);
    if (theirs === ours) return undefined;
    return parseNetDev(await readFile(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return undefined; // the process ended meanwhile
  }
}
