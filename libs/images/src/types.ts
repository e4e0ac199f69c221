import type { ContainerConfig, ImageConfig, ImageManifest } from '@berth/oci';

/** One image of the host store. Its id is the digest of its config (as in Docker). */
export interface ImageRecord {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifest: ImageManifest;
  config: ImageConfig;
  /** Full normalized references: `docker.io/library/busybox:latest`, `…/busybox@sha256:…`. */
  names: string[];
  /** RFC 3339 creation time from the config. */
  created: string;
  /** Sum of the uncompressed layer sizes, in bytes. */
  size: number;
  /** The image this one was committed from, if any (Docker's Parent). */
  parent?: string;
  /** When the image was added to this host. */
  added: string;
}

export type ImageEventAction = 'import' | 'tag' | 'untag' | 'delete' | 'pull' | 'load' | 'save' | 'commit' | 'prune';

export interface ImageEvent {
  action: ImageEventAction;
  id: string;
  /** The familiar name concerned (`busybox:latest`), when there is one. */
  name?: string;
  /** Further attributes (`reclaimed` of a prune, whose id is ''). */
  attributes?: Record<string, string>;
}

/** Docker's `ImageSummary` (GET /images/json). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
  /** With `manifests`: the image's manifest (docker's API 1.47 `Manifests`; one, the host's platform). */
  Manifests?: ImageManifestSummary[];
}

/** Docker's `ImageManifestSummary`: one platform's manifest of an image. */
export interface ImageManifestSummary {
  ID: string;
  Descriptor: { mediaType: string; digest: string; size: number };
  Available: boolean;
  /** Total: blobs and unpacked layers; Content: the blobs. */
  Size: { Total: number; Content: number };
  Kind: 'image';
  ImageData: { Platform: { architecture: string; os: string; variant?: string }; Containers: string[]; Size: { Unpacked: number } };
}

/** One row of `docker images` (a summary expanded per tag). */
export interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  /** 12-character short id. */
  ID: string;
  /** Unix seconds. */
  Created: number;
  Size: number;
}

/** Docker's `ImageInspect` (GET /images/{name}/json). */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Descriptor: { mediaType: string; digest: string; size: number };
}

/** Docker's `HistoryResponseItem` (GET /images/{name}/history), newest first. */
export interface ImageHistoryItem {
  /** The image id on the top entry, `<missing>` on the others (as Docker prints). */
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
  EmptyLayer: boolean;
}

/** One item of `docker rmi` / prune output. */
export type DeleteItem = { Untagged: string } | { Deleted: string };

export interface PruneResult {
  ImagesDeleted: DeleteItem[];
  SpaceReclaimed: number;
}

export interface DiskUsage {
  /** Number of images. */
  count: number;
  /** Images used by at least one container. */
  active: number;
  /** Bytes of all layers, each distinct layer counted once. */
  size: number;
  /** Bytes of the layers no image in use needs. */
  reclaimable: number;
  images: Array<{ id: string; size: number; sharedSize: number; containers: number }>;
}

export interface LoadedImage {
  id: string;
  /** Familiar name (`busybox:latest`), absent for an untagged image. */
  name?: string;
}

/**
 * A blob or snapshot of the host's stores, as a lease names it (libs/worker). Whatever a lease
 * holds (a build in progress, the build cache) is not the image store's to delete: `rmi` and
 * `prune` leave it for the lease's end to collect.
 */
export interface HeldResource {
  type: 'blob' | 'snapshot';
  /** A digest (blob) or a snapshot key (a chain ID for a layer). */
  id: string;
}
