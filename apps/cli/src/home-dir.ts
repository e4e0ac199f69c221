/**
 * The user's home directory: $HOME, else the password database's (os.homedir()). node:os is loaded
 * only then (process.getBuiltinModule): importing it costs every command ~0.3 ms of start-up for a
 * variable that is nearly always set.
 */
export function homeDir(env: Record<string, string | undefined>): string {
  return env.HOME || process.getBuiltinModule('node:os').homedir();
}
