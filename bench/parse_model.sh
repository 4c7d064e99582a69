#!/usr/bin/env bash
# Offline parse+model throughput and peak memory on generated strace logs of 1M and 4M lines.
# Memory must stay flat in the log's length (streaming, bounded state).
# Usage: bench/parse_model.sh [BUILD_DIR]   (a Release build; default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bench/parse_model_bench"
[ -x "$bin" ] || { echo "build first: cmake --build $build --target parse_model_bench" >&2; exit 1; }
work=$(mktemp -d /var/tmp/iodiag-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for lines in 1000000 4000000; do
  "$bin" generate "$work/trace.log" "$lines" >/dev/null
  echo "== $lines lines ($(du -h "$work/trace.log" | cut -f1)), 3 runs, pinned to one core"
  for run in 1 2 3; do taskset -c 1 "$bin" run "$work/trace.log"; done
done
