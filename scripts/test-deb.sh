#!/usr/bin/env bash
# Builds iodiag's .deb in BUILD_DIR (cpack -G DEB), installs it with apt-get so that its Depends
# resolve, tries the installed /usr/bin/iodiag (--version, the playbooks and probe jobs it finds
# under /usr/share/iodiag, the demo end to end), then purges it, also when a step fails.
# Needs root. About a minute, most of it the demo.
#
#   scripts/test-deb.sh BUILD_DIR
set -euo pipefail

build_dir=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
say() { echo "test-deb: $*"; }
die() { echo "test-deb: FAILED: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (apt-get install)"
# The purge at the end would remove an iodiag someone installed on purpose.
if [[ $(dpkg-query -W -f='${db:Status-Status}' iodiag 2>/dev/null || true) == installed ]]; then
  die "a package iodiag is installed already; remove it first (apt-get purge iodiag)"
fi

cd "$build_dir"
rm -f iodiag_*.deb
cpack -G DEB > cpack.log 2>&1 || { cat cpack.log >&2; die "cpack -G DEB"; }
debs=(iodiag_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || die "expected one iodiag_*.deb in $build_dir, found: ${debs[*]}"
deb=$build_dir/${debs[0]}
say "built $deb"

contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/iodiag ./usr/share/iodiag/workloads/ ./usr/share/iodiag/playbooks/slow-process.json; do
  grep -q " $path" <<< "$contents" || die "$path is not in the package"
done
depends=$(dpkg-deb --field "$deb" Depends)
for package in fio strace libbpf1; do
  grep -Eq "(^|, )$package( |,|$)" <<< "$depends" || die "Depends lacks $package: $depends"
done
say "Depends: $depends"

demo_dir=$(mktemp -d /var/tmp/iodiag-deb-XXXXXX)
cleanup() {
  rm -rf "$demo_dir"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q iodiag > /dev/null || true
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" > apt.log 2>&1 ||
  { cat apt.log >&2; die "apt-get install $deb"; }

# From elsewhere, and with no override, so the installed data is what it finds.
cd /
unset IODIAG_PLAYBOOKS
version=$(/usr/bin/iodiag --version)
[[ $version == "iodiag $(dpkg-deb --field "$deb" Version)" ]] || die "--version says: $version"
say "$version"
/usr/bin/iodiag diagnose --list-playbooks --json | grep -q '"file": "/usr/share/iodiag/playbooks/' ||
  die "the installed iodiag does not read its playbooks from /usr/share/iodiag/playbooks"

say "iodiag demo --keep $demo_dir (about 40 s)"
/usr/bin/iodiag demo --keep "$demo_dir" > "$demo_dir/demo-output.txt" 2>&1 || { cat "$demo_dir/demo-output.txt" >&2; die "iodiag demo"; }
grep -q "^report: " "$demo_dir/demo-output.txt" || { cat "$demo_dir/demo-output.txt" >&2; die "the demo printed no report"; }
[[ -s $demo_dir/diagnosis/report.html && -s $demo_dir/diagnosis/model.json ]] || die "the demo wrote no report or model"

cleanup
trap - EXIT
[[ ! -e /usr/bin/iodiag ]] || die "/usr/bin/iodiag is still there after apt-get purge"
say "ok: installed, ran and purged $(basename "$deb")"
