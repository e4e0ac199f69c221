import { loadProject, type Project } from '@berth/compose';
import { describe, expect, it } from 'vitest';
import { down } from './down.js';
import { EngineHealthWaiter } from './health.js';
import { Label } from './labels.js';
import { MemoryEngine } from './memory-engine.js';
import type { ProgressEvent } from './progress.js';
import type { ComposeSession } from './session.js';
import { up } from './up.js';

function project(yaml: string): Project {
  return loadProject({ cwd: '/srv/app', environment: {}, configFiles: ['-'], stdin: yaml, projectName: 'p' });
}

function session(engine = new MemoryEngine()) {
  const events: ProgressEvent[] = [];
  const warnings: string[] = [];
  const s: ComposeSession = { engine, health: new EngineHealthWaiter(engine), progress: (e) => events.push(e), warn: (w) => warnings.push(w) };
  return { s, engine, events, warnings };
}

const names = (e: MemoryEngine) => [...e.containers.values()].map((c) => c.name).sort();
const idOf = (e: MemoryEngine, name: string) => [...e.containers.values()].find((c) => c.name === name)?.id;

const app = `
services:
  db:
    image: busybox
    volumes: [data:/data, /cache]
  web:
    image: busybox
    depends_on: [db]
    environment: {MODE: one}
    deploy: {replicas: 2}
    networks: [front, default]
  worker:
    image: busybox
volumes: {data: {}}
networks: {front: {}}
`;

describe('up', () => {
  it('creates networks, volumes and one container per replica, dependencies first, with compose labels', async () => {
    const { s, engine } = session();
    await up(s, project(app));
    expect(names(engine)).toEqual(['p-db-1', 'p-web-1', 'p-web-2', 'p-worker-1']);
    expect(engine.calls.indexOf('start p-db-1')).toBeLessThan(engine.calls.indexOf('create p-web-1'));
    expect([...engine.networks.keys()].sort()).toEqual(['p_default', 'p_front']);
    expect(engine.networks.get('p_front')!.labels).toMatchObject({ [Label.network]: 'front', [Label.project]: 'p' });
    expect(engine.volumes.get('p_data')!.labels).toMatchObject({ [Label.volume]: 'data', [Label.project]: 'p' });
    const web = [...engine.containers.values()].find((c) => c.name === 'p-web-2')!;
    expect(web.spec.labels).toMatchObject({
      [Label.project]: 'p',
      [Label.service]: 'web',
      [Label.containerNumber]: '2',
      [Label.oneoff]: 'False',
      [Label.dependsOn]: 'db:service_started:false',
      [Label.image]: 'sha256:busybox1',
      [Label.workingDir]: '/srv/app',
    });
    // The first network at create (with the service name as alias), the other connected before start.
    expect(web.spec.networkMode).toBe('p_default');
    expect(web.spec.networkAliases).toEqual(['web']);
    expect(engine.calls).toContain('connect p-web-2 p_front');
    expect(engine.calls.indexOf('connect p-web-2 p_front')).toBeLessThan(engine.calls.indexOf('start p-web-2'));
  });

  it('changes nothing the second time, and recreates only the service whose configuration changed', async () => {
    const { s, engine } = session();
    await up(s, project(app));
    const before = new Map(names(engine).map((n) => [n, idOf(engine, n)]));
    const dbVolume = [...engine.containers.values()].find((c) => c.name === 'p-db-1')!.mounts.find((m) => m.Destination === '/cache')!.Name;
    engine.calls.length = 0;
    await up(s, project(app));
    expect(engine.calls).toEqual([]);
    await up(s, project(app.replace('MODE: one', 'MODE: two')));
    expect(idOf(engine, 'p-db-1')).toBe(before.get('p-db-1'));
    expect(idOf(engine, 'p-worker-1')).toBe(before.get('p-worker-1'));
    expect(idOf(engine, 'p-web-1')).not.toBe(before.get('p-web-1'));
    expect(idOf(engine, 'p-web-2')).not.toBe(before.get('p-web-2'));
    expect(engine.calls.filter((c) => c.startsWith('create'))).toEqual(['create p-web-1', 'create p-web-2'].filter((c) => engine.calls.includes(c)));
    expect(engine.calls).toContain(`rename p-web-1 ${before.get('p-web-1')!.slice(0, 12)}_p-web-1`);
    // --force-recreate keeps the anonymous volume of the replaced container.
    await up(s, project(app), { services: ['db'], recreate: 'force' });
    expect([...engine.containers.values()].find((c) => c.name === 'p-db-1')!.mounts.find((m) => m.Destination === '/cache')!.Name).toBe(dbVolume);
    await up(s, project(app), { services: ['db'], recreate: 'force', renewAnonVolumes: true });
    expect([...engine.containers.values()].find((c) => c.name === 'p-db-1')!.mounts.find((m) => m.Destination === '/cache')!.Name).not.toBe(dbVolume);
  });

  it('writes environment-sourced secrets into each container before it starts, and refuses an unset variable before creating anything', async () => {
    const file = 'services:\n  web: {image: busybox, secrets: [token]}\nsecrets: {token: {environment: TOKEN}}\n';
    const { s, engine } = session();
    const withToken = loadProject({ cwd: '/srv/app', environment: { TOKEN: 'abc' }, configFiles: ['-'], stdin: file, projectName: 'p' });
    await up(s, withToken);
    expect(engine.calls.filter((c) => c.endsWith('p-web-1') || c.startsWith('copy'))).toEqual(['create p-web-1', 'copy p-web-1 /', 'start p-web-1']);
    const fresh = session();
    await expect(up(fresh.s, project(file))).rejects.toThrow('secret "token": environment variable "TOKEN" is not set');
    expect(fresh.engine.calls).toEqual([]);
    expect(fresh.engine.networks.size).toBe(0);
  });

  it('scales up and down, removing the highest numbers and refilling gaps', async () => {
    const { s, engine } = session();
    await up(s, project(app), { scale: { web: 4 } });
    expect(names(engine).filter((n) => n.includes('web'))).toEqual(['p-web-1', 'p-web-2', 'p-web-3', 'p-web-4']);
    await up(s, project(app), { scale: { web: 1 } });
    expect(names(engine).filter((n) => n.includes('web'))).toEqual(['p-web-1']);
    await engine.removeContainer(idOf(engine, 'p-web-1')!, { force: true });
    await up(s, project(app));
    expect(names(engine).filter((n) => n.includes('web'))).toEqual(['p-web-1', 'p-web-2']);
  });

  it('warns about orphans and removes them with removeOrphans', async () => {
    const { s, engine, warnings } = session();
    await up(s, project(app));
    await up(s, project(app.replace(/ {2}worker:\n {4}image: busybox\n/, '')));
    expect(warnings[0]).toMatch(/^Found orphan containers \(p-worker-1\) for this project/);
    expect(names(engine)).toContain('p-worker-1');
    await up(s, project(app.replace(/ {2}worker:\n {4}image: busybox\n/, '')), { removeOrphans: true });
    expect(names(engine)).not.toContain('p-worker-1');
  });

  it('waits for a healthy dependency and stops with compose message when it is unhealthy', async () => {
    const yaml = `
services:
  db: {image: busybox, healthcheck: {test: [CMD, "true"]}}
  web: {image: busybox, depends_on: {db: {condition: service_healthy}}}
`;
    const ok = session();
    ok.engine.behaviour = (name) => (name === 'p-db-1' ? { health: 'healthy' } : {});
    await up(ok.s, project(yaml));
    expect(names(ok.engine)).toEqual(['p-db-1', 'p-web-1']);
    expect(ok.events).toContainEqual({ kind: 'Container', name: 'p-db-1', status: 'Healthy', done: true });

    const bad = session();
    bad.engine.behaviour = (name) => (name === 'p-db-1' ? { health: 'unhealthy' } : {});
    await expect(up(bad.s, project(yaml))).rejects.toThrow('dependency failed to start: container p-db-1 is unhealthy');
    expect(names(bad.engine)).toEqual(['p-db-1']);
  });

  it('fails when a job dependency exits non-zero, and only warns for an optional one', async () => {
    const yaml = (required: boolean) => `
services:
  init: {image: busybox}
  web: {image: busybox, depends_on: {init: {condition: service_completed_successfully, required: ${required}}}}
`;
    const bad = session();
    bad.engine.behaviour = (name) => (name === 'p-init-1' ? { exitCode: 3 } : {});
    await expect(up(bad.s, project(yaml(true)))).rejects.toThrow(`service "init" didn't complete successfully: exit 3`);
    expect(names(bad.engine)).toEqual(['p-init-1']);

    const optional = session();
    optional.engine.behaviour = (name) => (name === 'p-init-1' ? { exitCode: 3 } : {});
    await up(optional.s, project(yaml(false)));
    expect(names(optional.engine)).toEqual(['p-init-1', 'p-web-1']);
    expect(optional.warnings).toEqual([`optional dependency "init" failed to start: service "init" didn't complete successfully: exit 3`]);
  });

  it('restarts a dependent with restart: true when its dependency was recreated', async () => {
    const yaml = (v: string) => `
services:
  db: {image: busybox, environment: {V: "${v}"}}
  web: {image: busybox, depends_on: {db: {condition: service_started, restart: true}}}
`;
    const { s, engine } = session();
    await up(s, project(yaml('1')));
    engine.calls.length = 0;
    await up(s, project(yaml('2')));
    expect(engine.calls).toContain('restart p-web-1');
  });

  it('refuses --scale above 1 for a service with container_name, and creates nothing', async () => {
    const { s, engine } = session();
    await expect(up(s, project('services:\n  web: {image: busybox, container_name: solo}\n'), { scale: { web: 2 } })).rejects.toThrow(
      "services.web: can't set container_name and web as container name must be unique: scale is 2",
    );
    expect(engine.calls).toEqual([]);
  });

  it('builds a service whose image is missing, and only with --build when present', async () => {
    const yaml = 'services:\n  api: {build: {context: /srv/app}}\n';
    const { s, engine } = session();
    const builder = { context: async function* () {}, registryAuths: async () => [] };
    await up(s, project(yaml), { builder });
    expect(engine.calls.filter((c) => c.startsWith('build'))).toEqual(['build p-api']);
    await up(s, project(yaml), { builder });
    expect(engine.calls.filter((c) => c.startsWith('build'))).toHaveLength(1);
    const oldId = idOf(engine, 'p-api-1');
    await up(s, project(yaml), { builder, build: 'always' });
    expect(engine.calls.filter((c) => c.startsWith('build'))).toHaveLength(2);
    // The new image makes the container diverge.
    expect(idOf(engine, 'p-api-1')).not.toBe(oldId);
  });

  it("hands deploy.placement to the engine with each replica's create, and nothing without it", async () => {
    const { s, engine } = session();
    await up(
      s,
      project(`
services:
  web:
    image: busybox
    deploy:
      replicas: 2
      placement:
        constraints: [node.labels.zone==z1, node.role == manager]
        preferences: [{spread: node.labels.rack}]
        max_replicas_per_node: 1
  worker:
    image: busybox
`),
    );
    const placement = (name: string) => [...engine.containers.values()].find((c) => c.name === name)?.placement;
    const hints = { constraints: ['node.labels.zone==z1', 'node.role == manager'], preferences: ['spread=node.labels.rack'], maxReplicasPerNode: 1 };
    expect(placement('p-web-1')).toEqual(hints);
    expect(placement('p-web-2')).toEqual(hints);
    expect(placement('p-worker-1')).toBeUndefined();
  });
});

describe('down', () => {
  it('removes dependents first, then networks, and volumes with -v', async () => {
    const { s, engine } = session();
    await up(s, project(app));
    engine.calls.length = 0;
    await down(s, 'p', project(app), { volumes: true });
    expect(engine.containers.size).toBe(0);
    expect(engine.calls.indexOf('remove p-web-1')).toBeLessThan(engine.calls.indexOf('stop p-db-1'));
    expect(engine.networks.size).toBe(0);
    expect([...engine.volumes.keys()]).toEqual([]);
  });

  it('works from the labels alone', async () => {
    const { s, engine } = session();
    await up(s, project(app));
    await down(s, 'p', undefined);
    expect(engine.containers.size).toBe(0);
    expect(engine.volumes.has('p_data')).toBe(true);
  });
});

describe('rolling updates (deploy.update_config)', () => {
  const yaml = (version: string, extra = '') => `
services:
  web:
    image: busybox
    environment: {VERSION: "${version}"}
    healthcheck: {test: [CMD, "true"]}
    deploy:
      replicas: 3
      update_config: {parallelism: 1, order: start-first, failure_action: rollback, monitor: 300ms${extra}}
`;
  const version = (e: MemoryEngine, name: string) => [...e.containers.values()].find((c) => c.name === name)?.spec.env;

  it('replaces one replica at a time, new before old, and removes the old ones at the end', async () => {
    const { s, engine } = session();
    engine.behaviour = () => ({ health: 'healthy' });
    await up(s, project(yaml('1')));
    engine.calls.length = 0;
    await up(s, project(yaml('2')));
    expect(['p-web-1', 'p-web-2', 'p-web-3'].map((n) => version(engine, n))).toEqual([['VERSION=2'], ['VERSION=2'], ['VERSION=2']]);
    expect(engine.containers.size).toBe(3);
    const starts = engine.calls.filter((c) => c.startsWith('start p-web') || /^stop \w+_p-web/.test(c));
    // start-first: each new replica starts before its old one stops, one replica after the other.
    expect(starts.map((c) => c.replace(/ \w{12}_/, ' old_'))).toEqual([
      'start p-web-1',
      'stop old_p-web-1',
      'start p-web-2',
      'stop old_p-web-2',
      'start p-web-3',
      'stop old_p-web-3',
    ]);
  });

  it('rolls back to the very old containers when a new replica does not become healthy', async () => {
    const { s, engine } = session();
    engine.behaviour = (_name, spec) => ({ health: spec.env.includes('VERSION=2') ? 'unhealthy' : 'healthy' });
    await up(s, project(yaml('1')));
    const before = names(engine).map((n) => idOf(engine, n));
    await expect(up(s, project(yaml('2')))).rejects.toThrow(
      'service "web": update failed (container p-web-1 did not become healthy within 0.3s); rolled back to the previous configuration',
    );
    expect(names(engine)).toEqual(['p-web-1', 'p-web-2', 'p-web-3']);
    expect(names(engine).map((n) => idOf(engine, n))).toEqual(before);
    expect([...engine.containers.values()].every((c) => c.state === 'running')).toBe(true);
    // Only the first replica was tried.
    expect(engine.calls.filter((c) => c.startsWith('create'))).toEqual(['create p-web-1', 'create p-web-2', 'create p-web-3', 'create p-web-1']);
  });

  it('pauses on failure by default and continues when asked', async () => {
    const paused = session();
    paused.engine.behaviour = (_name, spec) => ({ health: spec.env.includes('VERSION=2') ? 'unhealthy' : 'healthy' });
    await up(paused.s, project(yaml('1').replace('failure_action: rollback, ', '')));
    await expect(up(paused.s, project(yaml('2').replace('failure_action: rollback, ', '')))).rejects.toThrow('service "web": update paused after a failure');
    const going = session();
    going.engine.behaviour = (_name, spec) => ({ health: spec.env.includes('VERSION=2') ? 'unhealthy' : 'healthy' });
    await up(going.s, project(yaml('1').replace('rollback', 'continue')));
    await up(going.s, project(yaml('2').replace('rollback', 'continue')));
    expect(['p-web-1', 'p-web-2', 'p-web-3'].map((n) => version(going.engine, n))).toEqual([['VERSION=2'], ['VERSION=2'], ['VERSION=2']]);
    expect(going.warnings.at(-1)).toBe('service "web": 3 of 3 replicas failed to update and were kept on the new configuration');
  });
});
