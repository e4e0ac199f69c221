/**
 * CPU (user + sys) of CLI processes, the figure of bench/README.md's "CLI figures": each command
 * line run by each CLI variant in turn, the order rotating every round, on a test platform with 20
 * running containers (started here and removed afterwards, or BERTH_HOST's when set).
 *
 *   npx tsx bench/cli-cpu.ts [--rounds 12] [--cli 'label=shell words' ...] [--commands 'ps;inspect bench-0']
 *
 * Default variants: the bundle with its code cache, the bundle without it, and `node` on an empty
 * file (Node's own start). `--cli 'old=node /tmp/old-dist/main.mjs'` compares another build (copy
 * apps/cli/dist away before rebuilding). Run `bash scripts/build-cli` first. Prints each variant's
 * median and, for each other variant, the median of its round-by-round difference from the first.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@berth/platform';
import { startTestPlatform, tempDir, type TestPlatform } from '@berth/testing';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    cli: { type: 'string', multiple: true },
    commands: { type: 'string', default: '--version;ps;inspect bench-cpu-0;rm bench-cpu-missing' },
  },
});
const scratch = tempDir('berth-cli-cpu-');
const empty = join(scratch.path, 'empty.mjs');
writeFileSync(empty, '');
const bundle = join(REPO_ROOT, 'apps/cli/dist/main.cjs');
const variants = (values.cli ?? [`cached=node ${bundle}`, `no-cache=BERTH_CLI_CODE_CACHE=off node ${bundle}`, `node=node ${empty}`]).map((v) => {
  const at = v.indexOf('=');
  return { label: v.slice(0, at), command: v.slice(at + 1) };
});
const commands = values.commands.split(';');

let platform: TestPlatform | undefined;
let host = process.env.BERTH_HOST;
try {
  if (!host) {
    platform = await startTestPlatform();
    host = platform.settings.apiAddress;
    const boot = await platform.berth(['image', 'bootstrap', 'busybox']);
    if (boot.code !== 0) throw new Error(`berth image bootstrap busybox: ${boot.stderr}`);
    for (let i = 0; i < 20; i++) {
      const r = await platform.berth(['run', '-d', '--name', `bench-cpu-${i}`, 'busybox', 'sleep', '3600']);
      if (r.code !== 0) throw new Error(`berth run: ${r.stderr}`);
    }
  }
  const samples = new Map<string, number[]>();
  for (let round = 0; round <= Number(values.rounds); round++) {
    for (const words of commands) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + round) % variants.length]!;
        // `|| true`: a command that fails on purpose (rm of a missing name) is measured all the same.
        const script = `TIMEFORMAT='%3U %3S'; time (${v.command} ${words} >/dev/null 2>&1 || true)`;
        const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, BERTH_HOST: host } });
        const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
        if (round === 0) continue; // the first round makes the code caches
        const key = `${words} | ${v.label}`;
        samples.set(key, [...(samples.get(key) ?? []), (user! + sys!) * 1000]);
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  for (const [key, xs] of samples) {
    console.log(`${key.padEnd(44)} CPU ${median(xs).toFixed(0).padStart(4)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`);
  }
  // Each variant against the first, round by round (the same command, moments apart): steadier
  // than the difference of the medians when the load moves.
  for (const words of commands) {
    const first = samples.get(`${words} | ${variants[0]!.label}`)!;
    for (const v of variants.slice(1)) {
      const xs = samples.get(`${words} | ${v.label}`)!;
      const diffs = xs.map((x, i) => x - first[i]!);
      const lower = diffs.filter((d) => d < 0).length;
      console.log(`${`${words} | ${v.label} − ${variants[0]!.label}`.padEnd(44)} paired median ${median(diffs).toFixed(1).padStart(6)} ms (${lower} of ${diffs.length} rounds lower)`);
    }
  }
  console.log(`load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await platform?.stop();
  scratch.remove();
}
