/**
 * The narrow views of the other libraries that the container manager uses. The real classes
 * (`ImageStore`, `OverlaySnapshotter`) satisfy them structurally; tests could pass fakes. Keeping
 * them here documents exactly which verbs the lifecycle depends on. The runtime's roles
 * (`RuntimeLifecycle`, `RuntimeExits`, `RuntimeIo`, `RuntimeStats`) come from @berth/runtime.
 */

import type { HealthConfig } from './health-config.js';

/** From @berth/images `ImageStore`. */
export interface ImageSource {
  /** NotFoundError `No such image: x`. `size`: the bytes of its layers, uncompressed (ps -s's "virtual"). */
  resolve(refOrId: string): Promise<{ id: string; config: ImageConfigLike; size?: number }>;
  /** Ids of the images made from this one (commit, builds that record a parent), for `ps --filter ancestor`. */
  children?(imageId: string): string[];
  /** The id of the image a reference names, from the index alone (no record read); NotFoundError as `resolve`. */
  idOf?(refOrId: string): string;
  /** Makes sure every layer is an unpacked committed snapshot; the top chain id (undefined: no layers). */
  unpack(imageId: string): Promise<string | undefined>;
}

/** The parts of an OCI image config the container config is merged from. */
export interface ImageConfigLike {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    OnBuild?: string[] | null;
    Healthcheck?: HealthConfig;
    Shell?: string[];
  };
}

/** From @berth/snapshots. */
export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
  cwd?: string;
}

export interface ContainerSnapshotter {
  prepare(key: string, parent?: string): Promise<MountSpec[]>;
  mounts(key: string): Promise<MountSpec[]>;
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  upperDir(key: string): string;
  lowerDirs(key: string): string[] | Promise<string[]>;
  /** Every snapshot (to sweep what a crashed create left). */
  list(): Promise<Array<{ key: string; kind: string }>>;
  /** Resolves once the dirs of removed snapshots are deleted (`remove` deletes them in the background). */
  settled?(): Promise<void>;
}
