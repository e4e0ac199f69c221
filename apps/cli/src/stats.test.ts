import { describe, expect, it } from 'vitest';
import { calculateCpuPercent, statsDefaultTable, statsEntry, statsHeader, statsRow } from './stats.js';
import { renderListing } from './table-format.js';

const sample = {
  id: 'f1e2d3c4b5a6978812345678901234567890abcdefabcdefabcdefabcdef1234',
  name: '/web',
  read: '2026-11-22T12:00:01Z',
  cpu_stats: { cpu_usage: { total_usage: 300_000_000, percpu_usage: [1, 2] }, system_cpu_usage: 2_000_000_000, online_cpus: 2 },
  precpu_stats: { cpu_usage: { total_usage: 100_000_000 }, system_cpu_usage: 1_000_000_000 },
  memory_stats: { usage: 3 * 1024 * 1024, limit: 1024 ** 3, stats: { total_inactive_file: 1024 * 1024 } },
  networks: { eth0: { rx_bytes: 1500, tx_bytes: 800 }, eth1: { rx_bytes: 500, tx_bytes: 0 } },
  blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 4096 }, { op: 'Write', value: 2_000_000 }, { op: 'read', value: 4096 }] },
  pids_stats: { current: 3 },
};

describe('docker stats figures', () => {
  it('compute CPU % from the deltas times the online CPUs', () => {
    expect(calculateCpuPercent(sample)).toBeCloseTo(40);
    expect(calculateCpuPercent({ ...sample, precpu_stats: sample.cpu_stats })).toBe(0);
  });

  it('render the docker stats table', () => {
    const entry = statsEntry(sample, { id: 'x', name: 'x' });
    expect(entry.memory).toBe(2 * 1024 * 1024);
    expect(renderListing(statsDefaultTable, [statsRow(entry, { trunc: true })], statsHeader)).toBe(
      [
        'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O      BLOCK I/O      PIDS',
        'f1e2d3c4b5a6   web       40.00%    2MiB / 1GiB         0.20%     2kB / 800B   8.19kB / 2MB   3',
        '',
      ].join('\n'),
    );
  });

  it('show -- for a container whose stats could not be read', () => {
    const entry = { ...statsEntry({}, { id: 'abc', name: 'gone' }), invalid: true };
    expect(renderListing('{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', [statsRow(entry, { trunc: true })], statsHeader)).toBe('gone -- -- --\n');
  });
});
