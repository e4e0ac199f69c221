import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@berth/errors';
import { LOG_LEVELS, type LogLevel } from '@berth/log';
import {
  DEFAULT_DATA_ROOT,
  clusterJoinToken,
  firstHostAddress,
  parseJoinUrls,
  platformDown,
  platformLogFiles,
  platformSettings,
  platformStatus,
  platformUp,
  type PlatformOptions,
} from '@berth/platform';
import { platformLogs } from './platform-logs.js';

const usage = `Usage:  berth platform COMMAND [OPTIONS]

Start, stop and check this host's Berth services (nats-server, runtime agent, image builder, gateway, registry)

Commands:
  up          Start the services in the background and wait until they answer (idempotent); with
              --join, join another machine's cluster: start this host's agent and builder only
  join        Start this host's agent and builder only, joined to the cluster of --cluster's host
              on this machine (its NATS, registry and gateway); "down" and "status" then act on this
              host's two
  join-token  Print the token another machine joins this cluster with (this first host needs an
              --address): berth platform join-token [--rotate] [-q]
  down        Stop the services (containers keep running; the next "up" adopts them)
  status      Show each service, its pid and health
  logs        Show the services' logs: berth platform logs [SERVICE] [-f] [--tail N] [--raw]

Options (up saves them in the data root's platform.json; later runs keep them):
      --data-root string          Where Berth keeps its data (default "${DEFAULT_DATA_ROOT}")
      --cluster string            join: the data root of the cluster's first host (on this machine)
      --join string               up: join the cluster whose first host's NATS is at nats://HOST:PORT[,…] (another
                                  machine; needs --address and the token): as "docker swarm join"
      --token string              up --join: the cluster's join token (also BERTH_JOIN_TOKEN), from
                                  "berth platform join-token" on its first host
      --rotate                    join-token: make a new token; the old one is refused from then on
  -q, --quiet                     join-token: print the token only
      --nats-cluster              up: make this first host's nats-server one of a NATS cluster: every host that
                                  joins (--join with the token, or join --cluster) runs its own, routed to the
                                  others (JetStream waits for 2: this "up" answers the second host's join
                                  meanwhile; with 3 its streams keep 3 replicas and survive one server's loss)
      --address string            This host's IPv4 address between hosts: its nats-server and registry listen
                                  there, the other hosts reach them there (default: 127.0.0.1 only); its
                                  agent and builder also serve there on TCP with mutual TLS (the cluster
                                  CA's certificates), for the gateway of another machine
      --node-name string          This host's name in the cluster (default: the machine's hostname)
      --label list                This host's node labels (key=value), which placement constraints match
      --group string              Members of this group may use the API socket (0660 root:GROUP), as docker's
                                  "docker" group; "" for root only (the default)
      --log-level string          The services' log level: debug, info, warn or error (default: BERTH_LOG_LEVEL,
                                  else info)
      --listen string             API address: unix:/path (default unix:/run/berth/api.sock) or tcp://host:port,
                                  which needs --tlsverify with the three files below
      --registry-port int         The registry's port on 127.0.0.1 (default: 5000 when free, else the next free
                                  port; kept in platform.json)
      --registry-anonymous-push   Let anyone push to and delete from the platform registry (default: only with
                                  the platform's credentials, which berth push uses by itself; pulls are open);
                                  --no-registry-anonymous-push undoes it
      --runtime string            OCI runtime: runc or crun (default "runc"; crun falls back to runc where it cannot run)
      --tlsverify                 Serve TCP with TLS and require client certificates signed by --tlscacert
      --tlscacert string          CA that signs the clients' certificates
      --tlscert string            The API's TLS certificate
      --tlskey string             The API's TLS key
`;

/** `berth platform up|join|down|status`. */
export async function platformCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(usage);
    return command === undefined ? 1 : 0;
  }
  if (command === 'logs') return logsCommand(rest);
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        'data-root': { type: 'string' },
        cluster: { type: 'string' },
        join: { type: 'string' },
        token: { type: 'string' },
        rotate: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        'nats-cluster': { type: 'boolean' },
        address: { type: 'string' },
        'node-name': { type: 'string' },
        label: { type: 'string', multiple: true },
        runtime: { type: 'string' },
        'log-level': { type: 'string' },
        group: { type: 'string' },
        listen: { type: 'string' },
        'registry-port': { type: 'string' },
        'registry-anonymous-push': { type: 'boolean' },
        'no-registry-anonymous-push': { type: 'boolean' },
        tlsverify: { type: 'boolean' },
        tlscacert: { type: 'string' },
        tlscert: { type: 'string' },
        tlskey: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message.split('\n')[0]}\nSee 'berth platform --help'.`);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (values.runtime !== undefined && values.runtime !== 'runc' && values.runtime !== 'crun') {
    throw new InvalidArgumentError(`Invalid --runtime "${values.runtime}": expected runc or crun`);
  }
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new InvalidArgumentError(`Invalid --log-level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const tlsFlags = [values.tlscacert, values.tlscert, values.tlskey];
  if (values.tlsverify && tlsFlags.some((f) => f === undefined)) {
    throw new InvalidArgumentError('--tlsverify needs --tlscacert, --tlscert and --tlskey');
  }
  if (!values.tlsverify && tlsFlags.some((f) => f !== undefined)) throw new InvalidArgumentError('--tlscacert, --tlscert and --tlskey need --tlsverify');
  const registryPort = values['registry-port'];
  if (registryPort !== undefined && !(/^\d+$/.test(registryPort) && Number(registryPort) >= 1 && Number(registryPort) <= 65535)) {
    throw new InvalidArgumentError(`Invalid --registry-port "${registryPort}": expected a port number from 1 to 65535`);
  }
  const listen = values.listen?.replace(/^unix:\/\//, 'unix:');
  const labels: Record<string, string> = {};
  for (const pair of values.label ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`Invalid --label "${pair}": expected key=value`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (command === 'join' && values.cluster === undefined) throw new InvalidArgumentError('"berth platform join" needs --cluster DATA_ROOT (the first host\'s data root)');
  if (command === 'join' && values['data-root'] === undefined) throw new InvalidArgumentError('"berth platform join" needs --data-root: this host\'s own data root, not the first host\'s');
  if (values.cluster !== undefined && command !== 'join') throw new InvalidArgumentError('--cluster applies to "berth platform join" only');
  if (values.join !== undefined && command !== 'up') throw new InvalidArgumentError('--join applies to "berth platform up" only');
  if (values.join !== undefined && values['nats-cluster']) throw new InvalidArgumentError('--join and --nats-cluster do not go together: --nats-cluster makes a first host');
  const token = values.token ?? process.env.BERTH_JOIN_TOKEN;
  if (values.token !== undefined && values.join === undefined) throw new InvalidArgumentError('--token applies to "berth platform up --join" only');
  if (values.join !== undefined && token === undefined) {
    throw new InvalidArgumentError('"berth platform up --join" needs the join token: --token TOKEN, or BERTH_JOIN_TOKEN (`berth platform join-token` on the first host)');
  }
  if ((values.rotate || values.quiet) && command !== 'join-token') throw new InvalidArgumentError('--rotate and --quiet apply to "berth platform join-token" only');
  if (values['nats-cluster'] && command !== 'up') throw new InvalidArgumentError('--nats-cluster applies to "berth platform up" (the first host) only');
  const options: PlatformOptions = {
    dataRoot: values['data-root'],
    ...(values.cluster !== undefined ? { join: values.cluster } : {}),
    ...(values.join !== undefined ? { joinNats: parseJoinUrls(values.join), ...(token !== undefined ? { joinToken: token } : {}) } : {}),
    ...(values['nats-cluster'] ? { natsCluster: true } : {}),
    ...(values.address !== undefined ? { address: values.address } : {}),
    ...(values['node-name'] !== undefined ? { nodeName: values['node-name'] } : {}),
    ...(values.label !== undefined ? { labels } : {}),
    runtime: values.runtime as 'runc' | 'crun' | undefined,
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(listen !== undefined ? { apiAddress: listen } : {}),
    // A unix --listen without TLS flags drops TLS saved for an earlier TCP address.
    ...(values.tlsverify
      ? { tls: { ca: resolve(values.tlscacert!), cert: resolve(values.tlscert!), key: resolve(values.tlskey!) } }
      : listen?.startsWith('unix:')
        ? { tls: null }
        : {}),
    ...(registryPort !== undefined ? { registryPort: Number(registryPort) } : {}),
    ...(logLevel !== undefined ? { logLevel: logLevel as LogLevel } : {}),
    ...(values['registry-anonymous-push'] ? { registryAnonymousPush: true } : {}),
    ...(values['no-registry-anonymous-push'] ? { registryAnonymousPush: false } : {}),
  };
  const log = (line: string) => process.stdout.write(`${line}\n`);
  switch (command) {
    case 'join':
    case 'up': {
      const settings = await platformUp(options, log);
      if (settings.joinedNats !== undefined) {
        // Another machine's host: its agent and builder only; the cluster's gateway is on the first host.
        log(`Berth is up: data root ${settings.dataRoot}, joined to the cluster at ${settings.joinedNats.join(',')}`);
        log(`Use the first host's gateway; "berth run --node ${settings.nodeName ?? hostname()}" places containers here`);
        return 0;
      }
      log(`Berth is up: data root ${settings.dataRoot}, API ${settings.apiAddress}`);
      log(`Registry: ${firstHostAddress(settings)}:${settings.registryPort}`);
      if (settings.apiAddress !== 'unix:/run/berth/api.sock') log(`Use it with: export BERTH_HOST=${settings.apiAddress}`);
      return 0;
    }
    case 'join-token': {
      const { token: joinToken, url } = await clusterJoinToken({ dataRoot: values['data-root'], rotate: values.rotate });
      if (values.quiet) {
        log(joinToken);
        return 0;
      }
      if (values.rotate) log('Made a new join token: the old one is refused from now on.\n');
      log('To add a host to this cluster, run this on it (its own IPv4 address as ADDRESS):\n');
      log(`    berth platform up --join ${url} --token ${joinToken} --address ADDRESS\n`);
      log('The token lets any host join: keep it secret; "berth platform join-token --rotate" replaces it.');
      return 0;
    }
    case 'down':
      await platformDown(options, log);
      log('Berth is down (containers keep running)');
      return 0;
    case 'status': {
      const services = await platformStatus(options);
      const rows = [['SERVICE', 'PID', 'STATUS', 'LOG'], ...services.map((s) => [s.name, s.pid ? String(s.pid) : '-', s.running ? (s.healthy ? 'healthy' : 'starting') : 'stopped', s.log])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join(''));
      const settings = await platformSettings(options);
      log(`\nRegistry: ${firstHostAddress(settings)}:${settings.registryPort}`);
      return services.every((s) => s.healthy) ? 0 : 1;
    }
    default:
      throw new InvalidArgumentError(`Unknown platform command "${command}": expected up, join, join-token, down, status or logs\nSee 'berth platform --help'.`);
  }
}

const logsUsage = `Usage:  berth platform logs [OPTIONS] [SERVICE]

Show the services' logs (<data-root>/logs/<service>.log): all services interleaved by time, each line
prefixed with its service, or only SERVICE's

Options:
      --data-root string   Where Berth keeps its data (default "${DEFAULT_DATA_ROOT}")
  -f, --follow             Follow log output
      --raw                Print the lines as written (one JSON object per event)
  -n, --tail string        Number of lines to show from the end of each log (default "all")
`;

/** `berth platform logs [SERVICE] [-f] [--tail N] [--raw]`. */
async function logsCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'data-root': { type: 'string' },
        follow: { type: 'boolean', short: 'f' },
        raw: { type: 'boolean' },
        tail: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message.split('\n')[0]}\nSee 'berth platform logs --help'.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(logsUsage);
    return 0;
  }
  if (positionals.length > 1) throw new InvalidArgumentError(`"berth platform logs" takes at most one service, not ${positionals.length}\nSee 'berth platform logs --help'.`);
  const tail = values.tail === undefined || values.tail === 'all' ? undefined : /^\d+$/.test(values.tail) ? Number(values.tail) : NaN;
  if (Number.isNaN(tail)) throw new InvalidArgumentError(`Invalid --tail "${values.tail}": expected a number of lines or "all"`);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  await platformLogs(await platformLogFiles({ dataRoot: values['data-root'] }), {
    service: positionals[0],
    tail,
    follow: values.follow,
    raw: values.raw,
    write: (text) => process.stdout.write(text),
    signal: controller.signal,
  });
  return 0;
}
