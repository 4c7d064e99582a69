#!/bin/bash
# Overhead of tracing a live workload: fio IOPS traced / untraced, for iodiag's bpf source and,
# as anchors, its strace source and plain `perf trace`. Runs are interleaved in pairs (the order
# alternates from pair to pair) and the median of the pairs' ratios is reported, so drift on a
# shared machine hits both sides. A second ratio divides IOPS by the CPU time fio used (fio's usr+sys):
# it stays meaningful when other tenants steal CPU, which wall-clock IOPS do not.
#
# Also measures start-up: from running `iodiag model --source bpf -- CMD` to CMD's first
# instruction (everything is attached before the command is released).
#
# Two more "tracers" show the fixed price of syscall hooks on this kernel, before any work
# (bench/overhead_floor.cpp): floor-enter (one no-op program on sys_enter) and floor-hooks (the
# syscall tracer's enter and exit programs with no call selected).
#
# usage: bench/overhead.sh [IODIAG_BINARY]     (root; fio, strace, perf, python3)
#   PAIRS=3 SECS=5 TRACERS="bpf strace perf" WORKLOADS="pagecache randwrite uring libaio fdatasync"
#   STARTUP=1 (0: skip the start-up measurement)
set -euo pipefail

IODIAG=$(readlink -f "${1:-build/iodiag}")
FLOOR=$(dirname "$IODIAG")/bench/overhead_floor
STARTUP=${STARTUP:-1}
PAIRS=${PAIRS:-3}
SECS=${SECS:-5}
TRACERS=${TRACERS:-"bpf strace perf"}
WORKLOADS=${WORKLOADS:-"pagecache randwrite uring libaio fdatasync"}
# fio runs on CPU 0, the tracer's user-space side on CPU 1 (a 2-core machine has no more).
FIO_CPU=${FIO_CPU:-0}
TRACER_CPU=${TRACER_CPU:-1}

DIR=$(mktemp -d /var/tmp/iodiag-overhead-XXXXXX)
trap 'rm -rf "$DIR"' EXIT

job_body() {
    case $1 in
        pagecache) echo "rw=randread bs=4k ioengine=psync size=512m invalidate=0" ;;
        randwrite) echo "rw=randwrite bs=4k ioengine=psync direct=1 size=256m" ;;
        uring) echo "rw=randread bs=4k ioengine=io_uring iodepth=32 direct=1 size=256m" ;;
        libaio) echo "rw=randread bs=4k ioengine=libaio iodepth=32 direct=1 size=256m" ;;
        fdatasync) echo "rw=write bs=4k ioengine=psync fdatasync=1 size=256m" ;;
    esac
}

describe() {
    case $1 in
        pagecache) echo "psync 4k randread, page cache hot" ;;
        randwrite) echo "psync 4k randwrite, O_DIRECT" ;;
        uring) echo "io_uring 4k randread iodepth=32, O_DIRECT" ;;
        libaio) echo "libaio 4k randread iodepth=32, O_DIRECT" ;;
        fdatasync) echo "psync 4k write, fdatasync=1" ;;
    esac
}

write_job() {  # name -> job file path
    local job="$DIR/$1.fio"
    {
        printf '[global]\ndirectory=%s\nruntime=%s\ntime_based=1\ncpus_allowed=%s\n[%s]\n' \
            "$DIR" "$SECS" "$FIO_CPU" "$1"
        for kv in $(job_body "$1"); do echo "$kv"; done
    } > "$job"
    fio --create_only=1 --output=/dev/null "$job" >/dev/null
    [ "$1" = pagecache ] && cat "$DIR"/pagecache.* > /dev/null
    echo "$job"
}

# "IOPS IOPS_PER_CPU_SECOND" from fio's JSON report.
fio_figures() {
    python3 - "$1" <<'EOF'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
iops = sum(j["read"]["iops"] + j["write"]["iops"] for j in jobs)
cpu = sum(j["usr_cpu"] + j["sys_cpu"] for j in jobs) / 100.0
print(f"{iops:.0f} {iops / cpu if cpu else 0:.0f}")
EOF
}

run_fio() {  # tracer job report
    local tracer=$1 job=$2 report=$3
    local fio=(fio --output-format=json --output="$report" "$job")
    case $tracer in
        none) "${fio[@]}" ;;
        bpf | strace) taskset -c "$TRACER_CPU" "$IODIAG" model --source "$tracer" -o "$DIR/model.json" -- "${fio[@]}" >/dev/null 2>"$DIR/tracer.err" ;;
        perf) taskset -c "$TRACER_CPU" perf trace -o /dev/null \
                  -e read,write,pread64,pwrite64,io_submit,io_getevents,io_uring_enter,fsync,fdatasync -- "${fio[@]}" 2>"$DIR/tracer.err" ;;
        floor-*)
            taskset -c "$TRACER_CPU" "$FLOOR" "${tracer#floor-}" $((SECS + 30)) 2>"$DIR/tracer.err" &
            local floor=$!
            sleep 0.5
            "${fio[@]}"
            kill $floor; wait $floor || true ;;  # its links go with its fds
    esac
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# iodiag tracing overhead: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs, ${PAIRS} pairs of ${SECS} s"
echo "# $("$IODIAG" --version), fio $(fio --version | sed 's/fio-//')"
echo
echo "| workload | tracer | untraced IOPS (median) | traced IOPS (median) | IOPS ratio (median of pairs) | pairs' range | per-CPU-second ratio |"
echo "|---|---|---|---|---|---|---|"
for w in $WORKLOADS; do
    job=$(write_job "$w")
    for t in $TRACERS; do
        if [ "$t" = perf ] && ! command -v perf >/dev/null; then continue; fi
        : > "$DIR/pairs"
        for i in $(seq "$PAIRS"); do
            # Odd pairs run untraced first, even pairs traced first: a disk that slows down (or
            # speeds up) from one run to the next then biases neither side.
            [ $((i % 2)) = 1 ] && run_fio none "$job" "$DIR/u.json"
            run_fio "$t" "$job" "$DIR/t.json" || { echo "# $t failed on $w: $(tail -2 "$DIR/tracer.err")" >&2; continue; }
            [ $((i % 2)) = 0 ] && run_fio none "$job" "$DIR/u.json"
            read -r u_iops u_cpu <<< "$(fio_figures "$DIR/u.json")"
            read -r t_iops t_cpu <<< "$(fio_figures "$DIR/t.json")"
            echo "$u_iops $t_iops $(python3 -c "print($t_iops/$u_iops, $t_cpu/$u_cpu if $u_cpu else 0)")" >> "$DIR/pairs"
        done
        [ -s "$DIR/pairs" ] || continue
        printf '| %s | %s | %s | %s | %.3f | %.2f-%.2f | %.3f |\n' "$(describe "$w")" "$t" \
            "$(cut -d' ' -f1 "$DIR/pairs" | median)" "$(cut -d' ' -f2 "$DIR/pairs" | median)" \
            "$(cut -d' ' -f3 "$DIR/pairs" | median)" \
            "$(cut -d' ' -f3 "$DIR/pairs" | sort -g | head -1)" "$(cut -d' ' -f3 "$DIR/pairs" | sort -g | tail -1)" \
            "$(cut -d' ' -f4 "$DIR/pairs" | median)"
    done
    rm -f "$DIR"/"$w".*
done

[ "$STARTUP" = 1 ] || exit 0
# Start-up: from starting iodiag to the launched command's first instruction.
echo
echo "| start-up, bpf source (median of 5) | ms |"
echo "|---|---|"
: > "$DIR/startup"
: > "$DIR/baseline"
for i in 1 2 3 4 5; do
    t0=$(date +%s%N)
    "$IODIAG" model --source bpf -o "$DIR/m.json" -- sh -c "date +%s%N > $DIR/t1" >/dev/null 2>&1 || true
    echo $(( ($(cat "$DIR/t1") - t0) / 1000 )) >> "$DIR/startup"
    t0=$(date +%s%N)
    sh -c "date +%s%N > $DIR/t1"
    echo $(( ($(cat "$DIR/t1") - t0) / 1000 )) >> "$DIR/baseline"
done
printf '| iodiag start -> command running (incl. feature probe, load, attach) | %.0f |\n' "$(median < "$DIR/startup")e-3"
printf '| the same command without iodiag (sh -c date) | %.0f |\n' "$(median < "$DIR/baseline")e-3"
