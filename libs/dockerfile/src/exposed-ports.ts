/**
 * EXPOSE's values, as Docker reads them (go-connections `nat.ParsePortSpecs`): each expanded word is
 * `[[ip:]hostPort:]port[-port][/proto]`; only the container side counts, a range stands for every
 * port in it, the protocol defaults to tcp and is lower-cased. `EXPOSE 8080-8081 53/UDP` exposes
 * `8080/tcp`, `8081/tcp` and `53/udp`: the keys of the image config's `ExposedPorts`.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '@berth/errors';
import { excerpt } from './dockerfile-error.js';

const protocols = new Set(['tcp', 'udp', 'sctp']);

/**
 * The `port/proto` keys exposed by already expanded EXPOSE words (see `expandInstruction`), in
 * order, without duplicates. Throws `InvalidArgumentError` with Docker's text:
 * `invalid containerPort: 80a`, `invalid proto: icmp`, `invalid IP address: x`.
 */
export function exposedPorts(words: readonly string[]): string[] {
  const out = new Set<string>();
  for (const word of words) {
    const parts = word.split(':');
    const ip = parts.length > 2 ? parts.slice(0, -2).join(':') : '';
    const [port = '', protoPart = ''] = splitOnce(parts[parts.length - 1]!, '/');
    if (port === '') throw new InvalidArgumentError(`no port specified: ${excerpt(word)}<empty>`);
    const proto = (protoPart || 'tcp').toLowerCase();
    if (!protocols.has(proto)) throw new InvalidArgumentError(`invalid proto: ${excerpt(proto)}`);
    const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
    if (address !== '' && isIP(address) === 0) throw new InvalidArgumentError(`invalid IP address: ${excerpt(ip)}`);
    const range = portRange(port);
    if (range === undefined) throw new InvalidArgumentError(`invalid containerPort: ${excerpt(port)}`);
    for (let p = range[0]; p <= range[1]; p++) out.add(`${p}/${proto}`);
  }
  return [...out];
}

function splitOnce(text: string, sep: string): [string, string] {
  const i = text.indexOf(sep);
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

/** `80` or `8000-8010` (Go's ParseUint base 10, 16 bits; what follows a second `-` is ignored, as there). */
function portRange(text: string): [number, number] | undefined {
  const [first, second] = text.split('-');
  const start = port16(first!);
  const end = second === undefined ? start : port16(second);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

function port16(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text.replace(/^0+(?=\d)/, ''))) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}
