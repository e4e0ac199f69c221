import { build, builderGroup } from './build-commands.js';
import type { CommandDef, GroupDef } from './command-def.js';
import { attach, commit, containerGroup, create, diff, exec, exportCommand, inspect, kill, logs, pause, ps, rename, restart, rm, run, start, stats, stop, top, unpause, wait } from './container-commands.js';
import { contextGroup } from './context-commands.js';
import { cp, update } from './copy-update-commands.js';
import { history, imageGroup, imagesCommand, importCommand, load, login, logout, pull, push, rmi, save, tag } from './image-commands.js';
import { networkGroup, port } from './network-commands.js';
import { search } from './prune-search-commands.js';
import { registryGroup } from './registry-commands.js';
import { events, info, systemGroup, version } from './system-commands.js';
import { volumeGroup } from './volume-commands.js';
import { nodeGroup } from './node-commands.js';

/**
 * The command table: every top-level `berth` command (docker's shortcuts) and group; `platform` is
 * dispatched separately. The definitions are in one file per group (container-commands.ts,
 * image-commands.ts, network-commands.ts, …); their types in command-def.ts.
 */
export const topLevel: Record<string, CommandDef | GroupDef> = {
  attach,
  build,
  builder: builderGroup,
  commit,
  container: containerGroup,
  context: contextGroup,
  cp,
  create,
  diff,
  events,
  exec,
  export: exportCommand,
  history,
  image: imageGroup,
  images: imagesCommand,
  import: importCommand,
  info,
  inspect,
  kill,
  load,
  login,
  logout,
  logs,
  network: networkGroup,
  pause,
  port,
  ps,
  pull,
  push,
  registry: registryGroup,
  rename,
  restart,
  rm,
  rmi,
  run,
  save,
  search,
  start,
  stats,
  stop,
  system: systemGroup,
  tag,
  top,
  unpause,
  update,
  version,
  volume: volumeGroup,
  node: nodeGroup,
  wait,
};
