export { FilterArgs, formatFilterValues, type FilterInput } from './filter-args.js';
export { parseTimeArg, parseTimeArgNs, parseUnixTimestamp, timestampArg } from './time-arg.js';
export { pruneUntil } from './prune-until.js';
export { parseGoDuration } from './go-duration.js';
export { humanDuration } from './human-duration.js';
export type { UnixTime } from './go-time-layout.js';
