/**
 * bench/cli-floor: how much of Berth's `--version`, `inspect`, `ps` and `rm` any Node client would
 * pay, side by side with Docker's, interleaved. Issue 11 asks for ≤ 40 ms and ≤ 1.5× Docker; this
 * prints what a Node client that does nothing but its call takes, so that the note can say which
 * share of the gap is the CLI's own and which is Node's floor.
 *
 *   npx tsx bench/cli-floor.ts [--rounds 15]
 *
 * Per command, every round runs each of these once, in a rotating order:
 * - `node`: Node on an empty file (Node's own start; NODE_EXTRA_CA_CERTS unset, as `berth` does);
 * - `bare`: a Node client that connects to the gateway's socket, writes the bytes Berth's CLI wrote
 *   for the same command (HTTP/2 preface, SETTINGS, HEADERS, DATA: captured once from a real run),
 *   reads frames until the answer's end and prints the answer's message undecoded. No parsing of
 *   arguments, no protobuf, no formatting: the least a Node CLI can do for the call;
 * - `berth` and `docker`: the real CLIs, each against its own daemon (started isolated, as
 *   bench/compare.ts does: compare-engines.ts).
 * Prints median (p10–p90) of each, and the paired ratios bare ÷ docker (the floor of Berth ÷ Docker
 * for a Node client) and berth ÷ docker, and berth − bare (what Berth's CLI adds to the floor).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BERTH_CLI } from '@berth/testing';
import { type Engine, installed, pairedRatio, startBerth, startDocker, stats, timed } from './compare-engines.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);

/** The bare client: connect, one write, frames read until stream 1 ends, its DATA printed. */
const BARE_CLIENT = `
const buf0 = Buffer.from(process.argv[3], 'base64');
const s = require('node:net').connect(process.argv[2], () => s.write(buf0));
let buf = Buffer.alloc(0);
const message = [];
s.on('data', (d) => {
  buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
  while (buf.length >= 9) {
    const len = buf.readUIntBE(0, 3);
    if (buf.length < 9 + len) break;
    const type = buf[3], flags = buf[4], stream = buf.readUInt32BE(5) & 0x7fffffff;
    const payload = buf.subarray(9, 9 + len);
    buf = buf.subarray(9 + len);
    if (type === 3 || type === 7) process.exit(4); // RST_STREAM, GOAWAY
    if (stream !== 1) continue;
    if (type === 0) message.push(payload);
    if ((type === 0 || type === 1) && (flags & 1) !== 0) {
      // A trailers-only answer (no DATA) is a gRPC error.
      const m = Buffer.concat(message);
      if (m.length === 0) process.exit(3);
      require('node:fs').writeSync(1, m.subarray(5));
      process.exit(0);
    }
  }
});
s.on('error', () => process.exit(2));
`;

/** The bytes Berth's CLI writes for `args` until its request's last DATA frame (END_STREAM). */
async function captureRequest(env: NodeJS.ProcessEnv, dir: string, args: string[]): Promise<Buffer> {
  const sock = join(dir, 'capture.sock');
  rmSync(sock, { force: true });
  let resolveBytes!: (b: Buffer) => void;
  const bytes = new Promise<Buffer>((r) => (resolveBytes = r));
  const server = createServer((conn) => {
    let got = Buffer.alloc(0);
    conn.on('data', (d) => {
      got = Buffer.concat([got, d]);
      for (let at = 24; at + 9 <= got.length; ) {
        const len = got.readUIntBE(at, 3);
        if (at + 9 + len > got.length) break;
        if (got[at + 3] === 0 && (got[at + 4]! & 1) !== 0) {
          resolveBytes(got.subarray(0, at + 9 + len));
          conn.destroy();
          return;
        }
        at += 9 + len;
      }
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  const child = spawn(BERTH_CLI, args, { env: { ...env, BERTH_HOST: `unix:${sock}` }, stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const timeout = setTimeout(() => child.kill(), 30_000);
  const request = await Promise.race([bytes, exited.then(() => undefined)]);
  clearTimeout(timeout);
  await exited;
  server.close();
  if (request === undefined) throw new Error(`berth ${args.join(' ')} wrote no whole request`);
  return request;
}

const tmp = mkdtempSync(join(tmpdir(), 'berth-cli-floor-'));
const engines: Engine[] = [];
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
try {
  if (!installed('dockerd')) throw new Error('dockerd is not installed (apt-get install docker.io): it is the reference');
  const { engine: berth, platform } = await startBerth();
  engines.push(berth);
  const image = join(tmp, 'busybox.tar');
  const saved = await platform.berth(['save', '-o', image, 'busybox']);
  if (saved.code !== 0) throw new Error(`berth save busybox: ${saved.stderr}`);
  const docker = await startDocker(join(tmp, 'docker'), image);
  engines.push(docker);
  const bare = join(tmp, 'bare.cjs');
  writeFileSync(bare, BARE_CLIENT);
  const empty = join(tmp, 'empty.cjs');
  writeFileSync(empty, '');
  const nodeEnv = { ...process.env };
  delete nodeEnv.NODE_EXTRA_CA_CERTS;
  const gateway = berth.env.BERTH_HOST!.replace(/^unix:/, '');
  const node: Engine = { ...berth, argv: () => ['node', empty], env: nodeEnv };
  const bareOf = (request: Buffer): Engine => ({ ...berth, argv: () => ['node', bare, gateway, request.toString('base64')], env: nodeEnv });
  const idOf = (out: string) => out.trim().split('\n').pop()!.trim();

  // 20 running on each (as compare.ts's `ps` row), one more to inspect.
  for (const e of [berth, docker]) for (let i = 0; i < 20; i++) timed(e, ['run', '-d', '--name', `floor-${i}`, 'busybox', 'sleep', '3600']);
  const inspectRequest = await captureRequest(berth.env, tmp, ['inspect', 'floor-0']);
  const psRequest = await captureRequest(berth.env, tmp, ['ps']);
  const created = (e: Engine) => idOf(timed(e, ['create', 'busybox', 'true']).stdout);
  const removable = created(berth);
  const rmRequest = await captureRequest(berth.env, tmp, ['rm', removable]);
  timed(berth, ['rm', removable]);
  if (!rmRequest.includes(Buffer.from(removable))) throw new Error('the rm request does not hold the full id it was given');

  type Variant = { label: string; sample: (round: number) => number };
  const commands: Array<{ what: string; variants: Variant[] }> = [
    {
      what: '--version',
      variants: [
        { label: 'node', sample: () => timed(node, []).ms },
        { label: 'berth', sample: () => timed(berth, ['--version']).ms },
        { label: 'docker', sample: () => timed(docker, ['--version']).ms },
      ],
    },
    {
      what: 'inspect one container',
      variants: [
        { label: 'node', sample: () => timed(node, []).ms },
        { label: 'bare', sample: () => timed(bareOf(inspectRequest), []).ms },
        { label: 'berth', sample: () => timed(berth, ['inspect', 'floor-0']).ms },
        { label: 'docker', sample: () => timed(docker, ['inspect', 'floor-0']).ms },
      ],
    },
    {
      what: 'ps with 20 running',
      variants: [
        { label: 'node', sample: () => timed(node, []).ms },
        { label: 'bare', sample: () => timed(bareOf(psRequest), []).ms },
        { label: 'berth', sample: () => timed(berth, ['ps']).ms },
        { label: 'docker', sample: () => timed(docker, ['ps']).ms },
      ],
    },
    {
      // Each sample removes a container created for it (untimed); the bare client's request names
      // it in place of the captured one (ids are all 64 hex digits: the frame lengths stay).
      what: 'rm of a stopped container',
      variants: [
        { label: 'node', sample: () => timed(node, []).ms },
        {
          label: 'bare',
          sample: () => {
            const id = created(berth);
            const request = Buffer.from(rmRequest.toString('latin1').replace(removable, id), 'latin1');
            return timed(bareOf(request), []).ms;
          },
        },
        { label: 'berth', sample: () => timed(berth, ['rm', created(berth)]).ms },
        { label: 'docker', sample: () => timed(docker, ['rm', created(docker)]).ms },
      ],
    },
  ];
  console.log(`bench/cli-floor: ${new Date().toISOString()}, ${rounds} rounds, load average ${load()}`);
  const f = (v?: number, digits = 1) => (v === undefined ? '–' : v.toFixed(digits));
  for (const { what, variants } of commands) {
    const samples: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.label, []]));
    for (const v of variants) v.sample(-1); // warm-up (the CLI's code cache, the daemons' paths)
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(r + k) % variants.length]!;
        samples[v.label]!.push(v.sample(r));
      }
    }
    const cells = variants.map((v) => {
      const s = stats(samples[v.label]!)!;
      return `${v.label} ${f(s.median)} (${f(s.p10)}–${f(s.p90)})`;
    });
    const diffs = samples.berth!.map((b, i) => b - (samples.bare ?? samples.node)![i]!);
    console.log(`${what} (ms, median (p10–p90), load ${load()})`);
    console.log(`  ${cells.join('   ')}`);
    console.log(
      `  paired: ${samples.bare ? `bare ÷ docker ${f(pairedRatio(samples.bare, samples.docker!), 2)}×, ` : ''}node ÷ docker ${f(pairedRatio(samples.node!, samples.docker!), 2)}×, ` +
        `berth ÷ docker ${f(pairedRatio(samples.berth!, samples.docker!), 2)}×, berth − ${samples.bare ? 'bare' : 'node'} ${f(stats(diffs)?.median)} ms`,
    );
  }
} finally {
  for (const e of engines.reverse()) await e.stop().catch((err: unknown) => console.error(`stopping ${e.name}: ${String(err)}`));
  rmSync(tmp, { recursive: true, force: true });
}
