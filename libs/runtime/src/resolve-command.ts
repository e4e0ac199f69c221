import { InvalidArgumentError } from '@berth/errors';

export interface ImageCommand {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
}

export interface CommandOverride {
  /**
   * `--entrypoint`. Any value, even `[]` or `['']` (`--entrypoint ""`), replaces the image's
   * Entrypoint and resets the image's Cmd, as Docker does.
   */
  entrypoint?: string[];
  /** The command after the image name; an empty list keeps the image's Cmd. */
  cmd?: string[];
}

/**
 * The argv a container runs, by Docker's ENTRYPOINT/CMD rules:
 *
 * | image Entrypoint | image Cmd | --entrypoint | command | result        |
 * | ---------------- | --------- | ------------ | ------- | ------------- |
 * | -                | c         | -            | -       | c             |
 * | e                | c         | -            | -       | e c           |
 * | e                | c         | -            | x       | e x           |
 * | e                | c         | E            | -       | E (Cmd reset) |
 * | e                | c         | E            | x       | E x           |
 * | e                | c         | ""           | x       | x             |
 *
 * An empty result throws InvalidArgumentError `No command specified`.
 */
export function resolveCommand(image: ImageCommand, override: CommandOverride): string[] {
  const userCmd = override.cmd ?? [];
  let entrypoint: string[];
  let cmd: string[];
  if (override.entrypoint !== undefined) {
    entrypoint = override.entrypoint.length === 1 && override.entrypoint[0] === '' ? [] : override.entrypoint;
    cmd = userCmd;
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = userCmd.length > 0 ? userCmd : (image.Cmd ?? []);
  }
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw new InvalidArgumentError('No command specified');
  return argv;
}
