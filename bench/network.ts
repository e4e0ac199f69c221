/**
 * Network throughput of Berth's bridge networking (libs/network), on a real platform started by the
 * bench (temporary data root, random ports): TCP from the host into a container through a port
 * published on 127.0.0.1 (DNAT + masquerade of loopback clients), the same transfer straight to the
 * container's own address on its bridge (the ratio is the cost of the NAT path), and container to
 * container on one user network.
 *
 *   npx tsx bench/network.ts [--mib 256] [--runs 3]
 *
 * The receiver is busybox `nc -ll -e` with `cat >/dev/null` per connection in the container; the host sender is Node
 * (one socket, 1 MiB writes); container to container the same Node sender runs in the sending
 * container's netns (nsenter), and busybox `dd | nc` is shown too. Each figure is the best of --runs.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } });
const mib = Number(values.mib);
const runs = Number(values.runs);
if (!(mib > 0) || !(runs > 0)) throw new Error(`--mib and --runs must be positive numbers`);

const MiB = 1024 * 1024;
// A persistent listener (-ll) that hands each connection to a discarding script (stdin = socket).
const sinkScript = "printf '#!/bin/sh\\nexec cat >/dev/null\\n' >/sink && chmod +x /sink && exec nc -ll -p 5001 -e /sink";

async function must(p: TestPlatform, args: string[]): Promise<string> {
  const r = await p.berth(args, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Sends `bytes` to host:port from this process; resolves with the seconds until the receiver closed. */
async function sendFromHost(host: string, port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(MiB, 0x5a);
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const started = process.hrtime.bigint();
        const socket = connect(port, host);
        let sent = 0;
        const pump = () => {
          while (sent < bytes) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          socket.end();
        };
        socket.on('connect', pump);
        socket.on('error', reject);
        socket.resume();
        socket.on('close', (hadError) => {
          if (hadError) return;
          resolve(Number(process.hrtime.bigint() - started) / 1e9);
        });
      });
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * The same sender as sendFromHost, run by Node inside another container's network namespace
 * (nsenter --net): container-to-container traffic without busybox's small-buffer nc as the sender.
 */
async function sendFromNetns(netns: string, host: string, port: number, bytes: number): Promise<number> {
  const script = `const s=require('net').connect(${port},'${host}');const b=Buffer.alloc(${MiB});let n=0;const t=process.hrtime.bigint();
const pump=()=>{while(n<${bytes}){n+=b.length;if(!s.write(b))return s.once('drain',pump);}s.end();};
s.on('connect',pump);s.resume();s.on('close',()=>console.log(Number(process.hrtime.bigint()-t)/1e9));`;
  const { stdout } = await promisify(execFile)('nsenter', [`--net=${netns}`, process.execPath, '-e', script]);
  return Number(stdout.trim());
}

function best(samples: number[]): number {
  return Math.min(...samples);
}

const p = await startTestPlatform();
try {
  await must(p, ['image', 'bootstrap', 'busybox']);
  await must(p, ['network', 'create', '--subnet', '10.215.0.0/24', 'benchnet']);
  await must(p, ['run', '-d', '--name', 'sink', '--network', 'benchnet', '-p', '127.0.0.1::5001', 'busybox', 'sh', '-c', sinkScript]);
  const port = Number((await must(p, ['port', 'sink', '5001'])).split(':').pop());
  const ip = await must(p, ['inspect', '--format', '{{.NetworkSettings.Networks.benchnet.IPAddress}}', 'sink']);
  const bytes = mib * MiB;

  const published: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < runs; i++) {
    published.push(await sendFromHost('127.0.0.1', port, bytes));
    direct.push(await sendFromHost(ip, 5001, bytes));
  }

  // Container to container: the sender measures itself with /proc/uptime (centiseconds).
  await must(p, ['run', '-d', '--name', 'sender', '--network', 'benchnet', 'busybox', 'sleep', '3600']);
  const between: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = await must(p, [
      'exec',
      'sender',
      'sh',
      '-c',
      `a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero bs=1048576 count=${mib} 2>/dev/null | nc sink 5001; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b`,
    ]);
    const [a, b] = out.split(/\s+/).map(Number) as [number, number];
    between.push(Math.max(b - a, 0.01));
  }

  const senderNetns = await must(p, ['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', 'sender']);
  const betweenNode: number[] = [];
  for (let i = 0; i < runs; i++) betweenNode.push(await sendFromNetns(senderNetns, ip, 5001, bytes));

  const rate = (seconds: number) => (mib / seconds).toFixed(0).padStart(8);
  console.log(`TCP throughput, ${mib} MiB per transfer, best of ${runs} (MiB/s)`);
  console.log(`  host -> container, published 127.0.0.1:${port}  ${rate(best(published))}`);
  console.log(`  host -> container, its address ${ip.padEnd(13)}  ${rate(best(direct))}`);
  console.log(`  published / direct                            ${(best(direct) / best(published)).toFixed(2).padStart(8)}`);
  console.log(`  container -> container, Node sender          ${rate(best(betweenNode))}`);
  console.log(`  container -> container, busybox dd | nc       ${rate(best(between))}  (busybox nc's small writes)`);
} finally {
  await p.berth(['rm', '-f', 'sink', 'sender']).catch(() => {});
  await p.berth(['network', 'rm', 'benchnet']).catch(() => {});
  await p.stop();
}
