#!/usr/bin/env bash
# vm-lab: a tiny QEMU guest built from Debian packages only, for the note's "compare workload
# performance data between guest and host". The guest is a Debian kernel (linux-image-amd64,
# unpacked with dpkg-deb -x) and an initramfs of busybox-static, the virtio modules, fio and
# iodiag with their shared libraries. It boots with a scratch disk, runs a job (by default
# `iodiag probe NAME --json` on the raw virtio disk), prints the job's output on the serial console
# between markers and powers off; the script extracts that output. `run` then runs the same probe
# on the host, on the file system that holds the image, and `iodiag kvm compare`.
#
#   scripts/vm-lab.sh fetch                  download the kernel package (apt-get download)
#   scripts/vm-lab.sh run [options]          boot, run the job, host probe, compare
#   scripts/vm-lab.sh guest [options]        boot and run the job only
#
# Exit codes: 0 done, 1 failed, 2 a prerequisite is missing (qemu, busybox-static, cpio, fio, the
# kernel package, the iodiag binary): the message says which.
set -euo pipefail

self_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$self_dir/.." && pwd)

cache_default=/var/cache/iodiag/vm-lab
[[ $(id -u) -eq 0 ]] || cache_default="${XDG_CACHE_HOME:-$HOME/.cache}/iodiag/vm-lab"
cache="${VMLAB_CACHE:-$cache_default}"

usage() {
  cat <<'EOF'
usage: vm-lab.sh fetch
       vm-lab.sh run|guest [options]

options:
  --format raw|qcow2            image format (default raw)
  --bus virtio-blk|virtio-scsi  virtual disk (default virtio-blk)
  --aio threads|native|io_uring QEMU's aio for the image (default threads)
  --cache none|writeback        none: O_DIRECT on the image (default); writeback: host page cache
  --no-iothread                 the disk's IO runs in the main loop instead of an iothread
  --probe depth1|syncwrite      the iodiag probe the guest and host run (default syncwrite)
  --runtime SECONDS             the probe's runtime (default 3)
  --size SIZE                   the scratch disk's size, also the probe's size (default 64m)
  --job FILE                    run this shell script in the guest instead of the probe; it gets
                                the disk's device as $1, its stdout is the result
  --workdir DIR                 keep the image, console log and results here (default: a new
                                folder under /var/tmp, removed at the end unless --keep)
  --keep                        keep the work folder
  --iodiag PATH                 the iodiag binary (default: build*/iodiag, newest)
  --smp N --mem MB              guest CPUs and memory (default 1, and 1024 MB or enough for the
                                initramfs: a sanitizer build of iodiag makes it ~340 MB)
  --timeout SECONDS             power the guest off after this long (default 120)
  --pidfile FILE                write QEMU's pid here once it runs (for `iodiag kvm trace`)
  --trace                       trace QEMU from the host while the guest runs (`iodiag kvm trace
                                --pid QEMU -d 0 --json`, until QEMU exits): trace.json, trace.log

Results in the work folder: guest.json (the job's output), console.log, qemu.cmdline, with
--trace trace.json and, for `run`: host.json, compare.json. The guest's threads are named (-name guest=iodiag-lab,debug-threads=on).
EOF
}

say() { echo "vm-lab: $*" >&2; }
die() { say "$*"; exit 1; }
missing() { say "missing: $*"; exit 2; }

# The kernel package's file name in the cache, or nothing.
kernel_deb() { ls -1 "$cache"/linux-image-*.deb 2>/dev/null | sort -V | tail -1; }

fetch() {
  mkdir -p "$cache"
  if [[ -n $(kernel_deb) ]]; then say "kernel package present: $(kernel_deb)"; return 0; fi
  command -v apt-get >/dev/null || missing "apt-get (download linux-image-amd64 into $cache by hand)"
  # linux-image-amd64 is a meta package: download the image package it depends on.
  local real
  real=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  [[ -n $real ]] || missing "linux-image-amd64 in the apt sources (apt-get update?)"
  (cd "$cache" && apt-get download "$real")
  say "downloaded $(kernel_deb)"
}

# Sets kernel and moddir: the unpacked package (cached per package), else the running kernel's
# files when /boot has them.
find_kernel() {
  local deb; deb=$(kernel_deb)
  if [[ -n $deb ]]; then
    local unpacked="$cache/unpacked/$(basename "$deb" .deb)"
    if [[ ! -f $unpacked/.done ]]; then
      say "unpacking $(basename "$deb")"
      rm -rf "$unpacked"; mkdir -p "$unpacked"
      dpkg-deb -x "$deb" "$unpacked"
      touch "$unpacked/.done"
    fi
    kernel=$(ls -1 "$unpacked"/boot/vmlinuz-* | head -1)
    moddir=$(ls -d "$unpacked"/lib/modules/* | head -1)
  elif [[ -r /boot/vmlinuz-$(uname -r) && -d /lib/modules/$(uname -r) ]]; then
    kernel=/boot/vmlinuz-$(uname -r)
    moddir=/lib/modules/$(uname -r)
  else
    missing "a guest kernel: run scripts/install-deps.sh (or scripts/vm-lab.sh fetch) to download linux-image-amd64 into $cache"
  fi
}

# A module's file below $moddir (names use - and _ alike).
module_file() {
  local name=$1 alt=${1//-/_} alt2=${1//_/-}
  find "$moddir/kernel" \( -name "$name.ko*" -o -name "$alt.ko*" -o -name "$alt2.ko*" \) -print -quit
}

# Appends a module and its dependencies (from its .modinfo "depends=") to load_order, each once,
# dependencies first. A module the kernel has built in has no file and needs no loading.
declare -A seen_module=()
load_order=()
add_module() {
  local name=$1 file deps dep
  [[ -n ${seen_module[$name]:-} ]] && return 0
  seen_module[$name]=1
  file=$(module_file "$name")
  [[ -n $file ]] || return 0
  case $file in
    *.xz) deps=$(xz -dc "$file" | tr '\0' '\n' | sed -n 's/^depends=//p') ;;
    *.zst) deps=$(zstd -dcq "$file" | tr '\0' '\n' | sed -n 's/^depends=//p') ;;
    *) deps=$(tr '\0' '\n' <"$file" | sed -n 's/^depends=//p') ;;
  esac
  for dep in ${deps//,/ }; do add_module "$dep"; done
  load_order+=("$file")
}

# Copies a program and the shared libraries ldd names into the tree at $1.
copy_with_libs() {
  local root=$1 program=$2 target=$3 lib
  install -D -m 0755 "$program" "$root$target"
  while read -r lib; do
    [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done < <(ldd "$program" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}')
}

# The base initramfs (busybox, modules, fio, iodiag, /init), rebuilt when an input changed.
# Sets initrd_base.
build_initramfs() {
  local key stamp
  key=$(stat -c '%n %Y %s' "$kernel" "$iodiag" "$(command -v fio)" "$busybox" "${BASH_SOURCE[0]}" \
          "$repo"/workloads/* | md5sum | cut -c1-12)
  initrd_base="$cache/initramfs-$key.cpio"
  [[ -f $initrd_base ]] && return 0
  say "building the initramfs ($initrd_base)"
  local tree; tree=$(mktemp -d /var/tmp/vm-lab-tree.XXXXXX)
  mkdir -p "$tree"/{bin,sbin,usr/bin,proc,sys,dev,tmp,lib/modules,var/tmp,etc}
  install -m 0755 "$busybox" "$tree/bin/busybox"
  copy_with_libs "$tree" "$(command -v fio)" /usr/bin/fio
  # The guest does not need iodiag's debug info: strip it to keep the initramfs small.
  local stripped="$tree/iodiag.full"
  cp "$iodiag" "$stripped"
  strip --strip-debug "$stripped" 2>/dev/null || true
  copy_with_libs "$tree" "$stripped" /usr/bin/iodiag
  rm -f "$stripped"
  # The probes' fio templates, where an installed iodiag looks for them.
  mkdir -p "$tree/usr/share/iodiag"
  cp -r "$repo/workloads" "$tree/usr/share/iodiag/workloads"

  load_order=(); seen_module=()
  local m base
  # virtio-pci transport and both disks; sd_mod's t10-pi needs a crc-t10dif and crc64-rocksoft
  # implementation at run time, which the kernel would ask modprobe for.
  for m in virtio_pci virtio_blk virtio_scsi sd_mod crct10dif_generic crc64_rocksoft_generic; do add_module "$m"; done
  : >"$tree/modules.order"
  for m in "${load_order[@]}"; do
    base=$(basename "$m"); base=${base%.xz}; base=${base%.zst}
    case $m in
      *.xz) xz -dc "$m" >"$tree/lib/modules/$base" ;;
      *.zst) zstd -dcq "$m" >"$tree/lib/modules/$base" ;;
      *) cp "$m" "$tree/lib/modules/$base" ;;
    esac
    echo "$base" >>"$tree/modules.order"
  done

  cat >"$tree/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
while read -r module; do insmod "/lib/modules/$module" 2>/dev/null; done </modules.order
disk=
for i in $(seq 100); do
  for d in /dev/vda /dev/sda; do [ -b "$d" ] && disk=$d; done
  [ -n "$disk" ] && break
  sleep 0.1
done
cd /tmp
echo "@@VMLAB-DISK $disk uptime $(cut -d" " -f1 /proc/uptime)@@"
echo "@@VMLAB-BEGIN@@"
sh /job.sh "$disk" 2>/tmp/job.err
rc=$?
echo "@@VMLAB-END rc=$rc@@"
echo "@@VMLAB-STDERR-BEGIN@@"
tail -n 30 /tmp/job.err
echo "@@VMLAB-STDERR-END@@"
poweroff -f
EOF
  chmod 0755 "$tree/init"
  (cd "$tree" && find . -print0 | cpio --null -o -H newc --quiet) >"$initrd_base.tmp"
  mv "$initrd_base.tmp" "$initrd_base"
  rm -rf "$tree"
  # Older builds of the same inputs' predecessors are of no further use.
  find "$cache" -maxdepth 1 -name 'initramfs-*.cpio' ! -name "$(basename "$initrd_base")" -delete
}

# ---- options --------------------------------------------------------------------------------
command=${1:-}
[[ -n $command ]] || { usage; exit 1; }
shift
case $command in
  -h|--help) usage; exit 0 ;;
  fetch) fetch; exit 0 ;;
  run|guest) ;;
  *) usage; exit 1 ;;
esac

format=raw bus=virtio-blk aio=threads cache_mode=none iothread=1 probe=syncwrite runtime=3 size=64m
job_file= workdir= keep=0 iodiag= smp=1 mem= timeout=120 pidfile= trace=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --format) format=$2; shift 2 ;;
    --bus) bus=$2; shift 2 ;;
    --aio) aio=$2; shift 2 ;;
    --cache) cache_mode=$2; shift 2 ;;
    --no-iothread) iothread=0; shift ;;
    --probe) probe=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --job) job_file=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --iodiag) iodiag=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --pidfile) pidfile=$2; shift 2 ;;
    --trace) trace=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) say "unknown option $1"; usage; exit 1 ;;
  esac
done
case $format in raw|qcow2) ;; *) die "--format: raw or qcow2, not $format" ;; esac
case $bus in virtio-blk|virtio-scsi) ;; *) die "--bus: virtio-blk or virtio-scsi, not $bus" ;; esac
case $aio in threads|native|io_uring) ;; *) die "--aio: threads, native or io_uring, not $aio" ;; esac
case $cache_mode in none|writeback) ;; *) die "--cache: none or writeback, not $cache_mode" ;; esac
[[ $aio != native || $cache_mode == none ]] || die "--aio native needs --cache none (O_DIRECT)"
[[ -z $job_file || -r $job_file ]] || die "--job: cannot read $job_file"

# ---- prerequisites --------------------------------------------------------------------------
qemu=$(command -v qemu-system-x86_64 || true)
[[ -n $qemu ]] || missing "qemu-system-x86_64 (apt-get install qemu-system-x86)"
command -v qemu-img >/dev/null || missing "qemu-img (apt-get install qemu-utils)"
command -v cpio >/dev/null || missing "cpio (apt-get install cpio)"
command -v fio >/dev/null || missing "fio (apt-get install fio)"
busybox=/bin/busybox
# ldd fails on a static program: the initramfs has no libraries for a dynamic busybox.
[[ -x $busybox ]] && ! ldd "$busybox" >/dev/null 2>&1 || missing "a static busybox (apt-get install busybox-static)"
if [[ -z $iodiag ]]; then
  iodiag=$(ls -1t "$repo"/build*/iodiag 2>/dev/null | head -1 || true)
fi
[[ -n $iodiag && -x $iodiag ]] || missing "the iodiag binary (build it, or pass --iodiag PATH)"
iodiag=$(readlink -f "$iodiag")
find_kernel
build_initramfs

# ---- the run --------------------------------------------------------------------------------
if [[ -z $workdir ]]; then
  workdir=$(mktemp -d /var/tmp/vm-lab.XXXXXX)
  [[ $keep -eq 1 ]] || remove_workdir=1
else
  mkdir -p "$workdir"
fi
workdir=$(readlink -f "$workdir")
qemu_pid= trace_pid=
cleanup() {
  local rc=$?
  if [[ -n $trace_pid ]] && kill -0 "$trace_pid" 2>/dev/null; then
    kill -INT "$trace_pid" 2>/dev/null || true   # iodiag detaches on SIGINT
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do kill -0 "$trace_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$trace_pid" 2>/dev/null || true
  fi
  if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  [[ -z $pidfile ]] || rm -f "$pidfile"
  [[ -z ${remove_workdir:-} ]] || rm -rf "$workdir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

image="$workdir/disk.$format"
rm -f "$image"
qemu-img create -q -f "$format" "$image" "$size"

# The job goes in as a second cpio archive appended to the base one: the kernel unpacks both.
jobdir="$workdir/job"
rm -rf "$jobdir"; mkdir -p "$jobdir"
if [[ -n $job_file ]]; then
  cp "$job_file" "$jobdir/job.sh"
else
  # The scratch disk is the lab's own: the probe may overwrite it.
  printf 'iodiag probe %s --target "$1" --allow-destructive --size %s --runtime %s --json\n' \
    "$probe" "$size" "$runtime" >"$jobdir/job.sh"
fi
(cd "$jobdir" && echo job.sh | cpio -o -H newc --quiet) >"$workdir/job.cpio"
cat "$initrd_base" "$workdir/job.cpio" >"$workdir/initrd.cpio"

# The kernel holds the initramfs and its unpacked copy (a tmpfs of at most half the memory) at
# once: below about three times its size the unpacking fails with "write error" and the guest
# panics with no /init.
initrd_mb=$(( $(stat -c %s "$workdir/initrd.cpio") / 1048576 + 1 ))
mem_needed=$(( 3 * initrd_mb + 512 ))
if [[ -z $mem ]]; then
  mem=$(( mem_needed > 1024 ? mem_needed : 1024 ))
elif (( mem < mem_needed )); then
  say "warning: --mem $mem may be too small to unpack the ${initrd_mb} MB initramfs (${mem_needed} MB is safe)"
fi

accel=tcg
if [[ -w /dev/kvm ]] && "$qemu" -accel kvm -machine none -display none -S -qmp null \
     -daemonize -pidfile "$workdir/kvmcheck.pid" >/dev/null 2>&1; then
  kill "$(cat "$workdir/kvmcheck.pid")" 2>/dev/null || true
  accel=kvm
fi

direct=$([[ $cache_mode == none ]] && echo on || echo off)
args=(-name guest=iodiag-lab,debug-threads=on -machine q35 -accel "$accel" -cpu max -smp "$smp" -m "$mem"
      -display none -monitor none -serial "file:$workdir/console.log" -no-reboot
      -kernel "$kernel" -initrd "$workdir/initrd.cpio"
      -append "console=ttyS0 quiet loglevel=1 panic=-1"
      -blockdev "driver=file,filename=$image,node-name=file0,aio=$aio,cache.direct=$direct"
      -blockdev "driver=$format,file=file0,node-name=disk0")
iothread_opt=
if [[ $iothread -eq 1 ]]; then
  args+=(-object iothread,id=iothread0)
  iothread_opt=,iothread=iothread0
fi
if [[ $bus == virtio-blk ]]; then
  args+=(-device "virtio-blk-pci,drive=disk0,id=vdisk0$iothread_opt")
else
  args+=(-device "virtio-scsi-pci,id=scsi0$iothread_opt" -device "scsi-hd,drive=disk0,bus=scsi0.0")
fi
printf '%q ' "$qemu" "${args[@]}" >"$workdir/qemu.cmdline"; echo >>"$workdir/qemu.cmdline"

say "booting ($accel, $format, $bus, aio=$aio, cache=$cache_mode, iothread=$iothread) in $workdir"
start=$SECONDS
"$qemu" "${args[@]}" &
qemu_pid=$!
[[ -z $pidfile ]] || echo "$qemu_pid" >"$pidfile"
if [[ $trace -eq 1 ]]; then
  # Until QEMU exits: the trace covers the boot and the job.
  "$iodiag" kvm trace --pid "$qemu_pid" -d 0 --json >"$workdir/trace.json" 2>"$workdir/trace.log" &
  trace_pid=$!
fi
while kill -0 "$qemu_pid" 2>/dev/null; do
  if (( SECONDS - start > timeout )); then
    say "the guest ran longer than ${timeout}s: stopping it (console: $workdir/console.log)"
    tail -n 20 "$workdir/console.log" >&2 || true
    exit 1
  fi
  sleep 0.2
done
wait "$qemu_pid" || true
qemu_pid=
say "guest done in $((SECONDS - start))s"
if [[ -n $trace_pid ]]; then
  if ! wait "$trace_pid"; then
    trace_pid=
    say "iodiag kvm trace failed:"; cat "$workdir/trace.log" >&2
    exit 1
  fi
  trace_pid=
  say "host-side trace: $workdir/trace.json"
fi

console="$workdir/console.log"
tr -d '\r' <"$console" | sed -n '/^@@VMLAB-BEGIN@@$/,/^@@VMLAB-END rc=/p' | sed '1d;$d' >"$workdir/guest.json"
guest_rc=$(tr -d '\r' <"$console" | sed -n 's/^@@VMLAB-END rc=\([0-9]*\)@@$/\1/p')
if [[ -z $guest_rc ]]; then
  if grep -aq 'Initramfs unpacking failed' "$console"; then
    say "the guest could not unpack its ${initrd_mb} MB initramfs in ${mem} MB: give it more with --mem"
  fi
  say "the guest's job did not finish; the console's end:"
  tail -n 30 "$console" >&2
  exit 1
fi
if [[ $guest_rc -ne 0 ]]; then
  say "the guest's job failed (exit $guest_rc); its stderr:"
  tr -d '\r' <"$console" | sed -n '/^@@VMLAB-STDERR-BEGIN@@$/,/^@@VMLAB-STDERR-END@@$/p' | sed '1d;$d' >&2
  exit 1
fi
say "guest result: $workdir/guest.json"
[[ $command == run ]] || exit 0

if [[ -n $job_file ]]; then
  say "--job: no host probe or comparison (they need the probe's output)"
  exit 0
fi
# The host side: the same probe on the file system that holds the image.
"$iodiag" probe "$probe" --target "$workdir" --size "$size" --runtime "$runtime" --json >"$workdir/host.json"
say "host result: $workdir/host.json"
"$iodiag" kvm compare --guest "$workdir/guest.json" --host "$workdir/host.json" --json >"$workdir/compare.json"
"$iodiag" kvm compare --guest "$workdir/guest.json" --host "$workdir/host.json" >&2 || true
say "comparison: $workdir/compare.json"
