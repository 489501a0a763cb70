#!/usr/bin/env bash
# Runs the benchmark suite (./bench) and the peer comparison (./bench/peers, a nested module)
# with -count, summarises both with benchstat, and writes the markdown tables (time/op, B/op,
# allocs/op, ratio to the signature-check floor) into bench/README.md with date and machine.
#
#   scripts/bench.sh                          # COUNT=6 BENCHTIME=300ms, about 6 minutes on 2 cores
#   COUNT=10 BENCHTIME=1s scripts/bench.sh    # steadier figures
#   BENCH='HotPath/ES256' scripts/bench.sh    # a subset of ./bench (the peers always run whole)
#
# Raw outputs stay in bench/results/ (suite.txt, peers.txt and their benchstat CSV).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${COUNT:-6}"
benchtime="${BENCHTIME:-300ms}"
filter="${BENCH:-.}"
out=bench/results
mkdir -p "$out"

benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da
benchstat="$(go env GOPATH)/bin/benchstat"
if [ ! -x "$benchstat" ]; then
  (cd /tmp && GOFLAGS= go install "golang.org/x/perf/cmd/benchstat@${benchstat_version}")
fi

load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
echo "== ./bench (count $count, benchtime $benchtime)"
go test -run '^$' -bench "$filter" -benchtime "$benchtime" -count "$count" -timeout 60m ./bench | tee "$out/suite.txt"
echo "== ./bench/peers"
(cd bench/peers && go test -run '^$' -bench . -benchtime "$benchtime" -count "$count" -timeout 60m .) | tee "$out/peers.txt"

"$benchstat" -format csv "$out/suite.txt" > "$out/suite.csv" 2>/dev/null
"$benchstat" -format csv "$out/peers.txt" > "$out/peers.csv" 2>/dev/null

load_end="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)"
header="Run $(date -u '+%Y-%m-%d %H:%M UTC') on ${cpu:-unknown CPU}, $(nproc) cores ($(go env GOOS)/$(go env GOARCH)), $(go version | awk '{print $3}'); \`COUNT=$count BENCHTIME=$benchtime scripts/bench.sh\`: medians of $count runs (± is benchstat's 95% confidence interval); 1-minute load average ${load_start} at the start, ${load_end} at the end (other work on the machine shows as wide ± intervals)."
go run ./bench/internal/benchmd -suite "$out/suite.csv" -peers "$out/peers.csv" -header "$header" -readme bench/README.md
echo "== wrote bench/README.md"
