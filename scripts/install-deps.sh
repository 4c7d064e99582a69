#!/usr/bin/env bash
# Installs what iodiag needs to build, test and run. Idempotent: it only calls apt-get (and runs
# `apt-get update`, once) when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libbpf-dev bpftool clang llvm libelf-dev libdw-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev catch2 libexpected-dev
  fio strace linux-perf sqlite3
  postgresql  # real-app tests: a scratch cluster under pgbench (tests/integration/test_model_postgres.cpp)
  libpugixml-dev qemu-utils qemu-system-x86 xfsprogs btrfs-progs e2fsprogs fdisk
  busybox-static cpio
  file  # CPack runs it on the binary for the .deb's Depends (scripts/test-deb.sh)
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

# The VM lab's guest kernel (scripts/vm-lab.sh): linux-image-amd64's files, downloaded, not
# installed (the host keeps its own kernel).
fetch_guest_kernel() {
  if [[ $(id -u) -eq 0 ]]; then
    "$(dirname "${BASH_SOURCE[0]}")/vm-lab.sh" fetch || echo "install-deps: no guest kernel for the VM lab" >&2
  fi
}

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  fetch_guest_kernel
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
fetch_guest_kernel
