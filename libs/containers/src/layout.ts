import { join } from 'node:path';

/**
 * Where a container's files live. This file owns the layout:
 *
 *   <dataRoot>/containers/           0700 (the agent closes the data root: apps/runtime-agent data-root.ts)
 *   <dataRoot>/containers/<id>/      0700, the OCI bundle (kept until the container is removed)
 *       config.json                  0600, runtime-spec config (holds `-e` values), rewritten at every start
 *       rootfs/                      mountpoint of the overlay snapshot (mounted while running)
 *       hostname                     bind-mounted at /etc/hostname
 *       hosts                        bind-mounted at /etc/hosts
 *       resolv.conf                  bind-mounted at /etc/resolv.conf
 *       ctr.log                      stdout/stderr written by conmon (k8s-file format)
 *   <dataRoot>/snapshots/            owned by @berth/snapshots; the container's snapshot key is its id
 *   <dataRoot>/trash/<id>-<n>/       0700, a removed container's bundle dir, renamed here by `rm` and
 *                                    deleted in the background (Trash of @berth/snapshots); what a
 *                                    killed agent left is swept at its next start. No size counts it.
 *   <runRoot>/                       volatile runtime state, owned by @berth/runtime (runc root,
 *                                    conmon exits/ and persist/ dirs, sockets); this library only
 *       export-<random>/             adds temporary mountpoints for `export` of a stopped container
 *
 * The record (Docker-shaped JSON) is in the metadata database, table `containers`.
 */
export class ContainerLayout {
  constructor(readonly dataRoot: string, readonly runRoot: string) {}

  get containersDir(): string {
    return join(this.dataRoot, 'containers');
  }
  get trashDir(): string {
    return join(this.dataRoot, 'trash');
  }
  bundleDir(id: string): string {
    return join(this.containersDir, id);
  }
  specPath(id: string): string {
    return join(this.bundleDir(id), 'config.json');
  }
  rootfs(id: string): string {
    return join(this.bundleDir(id), 'rootfs');
  }
  hostnamePath(id: string): string {
    return join(this.bundleDir(id), 'hostname');
  }
  hostsPath(id: string): string {
    return join(this.bundleDir(id), 'hosts');
  }
  resolvConfPath(id: string): string {
    return join(this.bundleDir(id), 'resolv.conf');
  }
  logPath(id: string): string {
    return join(this.bundleDir(id), 'ctr.log');
  }
}
