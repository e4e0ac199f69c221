import { NotFoundError } from '@berth/errors';
import type { Descriptor } from '@berth/oci';
import { refuseSelfCopy, stageByRef } from '../frontend/build-graph.js';
import { valueExcerpt } from '../located.js';
import type { ResolvedImage } from '../solver/base-image.js';
import type { BuildRun } from '../solver/build-run.js';
import { mountView } from '../solver/snapshots.js';
import type { StageState } from '../solver/stage-state.js';

/** Where `--from` finds other stages and images (the solver, which builds and resolves each once). */
export interface FromSources {
  stage(index: number): Promise<StageState>;
  image(name: string): Promise<ResolvedImage>;
}

/** The files a `--from` names, readable at `root` until `release`. */
export interface FromRoot {
  root: string;
  /** What identifies the files for the cache key (a stage's key, an image id; empty for a local context, which is checksummed). */
  key: string;
  /** A local context (the build's or a named one): paths may not climb out, owners are not kept. */
  context: boolean;
  release(): Promise<void>;
}

/**
 * The root `from` names for `COPY --from` and `RUN --mount=…,from=`: an earlier stage (by name or
 * index), a named build context (`--build-context name=DIR` or `name=docker-image://ref`), or an
 * image; without `from`, the build context. Stages and images are mounted read-only.
 * NotFoundError `<what>="x": no stage or image of that name`.
 */
export async function fromRoot(run: BuildRun, state: StageState, from: string | undefined, options: { sources: FromSources; what: string }): Promise<FromRoot> {
  const none = async () => undefined;
  if (!from) return { root: run.contextDir, key: '', context: true, release: none };
  refuseSelfCopy(state.stage, from);
  const fromStage = stageByRef(run.graph.dockerfile, from, state.stage.index);
  let layers: { diffIds: string[]; layers: Descriptor[] };
  let key: string;
  if (fromStage) {
    const s = await options.sources.stage(fromStage.index);
    layers = { diffIds: s.config.rootfs.diff_ids, layers: s.layers };
    key = s.key;
  } else {
    const named = run.namedContexts.get(from);
    if (named?.kind === 'dir') return { root: named.dir, key: `context:${from}`, context: true, release: none };
    const image = await options.sources.image(from).catch((err) => {
      throw err instanceof NotFoundError ? new NotFoundError(`${options.what}="${valueExcerpt(from)}": no stage or image of that name`, { cause: err }) : err;
    });
    layers = { diffIds: image.config.rootfs.diff_ids, layers: image.manifest.layers };
    key = image.id;
  }
  const view = await mountView(run, layers.diffIds, layers.layers);
  return { root: view.path, key, context: false, release: view.release };
}
