#!/usr/bin/env bash
# Measures the CLI's start from a V8 startup snapshot (entry.cjs) against today's start, interleaved
# (issue 11; bench/README.md, "CLI start from a startup snapshot"). Needs the bundle: bash scripts/build-cli.
#
#   bash bench/cli-snapshot/compare.sh [RUNS]        (default 20 of each)
#
# `ps` talks to the platform of the environment (BERTH_HOST, the current context), or fails to connect
# to none: every variant does the same. Prints the median wall and CPU (user + sys) time of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
dist=$PWD/apps/cli/dist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

BERTH_SNAP_TRACE=$tmp/ps.chunks node bench/cli-snapshot/entry.cjs ps >/dev/null 2>&1 || true
echo 'require("node:v8").startupSnapshot.setDeserializeMainFunction(() => {});' >"$tmp/empty.js"
node --snapshot-blob "$tmp/empty.blob" --build-snapshot "$tmp/empty.js"
BERTH_SNAP_DIST=$dist BERTH_SNAP_PRELOAD=$(cat "$tmp/ps.chunks") node --no-warnings --snapshot-blob "$tmp/cli.blob" --build-snapshot bench/cli-snapshot/entry.cjs
ls -l "$tmp"/*.blob | awk '{print $NF ": " $5 " bytes"}'
# Warm the code cache of the bundle, and check that every variant runs.
for args in --version ps; do
  ./berth $args >/dev/null 2>&1 || true
  node "$dist/main.cjs" $args >/dev/null 2>&1 || true
  node --snapshot-blob "$tmp/cli.blob" -- $args >/dev/null 2>&1 || true
done
[ "$(node --snapshot-blob "$tmp/cli.blob" -- --version)" = "$(./berth --version)" ] || { echo 'the snapshot does not run the CLI' >&2; exit 1; }

variants=(
  'node -e 0'
  "node --snapshot-blob $tmp/empty.blob"
  './berth --version'
  "node $dist/main.cjs --version"
  "node --snapshot-blob $tmp/cli.blob -- --version"
  './berth ps'
  "node $dist/main.cjs ps"
  "node --snapshot-blob $tmp/cli.blob -- ps"
)
TIMEFORMAT='%R %U %S'
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < runs; i++)); do
  for j in "${!variants[@]}"; do
    t=$({ time bash -c "${variants[$j]}" >/dev/null 2>&1 || true; } 2>&1)
    echo "$j $t" >>"$tmp/raw"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR] = $1} END {printf "%.0f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
for j in "${!variants[@]}"; do
  wall=$(awk -v j="$j" '$1 == j {print $2 * 1000}' "$tmp/raw" | median)
  cpu=$(awk -v j="$j" '$1 == j {print ($3 + $4) * 1000}' "$tmp/raw" | median)
  printf '%6s ms wall %6s ms CPU  %s\n' "$wall" "$cpu" "${variants[$j]//$tmp\//}"
done
