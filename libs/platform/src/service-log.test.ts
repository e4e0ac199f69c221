import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { serviceLog } from './service-log.js';

describe('serviceLog', () => {
  it('writes timestamped lines, and loses a line it cannot write instead of throwing', () => {
    {
      const dir = tempDir();
      const file = join(dir.path, 'service.log');
      const fd = openSync(file, 'a');
      try {
        serviceLog(fd)('listening');
        expect(readFileSync(file, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z listening\n$/);
      } finally {
        closeSync(fd);
        dir.remove();
      }
    }
    // /dev/full answers every write with ENOSPC, as a full data root does.
    const full = openSync('/dev/full', 'w');
    try {
      expect(() => serviceLog(full)('the disk is full')).not.toThrow();
    } finally {
      closeSync(full);
    }
  });
});
