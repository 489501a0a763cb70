#!/usr/bin/env bash
# Runs the benchmark suite (./bench) and the peer comparison (./bench/peers, a nested module)
# with -count, summarises both with benchstat, and writes the markdown tables (time/op, B/op,
# allocs/op, ratio to the signature-check floor) into bench/README.md with date and machine.
#
#   scripts/bench.sh                          # COUNT=6 BENCHTIME=300ms, about 6 minutes on 2 cores
#   COUNT=10 BENCHTIME=1s scripts/bench.sh    # steadier figures
#   BENCH='HotPath/ES256' scripts/bench.sh    # a subset of ./bench (the peers always run whole)
#
# BenchmarkAccounts (the multi-account registry) is left out of that run and has a mode of its
# own, at full size (100,000 providers, 200,000 roles; about 3 minutes on 2 cores), which writes
# the "Many accounts" section of bench/README.md:
#
#   scripts/bench.sh accounts                 # ROUNDS=6 BENCHTIME=500ms WEBIDENTITY_BENCH_SCALE=full
#
# Raw outputs stay in bench/results/ (suite.txt, peers.txt, accounts.txt and their benchstat CSV).
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

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
machine() {
  local cpu
  cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)"
  echo "${cpu:-unknown CPU}, $(nproc) cores ($(go env GOOS)/$(go env GOARCH)), $(go version | awk '{print $3}')"
}

if [ "${1:-}" = accounts ]; then
  # The sub-benchmarks run in ROUNDS rounds of the whole sequence (floor, assume, assume under
  # writes, ...), so that every ratio pairs neighbouring runs; Go names the repeats name#01,
  # name#02, which are folded back into one name for benchstat.
  rounds="${ROUNDS:-6}"
  benchtime="${BENCHTIME:-500ms}"
  scale="${WEBIDENTITY_BENCH_SCALE:-full}"
  load_start="$(loadavg)"
  # The 1-minute load average every 10 s while it runs: the machine may be shared.
  (while sleep 10; do cut -d' ' -f1 /proc/loadavg; done) > "$out/accounts-load.txt" 2>/dev/null &
  sampler=$!
  trap 'kill "$sampler" 2>/dev/null || true' EXIT
  echo "== BenchmarkAccounts (scale $scale, rounds $rounds, benchtime $benchtime)"
  WEBIDENTITY_BENCH_SCALE="$scale" WEBIDENTITY_BENCH_ROUNDS="$rounds" \
    go test -run '^$' -bench '^BenchmarkAccounts$' -benchtime "$benchtime" -count 1 -timeout 60m ./bench | tee "$out/accounts.txt"
  load_end="$(loadavg)"
  kill "$sampler" 2>/dev/null || true
  load_during="$(sort -n "$out/accounts-load.txt" | awk '{v[NR]=$1} END {if (NR) printf "%s to %s (median %s, %d samples)", v[1], v[NR], v[int((NR+1)/2)], NR; else printf "?"}')"
  sed -E 's/#[0-9]+(-[0-9]+[[:space:]])/\1/' "$out/accounts.txt" > "$out/accounts-folded.txt"
  "$benchstat" -format csv "$out/accounts-folded.txt" > "$out/accounts.csv" 2>/dev/null
  header="Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(machine); \`WEBIDENTITY_BENCH_SCALE=$scale ROUNDS=$rounds BENCHTIME=$benchtime scripts/bench.sh accounts\`: medians of $rounds rounds (± is benchstat's 95% confidence interval, given from 6 rounds); load average (1, 5, 15 minutes) ${load_start} at the start, ${load_end} at the end; 1-minute load average during the run ${load_during}."
  go run ./bench/internal/benchmd -accounts "$out/accounts.csv" -header "$header" -readme bench/README.md
  echo "== wrote the Many accounts section of bench/README.md"
  exit 0
fi

load_start="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
echo "== ./bench (count $count, benchtime $benchtime)"
go test -run '^$' -bench "$filter" -skip '^BenchmarkAccounts$' -benchtime "$benchtime" -count "$count" -timeout 60m ./bench | tee "$out/suite.txt"
echo "== ./bench/peers"
(cd bench/peers && go test -run '^$' -bench . -benchtime "$benchtime" -count "$count" -timeout 60m .) | tee "$out/peers.txt"

"$benchstat" -format csv "$out/suite.txt" > "$out/suite.csv" 2>/dev/null
"$benchstat" -format csv "$out/peers.txt" > "$out/peers.csv" 2>/dev/null

load_end="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)"
header="Run $(date -u '+%Y-%m-%d %H:%M UTC') on ${cpu:-unknown CPU}, $(nproc) cores ($(go env GOOS)/$(go env GOARCH)), $(go version | awk '{print $3}'); \`COUNT=$count BENCHTIME=$benchtime scripts/bench.sh\`: medians of $count runs (± is benchstat's 95% confidence interval); 1-minute load average ${load_start} at the start, ${load_end} at the end (other work on the machine shows as wide ± intervals)."
go run ./bench/internal/benchmd -suite "$out/suite.csv" -peers "$out/peers.csv" -header "$header" -readme bench/README.md
echo "== wrote bench/README.md"
