#!/usr/bin/env bash
# Installs what iodiag needs to build, test and run. Idempotent: it only calls apt-get (and runs
# `apt-get update`, once) when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libbpf-dev bpftool clang llvm libelf-dev libdw-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev catch2 libexpected-dev
  fio strace linux-perf sqlite3
  libpugixml-dev qemu-utils qemu-system-x86 xfsprogs btrfs-progs e2fsprogs fdisk
  tmux
  chromium
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
