import type { RunMount } from '@berth/dockerfile';
import { InvalidArgumentError } from '@berth/errors';
import { valueExcerpt } from '../located.js';

/** The mode and owner a RUN --mount gives what it makes (a cache directory, a secret file). */
export interface MountOwner {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * The `mode=`, `uid=` and `gid=` of a cache or secret mount, variables expanded: the mode is octal
 * (`defaultMode` when absent), the ids numbers (0 when absent). A bad value is an error that names
 * the mount kind and quotes the value.
 */
export function mountOwner(m: Pick<RunMount, 'type' | 'mode' | 'uid' | 'gid'>, options: { defaultMode: number; expand: (word: string) => string }): MountOwner {
  const kind = m.type;
  const mode = m.mode ? options.expand(m.mode) : undefined;
  if (mode !== undefined && !/^0?[0-7]{3,4}$/.test(mode)) {
    throw new InvalidArgumentError(`Invalid ${kind} mount mode "${valueExcerpt(mode)}": expected an octal mode like 0${options.defaultMode.toString(8)}`);
  }
  const id = (what: 'uid' | 'gid'): number => {
    const text = m[what] ? options.expand(m[what]) : '0';
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`Invalid ${kind} mount ${what} "${valueExcerpt(text)}": expected a number`);
    return Number(text);
  };
  return { mode: mode === undefined ? options.defaultMode : parseInt(mode, 8), uid: id('uid'), gid: id('gid') };
}
