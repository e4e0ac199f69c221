import type { ArgScope, Instruction, Stage } from '@berth/dockerfile';
import type { Descriptor, HistoryEntry, ImageConfig } from '@berth/oci';
import type { StageEnv } from './stage-env.js';

/** A layer a step made or the cache gave: the blob, its diff ID and its uncompressed size. */
export interface StepLayer {
  descriptor: Descriptor;
  diffId: string;
  size: number;
}

/** A stage's image as it grows, step by step. */
export interface StageState {
  stage: Stage;
  /** `[name ` prefix of the vertex titles (empty for a one-stage Dockerfile). */
  label: string;
  total: number;
  position: number;
  config: ImageConfig;
  layers: Descriptor[];
  layerSizes: Map<string, number>;
  /** The cache key the next step chains on. */
  key: string;
  /** ARGs declared in the stage. */
  args: ArgScope;
  /** ENV (the config's `Env`) and the variables steps are expanded with, kept up to date. */
  env: StageEnv;
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /**
   * Layers and history entries of the image at the root of the stage's FROM chain (what
   * `--squash` keeps: the layers of every stage of the chain are squashed).
   */
  baseLayers: number;
  baseHistory: number;
  /** The id of the image at the root of the FROM chain (or `scratch`), for the squash history comment. */
  baseId: string;
  /** This stage does not read the cache (`--no-cache` or `--no-cache-filter`). */
  noCache: boolean;
  /**
   * Time of the newest step with a layer (or of the base image): the history time of the steps
   * after it and the image's `created`, so that a fully cached rebuild gives the same image id.
   */
  created: string;
}

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
export const EPOCH = '1970-01-01T00:00:00Z';

export function appendLayer(state: StageState, layer: StepLayer): void {
  state.layers.push(layer.descriptor);
  state.config.rootfs = { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, layer.diffId] };
  state.layerSizes.set(layer.diffId, layer.size);
}

export function addHistory(state: StageState, createdBy: string, empty: boolean): void {
  const entry: HistoryEntry = { created: state.created, created_by: createdBy, comment: HISTORY_COMMENT };
  if (empty) entry.empty_layer = true;
  (state.config.history ??= []).push(entry);
}

/** The instruction's first line with its keyword upper-cased, as history and vertex titles show it. */
export function normalizeKeyword(text: string, kind: string): string {
  return kind + text.slice(kind.length);
}

/** The history `created_by` of a metadata step: the instruction as written, keyword upper-cased. */
export function createdByOf(ins: Instruction): string {
  return normalizeKeyword(ins.original.split('\n')[0]!, ins.kind);
}
