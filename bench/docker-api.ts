/**
 * bench/docker-api: what the Docker Engine API adds over Berth's own gRPC API, side by side in one
 * run on one warm platform (random ports, temporary data root):
 *
 *   - `docker run --rm busybox true` through `<run-root>/docker.sock` vs `berth run --rm busybox true`
 *     (issue 13: the API adds at most 10 %);
 *   - `docker ps` vs `berth ps` with 50 running containers;
 *   - the same run without either CLI (whose start-up differs: a Go binary against node): create,
 *     wait, start and auto-remove over HTTP on docker.sock against the same calls over gRPC on
 *     api.sock, from this process — what the API layer itself costs.
 *
 * Runs alternate between the two clients so that drift of the shared machine hits both alike.
 *
 *   npx tsx bench/docker-api.ts [--runs 20] [--containers 50] [--json]
 */
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, ContainersClient, ContainerSpec, grpcTarget, unary } from '@berth/proto';
import { BERTH_CLI, startTestPlatform } from '@berth/testing';
import { timeCommand } from './time-command.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, containers: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
});
const runs = Number(values.runs);
const containers = Number(values.containers);
const DOCKER = '/usr/local/bin/docker';

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]!;
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9) };
}

function http(socketPath: string, method: string, path: string, body?: object): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const req = request({ socketPath, method, path, headers: payload ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode! < 300 ? resolve({ status: res.statusCode!, body: text }) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** `run --rm busybox true` as docker's client does it over HTTP: create, wait (next-exit), start, read the wait. */
async function runOverHttp(socketPath: string): Promise<number> {
  const t = process.hrtime.bigint();
  const { Id } = JSON.parse((await http(socketPath, 'POST', '/v1.49/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true } })).body) as { Id: string };
  const wait = http(socketPath, 'POST', `/v1.49/containers/${Id}/wait?condition=removed`);
  await http(socketPath, 'POST', `/v1.49/containers/${Id}/start`);
  await wait;
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The same over the gateway's gRPC API, as `berth run --rm -d` + wait would. */
async function runOverGrpc(c: ContainersClient): Promise<number> {
  const t = process.hrtime.bigint();
  const { id } = await unary(c, c.create, { spec: ContainerSpec.fromPartial({ image: 'busybox', cmd: ['true'], autoRemove: true }), start: false });
  const wait = unary(c, c.wait, { id, condition: 'removed' });
  await unary(c, c.start, { id });
  await wait;
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function pairAsync(n: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[number[], number[]]> {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(await a());
    ys.push(await b());
  }
  return [xs, ys];
}

/** Alternating samples of two commands. */
function pair(n: number, a: () => number, b: () => number): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < n; i++) {
    xs.push(a());
    ys.push(b());
  }
  return [xs, ys];
}

const platform = await startTestPlatform();
try {
  const berthEnv = platform.env;
  const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${join(platform.settings.runRoot, 'docker.sock')}` };
  if ((await platform.berth(['image', 'bootstrap', 'busybox'])).code !== 0) throw new Error('cannot make the busybox image');
  const dockerRun = () => timeCommand(DOCKER, ['run', '--rm', 'busybox', 'true'], dockerEnv);
  const berthRun = () => timeCommand(BERTH_CLI, ['run', '--rm', 'busybox', 'true'], berthEnv);
  pair(3, dockerRun, berthRun); // warm-up
  const [dRun, bRun] = pair(runs, dockerRun, berthRun);
  const socketPath = join(platform.settings.runRoot, 'docker.sock');
  const grpcClient = new ContainersClient(grpcTarget(platform.settings.apiAddress), grpc.credentials.createInsecure(), channelOptions);
  await pairAsync(3, () => runOverHttp(socketPath), () => runOverGrpc(grpcClient));
  const [hRun, gRun] = await pairAsync(runs, () => runOverHttp(socketPath), () => runOverGrpc(grpcClient));
  grpcClient.close();

  for (let i = 0; i < containers; i++) timeCommand(BERTH_CLI, ['run', '-d', 'busybox', 'sleep', '600'], berthEnv);
  const dockerPs = () => timeCommand(DOCKER, ['ps'], dockerEnv);
  const berthPs = () => timeCommand(BERTH_CLI, ['ps'], berthEnv);
  pair(2, dockerPs, berthPs);
  const [dPs, bPs] = pair(runs, dockerPs, berthPs);
  // The CLIs' own start-up, for reading the figures: the docker CLI is a Go binary, berth is node.
  const [dVer, bVer] = pair(Math.min(runs, 10), () => timeCommand(DOCKER, ['--version'], dockerEnv), () => timeCommand(BERTH_CLI, ['--version'], berthEnv));

  const result = {
    bench: 'docker-api',
    run: { docker: stats(dRun), berth: stats(bRun) },
    runWithoutCli: { http: stats(hRun), grpc: stats(gRun) },
    ps: { containers, docker: stats(dPs), berth: stats(bPs) },
    cliStartup: { docker: stats(dVer), berth: stats(bVer) },
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    const f = (v: number) => `${v.toFixed(0).padStart(6)} ms`;
    const row = (label: string, s: ReturnType<typeof stats>) => console.log(`  ${label.padEnd(44)} median ${f(s.median)}   p10 ${f(s.p10)}   p90 ${f(s.p90)}`);
    console.log(`run --rm busybox true (${runs} runs each, alternating)`);
    row('docker → Docker Engine API → gateway gRPC', result.run.docker);
    row('berth  → gateway gRPC', result.run.berth);
    console.log(`  docker/berth median: ${((result.run.docker.median / result.run.berth.median) * 100).toFixed(0)} %`);
    console.log(`the same run without a CLI: create, wait, start, auto-remove (${runs} runs each, alternating)`);
    row('HTTP on docker.sock (Docker Engine API)', result.runWithoutCli.http);
    row('gRPC on api.sock', result.runWithoutCli.grpc);
    console.log(`  HTTP/gRPC median: ${((result.runWithoutCli.http.median / result.runWithoutCli.grpc.median) * 100).toFixed(0)} %`);
    console.log(`ps with ${containers} running containers (${runs} runs each)`);
    row('docker ps', result.ps.docker);
    row('berth ps', result.ps.berth);
    console.log('CLI start-up alone (--version)');
    row('docker', result.cliStartup.docker);
    row('berth', result.cliStartup.berth);
  }
} finally {
  await platform.stop();
}
