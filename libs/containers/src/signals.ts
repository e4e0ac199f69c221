import { constants } from 'node:os';
import { InvalidArgumentError } from '@berth/errors';

export interface Signal {
  /** `SIGTERM` */
  name: string;
  /** 15 */
  number: number;
}

const byName = constants.signals as Record<string, number>;

/** Parses Docker's signal forms: `SIGTERM`, `TERM`, `term`, `15`. InvalidArgumentError `Invalid signal: x`. */
export function parseSignal(value: string | number): Signal {
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const number = Number(value);
    const name = Object.keys(byName).find((n) => byName[n] === number);
    if (name !== undefined) return { name, number };
    if (number > 0 && number <= 64) return { name: `SIGRT${number}`, number };
  } else {
    const upper = value.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (byName[name] !== undefined) return { name, number: byName[name]! };
  }
  throw new InvalidArgumentError(`Invalid signal: ${value}`, { code: 'INVALID_SIGNAL' });
}
