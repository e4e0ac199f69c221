/**
 * The runtime agent's CPU while N containers run and print nothing: `npx tsx bench/agent-idle-cpu.ts
 * [--containers 20] [--seconds 20]`. Starts a test platform (bundles, as `berth platform up` runs
 * them), runs N `busybox sleep` containers, then reads the agent's utime + stime from /proc over the
 * window and prints ms of CPU per second, with the load average.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestPlatform } from '@berth/testing';

const { values } = parseArgs({ options: { containers: { type: 'string', default: '20' }, seconds: { type: 'string', default: '20' } } });
const containers = Number(values.containers);
const seconds = Number(values.seconds);

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, clock ticks of 10 ms
}

await using platform = await startTestPlatform();
const boot = await platform.berth(['image', 'bootstrap', 'busybox']);
if (boot.code !== 0) throw new Error(`berth image bootstrap busybox: ${boot.stderr}`);
for (let i = 0; i < containers; i++) {
  const run = await platform.berth(['run', '-d', 'busybox', 'sleep', '3600']);
  if (run.code !== 0) throw new Error(`run -d: ${run.stderr}`);
}
const agentPid = Number(readFileSync(join(platform.dataRoot, 'run', 'platform', 'runtime-agent.pid'), 'utf8'));
await new Promise((r) => setTimeout(r, 3000)); // let the starts' own work settle
const before = cpuMs(agentPid);
const start = Date.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const used = cpuMs(agentPid) - before;
const per = used / ((Date.now() - start) / 1000);
console.log(`agent CPU with ${containers} idle containers: ${per.toFixed(1)} ms/s (${used} ms over ${seconds} s), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
