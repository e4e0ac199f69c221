import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { NotFoundError } from '@berth/errors';
import { formatPlatform, matchPlatform, parsePlatform } from '@berth/oci';
import { resolveCommand } from '@berth/runtime';
import { checkRestartPolicy, hostConfigOf, mergeConfig } from './config-merge.js';
import type { ContainerContext } from './container-context.js';
import { nameInUse } from './container-store.js';
import { crashPoint } from './crash-point.js';
import type { ContainerSnapshotter, ImageConfigLike, ImageSource } from './dependencies.js';
import { writeHostname, writeHosts, writeResolvConf } from './etc-files.js';
import { checkHealthcheck } from './health-config.js';
import { checkHostOptions, hostnameFor } from './host-options.js';
import { onUserDefinedNetwork, recordLinks } from './links.js';
import { checkLogConfig } from './log-driver.js';
import { checkResources } from './resource-options.js';
import { removeVolumes, resolveMounts, type VolumeSource } from './mounts.js';
import { generateName, normalizeName } from './names.js';
import type { ContainerNetworking } from './networking.js';
import { checkSecurityOptions } from './security-options.js';
import { parseSignal } from './signals.js';
import { createdState } from './state.js';
import type { ContainerRecord, CreateOptions } from './types.js';
import { warnOnFailure } from '@berth/log';

/** What `create` uses besides the shared context. */
export interface CreateDeps {
  images: ImageSource;
  snapshotter: Pick<ContainerSnapshotter, 'prepare' | 'remove'>;
  network?: Pick<ContainerNetworking, 'create' | 'remove'>;
  volumes?: VolumeSource;
}

/**
 * Creates a container (state `created`): resolves and unpacks the image, prepares the rw
 * snapshot, merges the config, writes the bundle dir's hostname/hosts/resolv.conf and the record.
 * Errors: InvalidArgumentError (name, command, options), ConflictError (name in use),
 * NotFoundError `No such image: x`. A failure leaves nothing behind.
 * @returns the new container's id (64 hex).
 */
export async function createContainer(ctx: ContainerContext, deps: CreateDeps, options: CreateOptions): Promise<string> {
  const restartPolicy = checkRestartPolicy(options);
  if (options.stopSignal) parseSignal(options.stopSignal);
  checkHealthcheck(options.healthcheck);
  checkSecurityOptions(options);
  checkResources(options.resources ?? {});
  checkHostOptions(options, (c) => ctx.find(c));
  const logConfig = checkLogConfig(options.logConfig);
  const name = options.name !== undefined && options.name !== '' ? normalizeName(options.name) : freshName(ctx);
  const links = recordLinks(options.links ?? [], { name, networkMode: options.network?.mode, lookup: (c) => ctx.find(c) });
  const holder = ctx.store.idByName(name);
  if (holder !== undefined) throw nameInUse(name, holder);
  if (ctx.reservedNames.has(name)) throw nameInUse(name, 'in creation');
  ctx.reservedNames.add(name);
  const id = randomBytes(32).toString('hex');
  ctx.reservedIds.add(id);
  const { layout } = ctx;
  let snapshotPrepared = false;
  let dirMade = false;
  let networkRecorded = false;
  let createdVolumes: string[] = [];
  try {
    const image = await deps.images.resolve(options.image);
    if (options.platform) checkImagePlatform(options.image, image.config, options.platform);
    const imageConfig = image.config.config ?? {};
    const argv = resolveCommand(
      { Entrypoint: imageConfig.Entrypoint ?? null, Cmd: imageConfig.Cmd ?? null },
      { entrypoint: options.entrypoint, cmd: options.cmd },
    );
    const parent = await deps.images.unpack(image.id);
    await deps.snapshotter.prepare(id, parent);
    snapshotPrepared = true;
    crashPoint('create-after-snapshot');
    const bundle = layout.bundleDir(id);
    // 0700 as Docker's containers/<id>: config.json holds the environment (`-e` secrets).
    await mkdir(bundle, { recursive: true, mode: 0o700 });
    await mkdir(layout.rootfs(id));
    dirMade = true;

    const hostname = hostnameFor(options, id.slice(0, 12));
    const config = mergeConfig(options, imageConfig, hostname);
    let networkMode = 'default';
    if (deps.network) {
      networkRecorded = true;
      const networkOptions = onUserDefinedNetwork(options.network?.mode) && links.length > 0 ? { ...options.network, links } : (options.network ?? {});
      const net = await deps.network.create({ id, name, exposedPorts: Object.keys(config.ExposedPorts ?? {}) }, networkOptions);
      networkMode = net.networkMode;
      // Docker lists `-p` and `--expose` ports among the exposed ones.
      if (net.exposedPorts.length > 0) config.ExposedPorts = Object.fromEntries(net.exposedPorts.map((key) => [key, {}]));
    }
    const mounts = await resolveMounts(
      { binds: options.binds, mounts: options.mounts, tmpfs: options.tmpfs, volumesFrom: options.volumesFrom, imageVolumes: imageConfig.Volumes },
      { volumes: deps.volumes, mountsOf: (c) => ctx.mustGet(ctx.resolve(c)).MountPoints ?? [] },
    );
    createdVolumes = mounts.created;
    // Three files, written side by side (each a thread-pool round trip on a loaded host); all
    // settled before a failure is thrown, so that the cleanup below removes them all.
    const written = await Promise.allSettled([
      writeHostname(layout.hostnamePath(id), hostname),
      writeHosts(layout.hostsPath(id), hostname, config.Domainname),
      writeResolvConf(layout.resolvConfPath(id)),
    ]);
    const failed = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    crashPoint('create-before-record');
    const record: ContainerRecord = {
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      Image: image.id,
      ImageRef: options.image,
      Path: argv[0]!,
      Args: argv.slice(1),
      Config: config,
      HostConfig: hostConfigOf({ ...options, links, logConfig }, { networkMode, restartPolicy }),
      State: createdState(),
      RestartCount: 0,
      SnapshotKey: id,
      SnapshotParent: parent,
      BundleDir: bundle,
      LogPath: layout.logPath(id),
      ResolvConfPath: layout.resolvConfPath(id),
      HostnamePath: layout.hostnamePath(id),
      HostsPath: layout.hostsPath(id),
      ManuallyStopped: false,
      HasBeenStartedBefore: false,
      MountPoints: mounts.points,
    };
    ctx.store.insert(record);
    ctx.emit('create', record);
    return id;
  } catch (err) {
    // What a failed create made is undone; what cannot be is logged (the agent's sweep retries).
    if (snapshotPrepared) await deps.snapshotter.remove(id).catch(warnOnFailure(ctx.log, { container: id, snapshot: id }, 'Cannot remove the snapshot of a failed create'));
    if (dirMade) await rm(layout.bundleDir(id), { recursive: true, force: true }).catch(warnOnFailure(ctx.log, { container: id, path: layout.bundleDir(id) }, 'Cannot remove the bundle of a failed create'));
    if (networkRecorded) await deps.network?.remove(id).catch(warnOnFailure(ctx.log, { container: id }, 'Cannot remove the network endpoints of a failed create'));
    if (deps.volumes) await removeVolumes(deps.volumes, createdVolumes).catch(warnOnFailure(ctx.log, { container: id, volumes: createdVolumes }, 'Cannot remove the volumes of a failed create'));
    throw err;
  } finally {
    ctx.reservedNames.delete(name);
    ctx.reservedIds.delete(id);
  }
}

/**
 * `--platform`: the local image must be of that platform; otherwise docker's NotFound (so that
 * `run --pull missing` pulls the platform asked for).
 */
function checkImagePlatform(ref: string, config: ImageConfigLike, wanted: string): void {
  const actual = { os: config.os ?? 'linux', architecture: config.architecture ?? '', ...(config.variant ? { variant: config.variant } : {}) };
  // `--platform linux` names the os only
  const platform = wanted.includes('/') ? parsePlatform(wanted) : { os: wanted, architecture: actual.architecture };
  if (!matchPlatform(platform)(actual)) {
    throw new NotFoundError(
      `image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(platform)}, actual: ${formatPlatform(actual)}`,
      { code: 'NO_SUCH_IMAGE' },
    );
  }
}

/** A generated `/adjective_surname` no container has or is being created with. */
function freshName(ctx: ContainerContext): string {
  for (let retry = 0; ; retry++) {
    const name = `/${generateName(retry > 5 ? retry : 0)}`;
    if (ctx.store.idByName(name) === undefined && !ctx.reservedNames.has(name)) return name;
  }
}
