import { loadProject } from '@berth/compose';
import { describe, expect, it } from 'vitest';
import { containerPlan } from './container-spec.js';

function plan(yaml: string, service = 'web', extra: { anonymousVolumes?: Record<string, string> } = {}) {
  const project = loadProject({ cwd: '/srv/app', environment: { HOME: '/root' }, configFiles: ['-'], stdin: yaml, projectName: 'p' });
  return containerPlan({
    project,
    serviceName: service,
    service: project.services[service]!,
    name: `p-${service}-1`,
    image: 'busybox',
    labels: {},
    containerOf: (svc) => `p-${svc}-1`,
    ...extra,
  });
}

describe('containerPlan', () => {
  it('turns ports, environment, restart, resources and stop settings into the create request', () => {
    const { spec, warnings } = plan(`
services:
  web:
    image: busybox
    command: [httpd, -f]
    entrypoint: [/bin/sh, -c]
    environment: {A: "1", UNSET: null}
    ports: ["8080:80", "127.0.0.1::53/udp", "9000"]
    restart: on-failure:3
    mem_limit: 64m
    cpus: 0.5
    stop_grace_period: 1m30s
    extra_hosts: ["db=10.0.0.5"]
    cap_add: [NET_ADMIN]
    healthcheck: {test: [CMD-SHELL, "wget -q localhost"], interval: 2s, retries: 5}
    sysctls: {net.core.somaxconn: "1024"}
`);
    expect(spec.cmd).toEqual(['httpd', '-f']);
    expect(spec.entrypoint).toEqual({ args: ['/bin/sh', '-c'] });
    expect(spec.env).toEqual(['A=1']);
    expect(spec.publish).toEqual(['8080:80/tcp', '127.0.0.1::53/udp', '9000/tcp']);
    expect(spec.restartPolicy).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(spec.resources).toEqual({
      memory: 64 * 1024 * 1024,
      nanoCpus: 500_000_000,
      pidsLimit: 0,
      memorySwap: 0,
      memoryReservation: 0,
      cpuShares: 0,
      cpusetCpus: '',
      oomKillDisable: false,
      ulimits: [],
      devices: [],
    });
    expect(spec.stopTimeout).toBe(90);
    expect(spec.extraHosts).toEqual(['db=10.0.0.5']);
    expect(spec.security).toEqual({ privileged: false, capAdd: ['NET_ADMIN'], capDrop: [], readOnly: false, securityOpt: [] });
    expect(spec.healthcheck).toEqual({ test: ['CMD-SHELL', 'wget -q localhost'], intervalNs: 2e9, timeoutNs: 0, startPeriodNs: 0, startIntervalNs: 0, retries: 5 });
    expect(spec.sysctls).toEqual({ 'net.core.somaxconn': '1024' }); // `docker run --sysctl` (parity-commands)
    expect(warnings).toEqual([]);
  });

  it("passes docker run's resource, namespace and logging options on as `docker run` flags would", () => {
    const { spec, warnings } = plan(`
services:
  web:
    image: busybox
    mem_limit: 64m
    memswap_limit: -1
    mem_reservation: 32m
    cpu_shares: 512
    cpuset: "0"
    oom_kill_disable: true
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 64}
    devices: ["/dev/fuse:/dev/fuse:rw"]
    shm_size: 128m
    ipc: service:db
    pid: host
    cgroup: host
    group_add: [audio]
    logging: {driver: local, options: {max-size: 1m}}
  db:
    image: busybox
`);
    expect(spec.resources).toMatchObject({
      memorySwap: -1,
      memoryReservation: 32 * 1024 * 1024,
      cpuShares: 512,
      cpusetCpus: '0',
      oomKillDisable: true,
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 2048 },
        { name: 'nproc', soft: 64, hard: 64 },
      ],
      devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', cgroupPermissions: 'rw' }],
    });
    expect({ shm: spec.shmSize, ipc: spec.ipcMode, pid: spec.pidMode, groups: spec.groupAdd }).toEqual({ shm: 128 * 1024 * 1024, ipc: 'container:p-db-1', pid: 'host', groups: ['audio'] });
    expect(spec.logConfig).toEqual({ type: 'local', config: { 'max-size': '1m' } });
    expect(spec.cgroupnsMode).toBe('host');
    expect(warnings).toEqual([]);
  });

  it('mounts named, anonymous (inherited), bind and tmpfs volumes and file secrets', () => {
    const { spec } = plan(
      `
services:
  web:
    image: busybox
    volumes: [data:/data, /cache, ./conf:/etc/conf:ro, {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}]
    secrets: [token, {source: token, target: other}]
    configs: [{source: site, target: /etc/site.conf}]
volumes: {data: {}}
secrets: {token: {file: ./token.txt}}
configs: {site: {file: ./site.conf}}
`,
      'web',
      { anonymousVolumes: { '/cache': 'a'.repeat(64), '/image-volume': 'b'.repeat(64) } },
    );
    const mounts = spec.mounts.map((m) => `${m.type} ${m.source} ${m.target}${m.readOnly ? ' ro' : ''}`);
    expect(mounts).toEqual([
      'volume p_data /data',
      `volume ${'a'.repeat(64)} /cache`,
      'tmpfs  /tmp',
      `volume ${'b'.repeat(64)} /image-volume`,
      'bind /srv/app/token.txt /run/secrets/token ro',
      'bind /srv/app/token.txt /run/secrets/other ro',
      'bind /srv/app/site.conf /etc/site.conf ro',
    ]);
    expect(spec.binds).toEqual(['/srv/app/conf:/etc/conf:ro']);
  });

  it('shares another service container network namespace and volumes', () => {
    const { spec, extraNetworks } = plan(`
services:
  app: {image: busybox}
  web: {image: busybox, network_mode: "service:app", volumes_from: ["app:ro"]}
`);
    expect(spec.networkMode).toBe('container:p-app-1');
    expect(spec.networkAliases).toEqual([]);
    expect(extraNetworks).toEqual([]);
    expect(spec.volumesFrom).toEqual(['p-app-1:ro']);
  });

  it('mounts file secrets only, warning that their uid, gid and mode are ignored, and refuses external ones', () => {
    const { spec, warnings } = plan(`
services:
  web: {image: busybox, secrets: [{source: f, mode: 0400}, e]}
secrets: {f: {file: ./f.txt}, e: {environment: HOME}}
`);
    expect(spec.mounts.map((m) => `${m.source} ${m.target}`)).toEqual(['/srv/app/f.txt /run/secrets/f']);
    expect(warnings).toEqual(['secrets `uid`, `gid` and `mode` are not supported for file sources, they will be ignored']);
    expect(() => plan('services:\n  web: {image: busybox, secrets: [s]}\nsecrets: {s: {external: true}}\n')).toThrow(
      'secret "s": external secrets are a Swarm feature and not supported',
    );
  });

  it('gives links and external_links as per-container aliases on the first project network, legacy links on the bridge', () => {
    const { spec } = plan(`
services:
  db: {image: busybox}
  web: {image: busybox, links: ["db:database", db], external_links: ["shared-cache:cache"]}
`);
    expect(spec.links).toEqual(['db:database', 'db:db', 'shared-cache:cache']);
    const bridge = plan('services:\n  db: {image: busybox}\n  web: {image: busybox, network_mode: bridge, links: ["db:database"]}\n');
    expect(bridge.spec.links).toEqual(['p-db-1:database']);
    const host = plan('services:\n  db: {image: busybox}\n  web: {image: busybox, network_mode: host, links: ["db:database"]}\n');
    expect(host.spec.links).toEqual([]);
  });
});
