import type { FlagSpec } from './flags.js';

/**
 * The volume and mount flags of `run` / `create` (docker's `-v`, `--mount`, `--tmpfs`,
 * `--volumes-from`). `--mount` and `--tmpfs` are parsed on the client as the docker CLI does
 * (mount-spec.ts); `-v` strings and `--volumes-from` go to the platform as they are (the daemon
 * parses them, as Docker's does).
 */
export const mountFlags: FlagSpec[] = [
  { long: 'volume', short: 'v', type: 'list', description: 'Bind mount a volume' },
  { long: 'mount', type: 'list', description: 'Attach a filesystem mount to the container' },
  { long: 'tmpfs', type: 'list', description: 'Mount a tmpfs directory' },
  { long: 'volumes-from', type: 'list', description: 'Mount volumes from the specified container(s)' },
];
