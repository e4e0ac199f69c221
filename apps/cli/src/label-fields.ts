/**
 * The `Labels` and `Label` fields of docker's listing rows (container, network, volume contexts):
 * `{{.Labels}}` is `k=v` pairs sorted by key and joined by commas, `{{.Label "k"}}` one value ('' when unset).
 */
export function labelFields(labels: Record<string, string>): { Labels: () => string; Label: (name?: unknown) => string } {
  return {
    Labels: () =>
      Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k]}`)
        .join(','),
    Label: (name?: unknown) => labels[String(name)] ?? '',
  };
}
