import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { REDACTED_FIELDS, logLevelOf, serviceLogger } from './service-logger.js';

function logged(write: (logger: ReturnType<typeof serviceLogger>) => void, level?: 'debug' | 'info' | 'warn' | 'error'): Record<string, unknown>[] {
  const dir = tempDir();
  const file = join(dir.path, 'service.log');
  const fd = openSync(file, 'a');
  try {
    write(serviceLogger('runtime-agent', { fd, level }));
    const text = readFileSync(file, 'utf8');
    return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l));
  } finally {
    closeSync(fd);
    dir.remove();
  }
}

describe('serviceLogger', () => {
  it('writes one JSON line per event with its level, time, service and fields', () => {
    const [line] = logged((log) => log.warn({ container: 'c1', err: new Error('device busy') }, 'Cannot unmount the rootfs'));
    expect(line).toMatchObject({ level: 'warn', service: 'runtime-agent', container: 'c1', err: 'device busy', msg: 'Cannot unmount the rootfs' });
    expect(line!.time).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  });

  it('drops events below its level', () => {
    expect(logged((log) => (log.debug({}, 'hidden'), log.info({}, 'shown')))).toMatchObject([{ msg: 'shown' }]);
    expect(logged((log) => log.debug({}, 'shown'), 'debug')).toMatchObject([{ msg: 'shown' }]);
    expect(logged((log) => log.warn({}, 'hidden'), 'error')).toEqual([]);
  });

  it('censors secrets at any of the first three depths', () => {
    for (const field of REDACTED_FIELDS) {
      const lines = logged((log) => {
        log.info({ [field]: 'hunter2' }, 'top');
        log.info({ options: { [field]: ['A=hunter2'] } }, 'nested');
        log.info({ request: { auth: { [field]: 'hunter2' } } }, 'deeper');
      });
      expect(JSON.stringify(lines), field).not.toContain('hunter2');
      expect(lines[0]![field]).toBe('[redacted]');
    }
  });

  it('loses a line it cannot write instead of throwing', () => {
    // /dev/full answers every write with ENOSPC, as a full data root does.
    const full = openSync('/dev/full', 'w');
    try {
      const log = serviceLogger('runtime-agent', { fd: full });
      expect(() => log.warn({ path: '/var/lib/berth' }, 'the disk is full')).not.toThrow();
    } finally {
      closeSync(full);
    }
  });
});

describe('logLevelOf', () => {
  it('takes the flag, else BERTH_LOG_LEVEL, else info', () => {
    expect(logLevelOf('debug', { BERTH_LOG_LEVEL: 'error' })).toBe('debug');
    expect(logLevelOf(undefined, { BERTH_LOG_LEVEL: 'error' })).toBe('error');
    expect(logLevelOf(undefined, {})).toBe('info');
  });

  it('refuses an unknown level, naming where it came from', () => {
    expect(() => logLevelOf('verbose', {})).toThrow('Invalid --log-level "verbose": expected one of debug, info, warn, error');
    expect(() => logLevelOf(undefined, { BERTH_LOG_LEVEL: 'trace' })).toThrow('Invalid BERTH_LOG_LEVEL "trace": expected one of debug, info, warn, error');
  });

  it("ends a service's main with status 2 on a bad --log-level, saying why on stderr", () => {
    const source = new URL('./service-logger.ts', import.meta.url).pathname;
    const script = `import { serviceLoggerForFlag } from ${JSON.stringify(source)}; serviceLoggerForFlag('builder', 'loud').info('never');`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, BERTH_LOG_LEVEL: '' } });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('Invalid --log-level "loud": expected one of debug, info, warn, error');
    expect(result.stdout).toBe('');
  });
});
