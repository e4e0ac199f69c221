import { InvalidArgumentError } from '@berth/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseExpose, parsePublish, type PortBinding } from './index.js';

/**
 * Property tests of `-p` / `--expose` specs with fast-check, in `npm test`: a fixed seed (a failure
 * replays the same way) and a time budget per property. Specs built from their parts parse into
 * exactly the bindings Docker's nat.ParsePortSpec gives; any string either parses into well-formed
 * bindings or is refused with InvalidArgumentError.
 */
const run = (budgetMs: number): fc.Parameters<unknown> => ({ seed: 20261202, numRuns: 100_000, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });

const range = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 20 })).map(([a, n]) => [a, Math.min(a + n, 65535)] as const);
const text = ([a, b]: readonly [number, number]) => (a === b ? `${a}` : `${a}-${b}`);
const proto = fc.constantFrom('', '/tcp', '/udp', '/sctp', '/UDP', '/Tcp');

/** The host side for a container range: none, a range of the same length, or (single port) any range. */
const spec = range.chain((container) =>
  fc.record({
    container: fc.constant(container),
    ip: fc.constantFrom('', '127.0.0.1', '0.0.0.0', '10.20.30.40'),
    host: fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 1, max: 65535 - (container[1] - container[0]) }).map((h) => [h, h + container[1] - container[0]] as const),
      ...(container[0] === container[1] ? [range] : []),
    ),
    proto,
  }),
);

describe('port specs (fuzz)', () => {
  it('parse into exactly the bindings nat.ParsePortSpec gives', () => {
    fc.assert(
      fc.property(spec, ({ container, ip, host, proto: p }) => {
        const written = `${ip !== '' ? `${ip}:` : ''}${host ? text(host) : ''}${ip !== '' || host ? ':' : ''}${text(container)}${p}`;
        const count = container[1] - container[0] + 1;
        const expected: Array<[string, PortBinding]> = Array.from({ length: count }, (_, i) => {
          let hostPort = '';
          if (host) hostPort = count === 1 ? text(host) : String(host[0] + i);
          return [`${container[0] + i}/${(p.slice(1) || 'tcp').toLowerCase()}`, { HostIp: ip, HostPort: hostPort }];
        });
        expect(parsePublish(written)).toEqual(expected);
      }),
      run(700),
    );
  });

  it('expand --expose ranges into exactly their ports', () => {
    fc.assert(
      fc.property(range, fc.constantFrom('', '/tcp', '/udp', '/sctp'), (r, p) => {
        expect(parseExpose(`${text(r)}${p}`)).toEqual(Array.from({ length: r[1] - r[0] + 1 }, (_, i) => `${r[0] + i}/${p.slice(1) || 'tcp'}`));
      }),
      run(300),
    );
  });

  const near = fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('8080', '80', '0', '65535', '65536', '1', '-', ':', '/', 'tcp', 'udp', 'UDP', 'icmp', '127.0.0.1', '[::1]', '1.2.3', '::', '.') }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }), { maxLength: 8 })
    .map((pieces) => pieces.join(''));

  it('either give well-formed bindings or throw InvalidArgumentError, for any string', () => {
    const inRange = (n: string) => Number(n) >= 1 && Number(n) <= 65535;
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 24 })), (s) => {
        let bindings: Array<[string, PortBinding]>;
        try {
          bindings = parsePublish(s);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expect(bindings.length).toBeGreaterThan(0);
        for (const [key, binding] of bindings) {
          const [port, p] = key.split('/');
          expect(inRange(port!) && ['tcp', 'udp', 'sctp'].includes(p!), key).toBe(true);
          const host = /^(?:(\d+)(?:-(\d+))?)?$/.exec(binding.HostPort);
          expect(host, binding.HostPort).not.toBeNull();
          if (host![1] !== undefined) expect(inRange(host![1]) && (host![2] === undefined || inRange(host![2]))).toBe(true);
        }
      }),
      run(700),
    );
  });
});
