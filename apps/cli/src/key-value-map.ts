/**
 * `key=value` words (a bare `key` gets the empty value) as a map, a later key winning: what docker
 * makes of `--label`, `--opt`, `--log-opt` (opts.ConvertKVStringsToMap) and, with `:`, `--tmpfs`.
 */
export function keyValueMap(words: Iterable<string>, separator = '='): Record<string, string> {
  const map: Record<string, string> = {};
  for (const word of words) {
    const at = word.indexOf(separator);
    if (at < 0) map[word] = '';
    else map[word.slice(0, at)] = word.slice(at + separator.length);
  }
  return map;
}
