/** Token scopes (registry-auth/scope.md) of repository operations. */
export function pullScope(path: string): string {
  return `repository:${path}:pull`;
}

export function pushScope(path: string): string {
  return `repository:${path}:pull,push`;
}
