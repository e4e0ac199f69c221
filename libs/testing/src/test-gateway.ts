import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, SERVICE_NODE_FLAGS, secretsOf, serviceEntry } from '@berth/platform';
import { until } from './polling.js';
import { processExists, waitForProcessExit } from './process-exit.js';
import { runCli, type CliResult } from './run-cli.js';
import { BERTH_CLI } from './test-platform.js';

/** One more gateway (apps/api) of a test cluster: the same NATS and gateway nkey, a socket of its own. */
export interface TestGateway {
  /** Its gRPC address (`unix:<run root>/api-gw<N>.sock`), BERTH_HOST for the CLI. */
  address: string;
  pid: number;
  /** Runs `./berth ARGS` against this gateway. */
  berth(args: string[], options?: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult>;
  /** Its log (JSON lines), for a failing test's message. */
  log(): string;
  /** SIGKILLs it (a gateway dying: it does not give back its lease). */
  kill(): void;
  /** SIGTERM (it gives its lease back), then SIGKILL if it has not ended within 5 s. */
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  /** The first host's data root (its secrets hold the gateway's nkey) and run root (the socket goes there). */
  dataRoot: string;
  runRoot: string;
  /** The NATS URLs it connects to, its own host's server first. */
  natsUrls: string;
  /** The CA its NATS servers' TLS certificates chain to (`--nats-ca`; libs/platform natsCaFile), when NATS speaks TLS. */
  natsCaFile?: string | undefined;
  /** The network namespace it runs in (`/run/netns/<netns>`, a test host's), else the root one. */
  netns?: string;
  /** A number of its own among the test's gateways (names its socket and log). */
  index: number;
  /**
   * Its `--cluster-secrets` (the first host's secrets directory), as `platform up` gives the first
   * gateway when agents serve TCP with the cluster's TLS: it reaches those agents with the cluster's
   * gateway certificate (and answers joins, in the same queue group as the first gateway).
   */
  clusterSecrets?: string;
}

/**
 * Starts another gateway process for a running test cluster (test-cluster.ts `startGateway`), as
 * `berth platform up` starts the first one, and resolves once it answers `node ls`. The caller
 * stops it (TestCluster.stop does, also after a failed test).
 */
export async function startTestGateway(o: TestGatewayOptions): Promise<TestGateway> {
  const address = `unix:${join(o.runRoot, `api-gw${o.index}.sock`)}`;
  const logFile = join(o.dataRoot, 'logs', `api-gw${o.index}.log`);
  const [node, ...args] = serviceEntry(REPO_ROOT, 'apps/api/src/main.ts', SERVICE_NODE_FLAGS);
  const command = [
    ...(o.netns ? ['nsenter', `--net=/run/netns/${o.netns}`] : []),
    node!,
    ...args,
    `--listen=${address}`,
    `--nats=${o.natsUrls}`,
    `--nats-nkey=${secretsOf(o.dataRoot).nkeySeedFile('api')}`,
    ...(o.natsCaFile !== undefined ? [`--nats-ca=${o.natsCaFile}`] : []),
    ...(o.clusterSecrets !== undefined ? [`--cluster-secrets=${o.clusterSecrets}`] : []),
  ];
  const out = openSync(logFile, 'a', 0o600);
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', out, out], cwd: REPO_ROOT });
  closeSync(out);
  const pid = child.pid!;
  child.unref();
  const env = { ...process.env, BERTH_HOST: address };
  const berth: TestGateway['berth'] = (cliArgs, options = {}) =>
    runCli(BERTH_CLI, cliArgs, { env: { ...env, ...options.env }, input: options.input, timeoutMs: options.timeoutMs });
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const kill = () => {
    if (processExists(pid)) process.kill(pid, 'SIGKILL');
  };
  const stop = async () => {
    if (!processExists(pid)) return;
    process.kill(pid, 'SIGTERM');
    await waitForProcessExit(pid, { timeoutMs: 5_000 }).catch(async () => {
      kill();
      await waitForProcessExit(pid);
    });
  };
  const ready = await until(() => berth(['node', 'ls', '-q']), (r) => r.code === 0 || !processExists(pid), { timeoutMs: 60_000, intervalMs: 500 });
  if (ready.code !== 0) {
    await stop();
    throw new Error(`The gateway at ${address} did not answer within 60 s: ${ready.stderr}\n${log().slice(-2_000)}`);
  }
  return { address, pid, berth, log, kill, stop };
}
