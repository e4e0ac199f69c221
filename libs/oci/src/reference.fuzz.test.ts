import { performance } from 'node:perf_hooks';
import { InvalidArgumentError } from '@berth/errors';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseReference, type Reference } from './index.js';

/**
 * Property tests of image references with fast-check, in `npm test`: a fixed seed (a failure
 * replays the same way) and a time budget per property. Generated references parse into the parts
 * they were built from and format back; any string either parses into a reference that survives
 * parse → format → parse (both the full and the familiar form) or is refused with
 * InvalidArgumentError, quickly.
 */
const run = (budgetMs: number): fc.Parameters<unknown> => ({ seed: 20261202, numRuns: 100_000, plugins: [fc.interruptAfterTimeLimit(budgetMs)] });

const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
/** `[a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*` */
const pathComponent = fc.tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 })).map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(''));
const hostLabel = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?$/);
const port = fc.option(fc.integer({ min: 0, max: 99999 }).map((p) => `:${p}`), { nil: '' });
/** Explicit registries: a dotted host name, localhost, an IPv6 literal, each maybe with a port. */
const domain = fc.oneof(
  fc.tuple(hostLabel, fc.array(hostLabel, { minLength: 1, maxLength: 3 }), port).map(([h, rest, p]) => [h, ...rest].join('.') + p),
  fc.tuple(hostLabel, fc.integer({ min: 0, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  port.map((p) => `localhost${p}`),
  port.map((p) => `[::1]${p}`),
  fc.constantFrom('docker.io', 'index.docker.io'),
);
const tag = fc.stringMatching(/^\w[\w.-]{0,20}$/);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digest = fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(128).map((h) => `sha512:${h}`));

interface Parts {
  domain?: string;
  path: string[];
  tag?: string;
  digest?: string;
}

const parts: fc.Arbitrary<Parts> = fc
  .record({ domain: fc.option(domain, { nil: undefined }), path: fc.array(pathComponent, { minLength: 1, maxLength: 3 }), tag: fc.option(tag, { nil: undefined }), digest: fc.option(digest, { nil: undefined }) }, { requiredKeys: ['path'] })
  // Without a registry, a first component that looks like one ("a.b/c", "localhost/c") is one.
  .filter((p) => p.domain !== undefined || p.path.length === 1 || !(/[.:]/.test(p.path[0]!) || p.path[0] === 'localhost'))
  .filter((p) => `${p.domain ?? 'docker.io'}/${p.path.join('/')}`.length <= 255);

const format = (p: Parts) => `${p.domain ? `${p.domain}/` : ''}${p.path.join('/')}${p.tag ? `:${p.tag}` : ''}${p.digest ? `@${p.digest}` : ''}`;

function fields(r: Reference) {
  return { domain: r.domain, path: r.path, tag: r.tag, digest: r.digest };
}

/**
 * Docker Hub references whose first path component looks like a registry (`docker.io/a.b/c`):
 * their familiar form `a.b/c` names registry `a.b`. Docker's FamiliarString has the same
 * ambiguity (Hub namespaces never contain a dot); only the full form round-trips.
 */
const familiarIsAmbiguous = (r: Reference) => r.domain === 'docker.io' && r.path.includes('/') && /^(?:[^/]*[.:][^/]*|localhost)\//.test(r.path);

/** parse → format → parse gives the same reference, from the full and from the familiar form. */
function expectRoundTrip(r: Reference): void {
  expect(fields(parseReference(r.toString()))).toEqual(fields(r));
  expect(parseReference(r.toString()).toString()).toBe(r.toString());
  if (!familiarIsAmbiguous(r)) expect(fields(parseReference(r.familiar()))).toEqual(fields(r));
}

describe('image references (fuzz)', () => {
  it('parse into the parts they were built from and format back', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const r = parseReference(format(p));
        const expectedDomain = p.domain === undefined || p.domain === 'index.docker.io' ? 'docker.io' : p.domain;
        const path = p.path.join('/');
        expect(fields(r)).toEqual({
          domain: expectedDomain,
          path: expectedDomain === 'docker.io' && p.path.length === 1 ? `library/${path}` : path,
          tag: p.tag ?? (p.digest === undefined ? 'latest' : undefined),
          digest: p.digest,
        });
        expect(r.toString()).toBe(`${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`);
        expectRoundTrip(r);
      }),
      run(1000),
    );
  });

  /** Strings near the grammar: valid pieces, the characters it cares about, and some noise. */
  const near = fc
    .array(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom('a', 'b', '0', 'A', '.', '_', '__', '-', '/', ':', '@', 'sha256:', 'sha512:', 'localhost', '[::1]', 'docker.io', 'index.docker.io', 'library/', '5000', '..', '//', '::', 'é') },
        { weight: 2, arbitrary: pathComponent },
        { weight: 1, arbitrary: hex(64) },
        { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
      ),
      { maxLength: 20 },
    )
    .map((pieces) => pieces.join(''));

  it('either parse and round-trip, or throw InvalidArgumentError, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 40 }), parts.map(format)), (s) => {
        let r: Reference;
        try {
          r = parseReference(s);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expectRoundTrip(r);
      }),
      run(1000),
    );
  });

  it('answer quickly on long repetitive input (no regular expression backtracking)', () => {
    const repeated = fc
      .tuple(fc.constantFrom('a', 'a-', 'a.', 'a_', 'a__', 'a--', 'a/', 'a:', 'A', '0.'), fc.integer({ min: 50, max: 400 }), fc.constantFrom('', '!', '/', ':', '-', '@', '@sha256:'))
      .map(([unit, n, end]) => unit.repeat(n) + end);
    fc.assert(
      fc.property(repeated, (s) => {
        const start = performance.now();
        try {
          expectRoundTrip(parseReference(s));
        } catch (err) {
          if (!(err instanceof InvalidArgumentError)) throw err;
        }
        expect(performance.now() - start).toBeLessThan(100);
      }),
      run(500),
    );
  });
});
