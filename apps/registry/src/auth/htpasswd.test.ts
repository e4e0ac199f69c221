import bcrypt from 'bcryptjs';
import { describe, expect, it, vi } from 'vitest';
import { Htpasswd } from './htpasswd.js';

describe('Htpasswd', () => {
  const file = `alice:${bcrypt.hashSync('secret', 4)}\n`;

  it('verifies bcrypt entries and refuses wrong passwords and unknown users', async () => {
    const h = Htpasswd.parse(file);
    expect(await h.verify('alice', 'secret')).toBe(true);
    expect(await h.verify('alice', 'nope')).toBe(false);
    expect(await h.verify('bob', 'secret')).toBe(false);
  });

  it('runs one bcrypt check for requests arriving together with the same credentials, and none once verified', async () => {
    const h = Htpasswd.parse(file);
    const compare = vi.spyOn(bcrypt, 'compare');
    try {
      expect(await Promise.all([h.verify('alice', 'secret'), h.verify('alice', 'secret'), h.verify('alice', 'secret')])).toEqual([true, true, true]);
      expect(compare).toHaveBeenCalledTimes(1);
      expect(await h.verify('alice', 'secret')).toBe(true);
      expect(compare).toHaveBeenCalledTimes(1);
      // A wrong password is checked each time (failures are not cached).
      await h.verify('alice', 'nope');
      await h.verify('alice', 'nope');
      expect(compare).toHaveBeenCalledTimes(3);
    } finally {
      compare.mockRestore();
    }
  });

  it('refuses entries that are not bcrypt, naming the line', () => {
    expect(() => Htpasswd.parse('# users\nalice:$apr1$abc$def\n', 'users.htpasswd')).toThrow(
      'Invalid entry on line 2 of "users.htpasswd": expected "user:<bcrypt hash>" (htpasswd -B)',
    );
  });
});
