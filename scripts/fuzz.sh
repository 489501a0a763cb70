#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a fixed time each.
#   scripts/fuzz.sh            # 10s per target (the CI smoke run)
#   FUZZTIME=10m scripts/fuzz.sh   # long run; findings land in the package's testdata/fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
status=0
for pkg in $(go list ./...); do
  dir="$(go list -f '{{.Dir}}' "$pkg")"
  targets="$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)"
  for t in $targets; do
    echo "== fuzz $pkg $t ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg"; then
      status=1
    fi
  done
done
exit $status
