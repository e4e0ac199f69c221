import { describe, expect, it } from 'vitest';
import { NotFoundError } from '@berth/errors';
import { psFilter, type ContainerLinks } from './container-filters.js';
import { createdState } from './state.js';
import { testRecord } from './test-support.js';
import type { ContainerRecord, ContainerState } from './types.js';

const hex = (c: string) => c.repeat(64).slice(0, 64);
const started = '2026-11-22T10:00:00Z';

function record(name: string, id: string, o: { state?: Partial<ContainerState>; labels?: Record<string, string>; image?: string; mounts?: ContainerRecord['MountPoints'] } = {}): ContainerRecord {
  return testRecord(id, {
    Name: `/${name}`,
    Created: started,
    Image: o.image ?? `sha256:${hex('a')}`,
    Path: 'sh',
    Config: { Labels: o.labels ?? {} } as ContainerRecord['Config'],
    State: { ...createdState(), ...o.state },
    MountPoints: o.mounts,
  });
}

const up = { Status: 'running', Running: true, StartedAt: started } as const;
// Newest first, as `ps` lists them.
const web = record('web', `c1${hex('1')}`.slice(0, 64), {
  state: up,
  labels: { tier: 'front', env: 'prod' },
  mounts: [{ Type: 'volume', Name: 'webdata', Source: '/v/webdata/_data', Destination: '/data', Mode: '', RW: true, Propagation: '' }],
});
const db = record('db', `c2${hex('2')}`.slice(0, 64), { state: up, labels: { tier: 'back' }, image: `sha256:${hex('b')}` });
const job = record('job', `d3${hex('3')}`.slice(0, 64), { state: { Status: 'exited', ExitCode: 3, StartedAt: started, FinishedAt: started } });
const done = record('done', `d4${hex('4')}`.slice(0, 64), { state: { Status: 'exited', ExitCode: 0, StartedAt: started, FinishedAt: started } });
const fresh = record('fresh', `e5${hex('5')}`.slice(0, 64));
const all = [web, db, job, done, fresh];

const links: Record<string, ContainerLinks> = {
  [web.Id]: { Ports: [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], Networks: { frontnet: { NetworkID: 'fa11' + hex('f').slice(4) } } },
  [db.Id]: { Ports: [{ PrivatePort: 5432, Type: 'tcp' }], Networks: { backnet: { NetworkID: 'bb22' + hex('b').slice(4) } } },
};

async function names(filters: Record<string, string[]>): Promise<string[]> {
  const filter = await psFilter(filters, {
    resolve: (v) => {
      const hit = all.find((r) => r.Id === v || r.Name === `/${v}` || r.Id.startsWith(v));
      if (!hit) throw new NotFoundError(`No such container: ${v}`);
      return hit.Id;
    },
    ancestors: async (refs) => new Set(refs.includes('postgres') ? [`sha256:${hex('b')}`] : []),
    ids: all.map((r) => r.Id),
  });
  return filter.apply(all, (r) => links[r.Id]).map((r) => r.Name.slice(1));
}

describe("psFilter (docker ps --filter, moby's includeContainerInList)", () => {
  it('label: every label filter must hold (AND)', async () => {
    expect(await names({ label: ['tier=front', 'env=prod'] })).toEqual(['web']);
    expect(await names({ label: ['tier=front', 'env=dev'] })).toEqual([]);
    expect(await names({ label: ['tier'] })).toEqual(['web', 'db']);
  });

  it('status, name, id: several values are alternatives (OR)', async () => {
    expect(await names({ status: ['exited', 'created'] })).toEqual(['job', 'done', 'fresh']);
    expect(await names({ name: ['web', 'db'] })).toEqual(['web', 'db']);
    expect(await names({ name: ['^/?d'] })).toEqual(['db', 'done']);
    expect(await names({ id: [web.Id.slice(0, 4), db.Id.slice(0, 4)] })).toEqual(['web', 'db']);
    // an ambiguous prefix finds nothing, as Docker's truncindex
    expect(await names({ id: ['d'] })).toEqual([]);
    await expect(names({ status: ['sleeping'] })).rejects.toThrow("invalid filter 'status=sleeping'");
  });

  it('different keys AND', async () => {
    expect(await names({ status: ['running'], label: ['tier=back'] })).toEqual(['db']);
    expect(await names({ status: ['exited'], name: ['web'] })).toEqual([]);
  });

  it('exited: stopped containers that ran, by exit code', async () => {
    expect(await names({ exited: ['3'] })).toEqual(['job']);
    expect(await names({ exited: ['0', '3'] })).toEqual(['job', 'done']);
    await expect(names({ exited: ['x'] })).rejects.toThrow('strconv.Atoi: parsing "x": invalid syntax');
  });

  it('before / since: by position in the list, by name or id', async () => {
    expect(await names({ before: ['db'] })).toEqual(['job', 'done', 'fresh']);
    expect(await names({ since: ['job'] })).toEqual(['web', 'db']);
    expect(await names({ since: ['done'], before: ['web'] })).toEqual(['db', 'job']);
    await expect(names({ since: ['nosuch'] })).rejects.toThrow('No such container: nosuch');
  });

  it('health, isolation, is-task', async () => {
    expect(await names({ health: ['none'] })).toEqual(['web', 'db', 'job', 'done', 'fresh']);
    expect(await names({ isolation: ['default'] })).toHaveLength(5);
    expect(await names({ isolation: ['hyperv'] })).toEqual([]);
    expect(await names({ 'is-task': ['false'] })).toHaveLength(5);
    expect(await names({ 'is-task': ['true'] })).toEqual([]);
    await expect(names({ 'is-task': ['maybe'] })).rejects.toThrow("invalid filter 'is-task=[maybe]'");
  });

  it('volume: by volume name or destination', async () => {
    expect(await names({ volume: ['webdata'] })).toEqual(['web']);
    expect(await names({ volume: ['/data'] })).toEqual(['web']);
    expect(await names({ volume: ['other'] })).toEqual([]);
  });

  it('network: by name or id prefix', async () => {
    expect(await names({ network: ['frontnet'] })).toEqual(['web']);
    expect(await names({ network: ['bb22'] })).toEqual(['db']);
    expect(await names({ network: ['frontnet', 'backnet'] })).toEqual(['web', 'db']);
  });

  it('publish / expose: a published or a container port, ranges and protocols', async () => {
    expect(await names({ publish: ['8080'] })).toEqual(['web']);
    expect(await names({ publish: ['8000-8100/tcp'] })).toEqual(['web']);
    expect(await names({ publish: ['8080/udp'] })).toEqual([]);
    expect(await names({ expose: ['5432'] })).toEqual(['db']);
    expect(await names({ expose: ['80', '5432'] })).toEqual(['web', 'db']);
    await expect(names({ publish: ['80:80'] })).rejects.toThrow("filter for 'publish' should not contain ':': 80:80");
  });

  it('ancestor: the images the caller resolved', async () => {
    expect(await names({ ancestor: ['postgres'] })).toEqual(['db']);
    expect(await names({ ancestor: ['nosuch'] })).toEqual([]);
  });

  it("refuses an unknown key with docker's message", async () => {
    await expect(names({ colour: ['red'] })).rejects.toThrow("invalid filter 'colour'");
  });

  it('a status filter lists stopped containers as -a does', async () => {
    const filter = await psFilter({ status: ['exited'] }, { resolve: (v) => v, ancestors: async () => new Set(), ids: [] });
    expect(filter.all).toBe(true);
  });
});
