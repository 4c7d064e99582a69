#!/bin/bash
# Where the time of a traced IO goes (issue 12): one CPU-bound fio job (pinned to CPU 0, the tracer's
# user space to CPU 1), run untraced and traced in interleaved pairs for each mode:
#   bpf            iodiag model as shipped (every tracer, program statistics on)
#   bpf-nostats    the same without the kernel's program statistics (IODIAG_BPF_STATS=0)
#   only-<tracer>  one tracer alone (IODIAG_BPF_TRACERS=<tracer>), statistics off
# For each it reports fio's IOPS ratio, fio's own CPU per IO (usr+sys, which includes the programs
# that run in fio's context and interrupts taken on its CPU), the whole machine's busy CPU per IO
# from /proc/stat (CPU 0 and CPU 1 apart: the consumer and whatever it displaces), and iodiag's own
# CPU per IO. With PROGS=1 it also lists each program's run time per run (bpftool, stats on).
#
# usage: bench/overhead_breakdown.sh [IODIAG_BINARY]     (root; fio, bpftool, python3)
#   WORKLOAD=uring|libaio|pagecache|randwrite|fdatasync  PAIRS=5 SECS=5
#   MODES="bpf bpf-nostats only-syscalls only-uring only-block"  PROGS=1
set -euo pipefail

IODIAG=$(readlink -f "${1:-build/iodiag}")
WORKLOAD=${WORKLOAD:-uring}
PAIRS=${PAIRS:-5}
SECS=${SECS:-5}
MODES=${MODES:-"bpf bpf-nostats only-syscalls only-uring only-block"}
PROGS=${PROGS:-1}
FIO_CPU=0
TRACER_CPU=1

DIR=$(mktemp -d /var/tmp/iodiag-breakdown-XXXXXX)
trap 'rm -rf "$DIR"' EXIT

case $WORKLOAD in
    pagecache) BODY="rw=randread bs=4k ioengine=psync size=512m invalidate=0" ;;
    randwrite) BODY="rw=randwrite bs=4k ioengine=psync direct=1 size=256m" ;;
    uring) BODY="rw=randread bs=4k ioengine=io_uring iodepth=32 direct=1 size=256m" ;;
    libaio) BODY="rw=randread bs=4k ioengine=libaio iodepth=32 direct=1 size=256m" ;;
    fdatasync) BODY="rw=write bs=4k ioengine=psync fdatasync=1 size=256m" ;;
    *) echo "unknown WORKLOAD=$WORKLOAD" >&2; exit 2 ;;
esac
JOB=$DIR/$WORKLOAD.fio
{
    printf '[global]\ndirectory=%s\nruntime=%s\ntime_based=1\ncpus_allowed=%s\n[%s]\n' "$DIR" "$SECS" "$FIO_CPU" "$WORKLOAD"
    for kv in $BODY; do echo "$kv"; done
} > "$JOB"
fio --create_only=1 --output=/dev/null "$JOB" >/dev/null
[ "$WORKLOAD" = pagecache ] && cat "$DIR"/pagecache.* > /dev/null

# Busy jiffies (all but idle, iowait, steal) of cpu0 and cpu1.
busy() { awk '$1 == "cpu0" || $1 == "cpu1" { printf "%d ", $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# One run: writes "iops fio_cpu_s cpu0_busy_s cpu1_busy_s iodiag_cpu_s" to $DIR/run.
run_once() {  # mode
    local mode=$1 report=$DIR/report.json hz
    hz=$(getconf CLK_TCK)
    local fio=(fio --output-format=json --output="$report" "$JOB")
    local env=() before after tracer_cpu=0
    case $mode in
        bpf-nostats) env=(IODIAG_BPF_STATS=0) ;;
        only-*) env=(IODIAG_BPF_STATS=0 "IODIAG_BPF_TRACERS=${mode#only-}") ;;
    esac
    before=$(busy)
    if [ "$mode" = none ]; then
        "${fio[@]}"
    else
        # GNU time is not always there: the tracer's CPU comes from bash's `times` in a subshell.
        tracer_cpu=$( (env "${env[@]}" taskset -c "$TRACER_CPU" "$IODIAG" model --source bpf -o "$DIR/model.json" -- "${fio[@]}" \
                          >/dev/null 2>"$DIR/tracer.err" || true; times) | tail -1 |
                      awk '{ split($1, u, "m"); split($2, s, "m"); sub("s", "", u[2]); sub("s", "", s[2]);
                             print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    fi
    after=$(busy)
    python3 - "$report" "$before" "$after" "$hz" "$tracer_cpu" > "$DIR/run" <<'EOF'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
iops = sum(j["read"]["iops"] + j["write"]["iops"] for j in jobs)
ios = sum(j["read"]["total_ios"] + j["write"]["total_ios"] for j in jobs)
secs = sum(j["job_runtime"] for j in jobs) / 1000.0
fio_cpu = sum(j["usr_cpu"] + j["sys_cpu"] for j in jobs) / 100.0 * secs
b = [int(x) for x in sys.argv[2].split()]
a = [int(x) for x in sys.argv[3].split()]
hz = float(sys.argv[4])
print(iops, ios, fio_cpu, (a[0] - b[0]) / hz, (a[1] - b[1]) / hz, float(sys.argv[5]))
EOF
}

# Each program's run time per run while the tracer runs (statistics on).
programs() {
    (taskset -c "$TRACER_CPU" "$IODIAG" model --source bpf -o "$DIR/model.json" -- fio --output=/dev/null "$JOB" >/dev/null 2>&1 &
     sleep $((SECS - 1)); bpftool prog show --json > "$DIR/progs.json"; wait) || true
    python3 - "$DIR/progs.json" <<'EOF'
import json, sys
rows = [p for p in json.load(open(sys.argv[1])) if p.get("run_cnt")]
print("| program | runs | ns per run |")
print("|---|---|---|")
for p in sorted(rows, key=lambda p: -p["run_time_ns"]):
    print(f"| {p.get('name', p['id'])} | {p['run_cnt']} | {p['run_time_ns'] / p['run_cnt']:.0f} |")
EOF
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

echo "# iodiag overhead breakdown: $WORKLOAD, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), ${PAIRS} pairs of ${SECS} s"
echo "# $("$IODIAG" --version), fio $(fio --version | sed 's/fio-//')"
echo
echo "| mode | IOPS ratio (median of pairs) | pairs' range | fio CPU µs/IO untraced | traced | CPU 0 busy µs/IO untraced | traced | CPU 1 busy µs/IO untraced | traced | iodiag CPU µs/IO |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for mode in $MODES; do
    : > "$DIR/pairs"
    for i in $(seq "$PAIRS"); do
        if [ $((i % 2)) = 1 ]; then run_once none; cp "$DIR/run" "$DIR/u"; fi
        run_once "$mode"; cp "$DIR/run" "$DIR/t"
        if [ $((i % 2)) = 0 ]; then run_once none; cp "$DIR/run" "$DIR/u"; fi
        read -r ui un uf u0 u1 _ < "$DIR/u"
        read -r ti tn tf t0 t1 tc < "$DIR/t"
        python3 -c "
u, t = ($ui, $un, $uf, $u0, $u1), ($ti, $tn, $tf, $t0, $t1)
us = lambda x, n: x / n * 1e6
print(t[0] / u[0], us(u[2], u[1]), us(t[2], t[1]), us(u[3], u[1]), us(t[3], t[1]), us(u[4], u[1]), us(t[4], t[1]), us($tc, t[1]))
" >> "$DIR/pairs"
    done
    col() { cut -d' ' -f"$1" "$DIR/pairs" | median; }
    printf '| %s | **%.3f** | %.2f-%.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n' "$mode" "$(col 1)" \
        "$(cut -d' ' -f1 "$DIR/pairs" | sort -g | head -1)" "$(cut -d' ' -f1 "$DIR/pairs" | sort -g | tail -1)" \
        "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 6)" "$(col 7)" "$(col 8)"
done

if [ "$PROGS" = 1 ]; then
    echo
    programs
fi
