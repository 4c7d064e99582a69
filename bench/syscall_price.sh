#!/bin/bash
# What one traced syscall costs, in nanoseconds, on a 4k page-cache pread (bench/pread_loop.cpp),
# the hardest case for a syscall tracer. Splits the price into the kernel's fixed cost of having any
# program on the syscall tracepoints (no-op programs: bench/overhead_floor.cpp) and the work of
# iodiag's own programs. Modes run interleaved, ROUNDS times; medians and minimums per mode.
#
#   none         no tracing
#   floor-enter  one no-op program on sys_enter
#   floor-exit   the syscall tracer's sys_exit program alone, no call selected
#   floor-hooks  the syscall tracer's sys_enter + sys_exit programs, no call selected
#   bpf          iodiag model --source bpf -- pread_loop (the real tracer)
#
# Then, with kernel.bpf_stats_enabled=1 for one more traced run, each of iodiag's syscall programs'
# mean run time (the stats themselves add ~50 ns a run: see floor-enter's figure there).
#
# usage: bench/syscall_price.sh [IODIAG_BINARY]    (root)
#   ROUNDS=7 SECS=2 MODES="none floor-enter floor-exit floor-hooks bpf"
set -euo pipefail

IODIAG=$(readlink -f "${1:-build/iodiag}")
BENCH=$(dirname "$IODIAG")/bench
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-2}
MODES=${MODES:-"none floor-enter floor-exit floor-hooks bpf"}
LOOP_CPU=0
TRACER_CPU=1

DIR=$(mktemp -d /var/tmp/iodiag-price-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
FILE=$DIR/data
head -c $((64 << 20)) /dev/urandom > "$FILE"
cat "$FILE" > /dev/null  # in the page cache: the reads never wait for the disk

loop() { taskset -c $LOOP_CPU "$BENCH/pread_loop" "$FILE" "$SECS"; }

run() {  # mode -> "WALL_NS CPU_NS"
    case $1 in
        none) loop ;;
        floor-*)
            taskset -c $TRACER_CPU "$BENCH/overhead_floor" "${1#floor-}" $((SECS + 30)) &
            local floor=$!
            sleep 0.5
            loop
            kill $floor; wait $floor || true ;;
        bpf) taskset -c $TRACER_CPU "$IODIAG" model --source bpf -o "$DIR/model.json" -- \
                 taskset -c $LOOP_CPU "$BENCH/pread_loop" "$FILE" "$SECS" 2>/dev/null | head -1 ;;
    esac
}

stats() { sort -g | awk '{v[NR] = $1} END {printf "%.0f %.0f", v[int((NR + 1) / 2)], v[1]}'; }

echo "# syscall price: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $ROUNDS rounds of $SECS s, 4k pread from the page cache"
for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do echo "$mode $(run "$mode")" >> "$DIR/runs"; done
done

echo
echo "| mode | ns per call, wall (median) | CPU ns per call (median) | CPU ns (min) | added CPU ns vs none (medians) | pread rate vs none |"
echo "|---|---|---|---|---|---|"
base=$(awk '$1 == "none" {print $3}' "$DIR/runs" | stats | cut -d' ' -f1)
for mode in $MODES; do
    read -r wall _ <<< "$(awk -v m="$mode" '$1 == m {print $2}' "$DIR/runs" | stats)"
    read -r cpu cpu_min <<< "$(awk -v m="$mode" '$1 == m {print $3}' "$DIR/runs" | stats)"
    printf '| %s | %s | %s | %s | %+d | %.3f |\n' "$mode" "$wall" "$cpu" "$cpu_min" $((cpu - base)) \
        "$(python3 -c "print($base / $cpu)")"
done

echo
echo "| iodiag program (bpf_stats, one traced run) | ns per run |"
echo "|---|---|"
sysctl -q kernel.bpf_stats_enabled=1
trap 'sysctl -q kernel.bpf_stats_enabled=0; rm -rf "$DIR"' EXIT
run bpf > /dev/null &
sleep $((SECS / 2 + 1))
bpftool -j prog show > "$DIR/progs.json"
wait
sysctl -q kernel.bpf_stats_enabled=0
python3 - "$DIR/progs.json" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1])):
    if p.get("name", "").startswith("sys_e") and p.get("run_cnt"):
        print(f"| {p['name']} | {p['run_time_ns'] / p['run_cnt']:.0f} |")
PY
