import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { platformLogs, prettyLine } from './platform-logs.js';

describe('prettyLine', () => {
  it('prints a service event as time LEVEL msg key=value, quoting what has spaces', () => {
    const line = JSON.stringify({ level: 'warn', time: '2026-12-02T22:50:01.123Z', service: 'runtime-agent', pid: 7, container: 'c1', err: 'device busy', msg: 'Cannot unmount the rootfs' });
    expect(prettyLine(line)).toBe('2026-12-02T22:50:01.123Z WARN  Cannot unmount the rootfs container=c1 err="device busy"');
  });

  it('prints pino numeric levels and epoch times, and objects as JSON', () => {
    expect(prettyLine(JSON.stringify({ level: 30, time: 0, msg: 'up', ports: [1, 2] }))).toBe('1970-01-01T00:00:00.000Z INFO  up ports=[1,2]');
  });

  it('leaves other lines as they are', () => {
    expect(prettyLine('[42] 2026/12/02 22:50:01.123456 [INF] Server is ready')).toBe('[42] 2026/12/02 22:50:01.123456 [INF] Server is ready');
    expect(prettyLine('{"not":"an event"}')).toBe('{"not":"an event"}');
  });
});

describe('platformLogs', () => {
  it('interleaves services by time, keeps the last N of each, and refuses an unknown service', async () => {
    const dir = tempDir();
    try {
      const event = (time: string, msg: string) => JSON.stringify({ level: 'info', time, msg });
      writeFileSync(join(dir.path, 'a.log'), [event('2026-01-01T00:00:01Z', 'a1'), event('2026-01-01T00:00:03Z', 'a3'), ''].join('\n'));
      writeFileSync(join(dir.path, 'bb.log'), [event('2026-01-01T00:00:02Z', 'b2'), 'plain line after b2', event('2026-01-01T00:00:04Z', 'b4'), ''].join('\n'));
      const files = [
        { name: 'a', log: join(dir.path, 'a.log') },
        { name: 'bb', log: join(dir.path, 'bb.log') },
        { name: 'none', log: join(dir.path, 'none.log') },
      ];
      let out = '';
      await platformLogs(files, { write: (t) => (out += t) });
      expect(out.split('\n').map((l) => l.replace(/ \d{4}-\S+ INFO /, ' '))).toEqual([
        'a    |  a1',
        'bb   |  b2',
        'bb   | plain line after b2',
        'a    |  a3',
        'bb   |  b4',
        '',
      ]);
      out = '';
      await platformLogs(files, { service: 'bb', tail: 1, raw: true, write: (t) => (out += t) });
      expect(out).toBe(`${event('2026-01-01T00:00:04Z', 'b4')}\n`);
      await expect(platformLogs(files, { service: 'c', write: () => {} })).rejects.toThrow('No such service "c": expected one of a, bb, none');
    } finally {
      dir.remove();
    }
  });
});
