import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';
import { parseBlkioFile, parseNetDev, readBlkioStats, readNetworkStats } from './io-stats.js';

let dir: TempDir | undefined;
afterEach(() => dir?.remove());

const throttleBytes = ['8:0 Read 1282048', '8:0 Write 2195456', '8:0 Sync 2195456', '8:0 Async 1282048', '8:0 Discard 0', '8:0 Total 3477504', 'Total 3477504', ''].join('\n');

describe('blkio statistics (runc getBlkioStat, GetStats order)', () => {
  it('parses device lines and skips the Total line', () => {
    expect(parseBlkioFile(throttleBytes)).toEqual([
      { major: 8, minor: 0, op: 'Read', value: 1282048 },
      { major: 8, minor: 0, op: 'Write', value: 2195456 },
      { major: 8, minor: 0, op: 'Sync', value: 2195456 },
      { major: 8, minor: 0, op: 'Async', value: 1282048 },
      { major: 8, minor: 0, op: 'Discard', value: 0 },
      { major: 8, minor: 0, op: 'Total', value: 3477504 },
    ]);
    expect(parseBlkioFile('8:0 6792\n')).toEqual([{ major: 8, minor: 0, op: '', value: 6792 }]);
    expect(parseBlkioFile('Total 0\n')).toBeUndefined();
  });

  it('reads the first group with figures: an empty BFQ group falls through to the throttle files', async () => {
    dir = tempDir('blkio-');
    const put = (file: string, text: string) => writeFileSync(join(dir!.path, file), text);
    put('blkio.bfq.io_serviced_recursive', 'Total 0\n');
    put('blkio.bfq.io_service_bytes_recursive', 'Total 0\n');
    put('blkio.throttle.io_serviced_recursive', '8:0 Read 12\n8:0 Write 30\nTotal 42\n');
    put('blkio.throttle.io_service_bytes_recursive', throttleBytes);
    put('blkio.throttle.io_service_bytes', '8:0 Read 1\nTotal 1\n');
    const stats = await readBlkioStats(dir.path);
    expect(stats.ioServiceBytes.filter((e) => e.op === 'Read' || e.op === 'Write').map((e) => e.value)).toEqual([1282048, 2195456]);
    expect(stats.ioServiced.map((e) => e.value)).toEqual([12, 30]);
  });

  it('is empty when nothing is accounted', async () => {
    dir = tempDir('blkio-');
    mkdirSync(join(dir.path, 'x'));
    writeFileSync(join(dir.path, 'blkio.throttle.io_service_bytes'), 'Total 0\n');
    expect(await readBlkioStats(dir.path)).toEqual({ ioServiced: [], ioServiceBytes: [] });
  });
});

describe('network counters', () => {
  it('reads /proc/<pid>/net/dev without the loopback', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0',
      '  eth0:     516       6    1    2    0     0          0         0      716       7    3    4    0     0       0          0',
      '',
    ].join('\n');
    expect(parseNetDev(text)).toEqual({
      eth0: { rx_bytes: 516, rx_packets: 6, rx_errors: 1, rx_dropped: 2, tx_bytes: 716, tx_packets: 7, tx_errors: 3, tx_dropped: 4 },
    });
  });

  it('reports nothing for a process in the host network namespace', async () => {
    expect(await readNetworkStats(process.pid)).toBeUndefined();
  });
});
