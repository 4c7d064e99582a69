#!/usr/bin/env bash
# Lists the tests ctest counted as skipped in a build folder's last run, each with its reason (the
# "skipped: ..." line the test printed), so a green run shows what it did not check.
set -euo pipefail
log="${1:-build}/Testing/Temporary/LastTest.log"
[[ -f "$log" ]] || exit 0
awk '
  /^[0-9]+\/[0-9]+ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); name = $0; next }
  /^ *skipped: / && name != "" { sub(/^ */, ""); reasons[name] = $0 }
  END {
    n = 0
    for (t in reasons) n++
    if (n == 0) { print "skipped tests: none"; exit }
    print "skipped tests (" n "):"
    for (t in reasons) print "  " t ": " reasons[t]
  }' "$log"
