#!/usr/bin/env bash
# Counts the instructions of a decision: valgrind's callgrind runs BenchmarkAccounts' <alg>/floor
# and <alg>/assume rows (at 1/100 size unless WEBIDENTITY_BENCH_SCALE says otherwise) collecting
# only inside bench.floorOp and bench.assumeOp, and prints per op what each row executes outside
# crypto/ (the decision's own work, and the floor's few conversions), the totals with their
# ratio, and the functions outside crypto/ that execute most. The count outside crypto/ is the
# one to compare builds by: it moves by about ±200 instructions from run to run (other
# goroutines the scheduler runs inside an op, the registry's hash seeds, random per process),
# while the totals move by thousands, since each run mints its own tokens and the cost of a
# signature check depends on their values (Ed25519's and ECDSA's variable-time scalar
# multiplications). Counts do not depend on the machine's load; time does not follow them one
# for one (cache misses, branch mispredictions), so the timed benchmarks stay the judge of the
# goals.
#
#   scripts/instructions.sh                  # RS256 ES256 EdDSA, N=1000 ops each; about 6 minutes
#   ALGS=EdDSA N=2000 scripts/instructions.sh
#   TOP=40 scripts/instructions.sh           # a longer list of functions
#
# Needs valgrind (Debian's package). Raw outputs stay in bench/results/callgrind.<alg>.<row>.*.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
algs="${ALGS:-RS256 ES256 EdDSA}"
n="${N:-1000}"
top="${TOP:-25}"
out=bench/results
mkdir -p "$out"
bin="$out/bench.test"
go test -c -o "$bin" ./bench

# count <alg> <row> <op function>: callgrind's run of one row collecting inside the op function
# only; prints the instructions collected and the op function's calls: N+1, since the testing
# package runs a benchmark once with b.N = 1 before the run with b.N = N that -benchtime Nx asks
# for. (Callgrind's own call counts are not usable here: goroutine switches inside an op make it
# attribute calls to the wrong callers.)
count() {
  local cg="$out/callgrind.$1.$2.out"
  # Go's asynchronous preemption signals crash callgrind; the rows run without them, and
  # without the collector, whose assists and workers would land in the counts unevenly.
  GOGC=off GODEBUG=asyncpreemptoff=1 WEBIDENTITY_BENCH_ROUNDS=1 \
    valgrind --tool=callgrind --collect-atstart=no "--toggle-collect=github.com/webidentity/webidentity/bench.$3" \
      --callgrind-out-file="$cg" \
      "$bin" -test.run '^$' -test.bench "Accounts/$1/$2\$" -test.benchtime "${n}x" \
      >"$out/callgrind.$1.$2.log" 2>&1 || { tail -20 "$out/callgrind.$1.$2.log" >&2; return 1; }
  grep -Eq "^BenchmarkAccounts/$1/$2-[0-9]+[[:space:]]+$n[[:space:]]" "$out/callgrind.$1.$2.log" ||
    { echo "instructions.sh: $1/$2 did not run $n ops (see $out/callgrind.$1.$2.log)" >&2; return 1; }
  callgrind_annotate --threshold=100 "$cg" 2>/dev/null |
    awk -v calls="$((n + 1))" '/PROGRAM TOTALS/ { v = $1; gsub(",", "", v); printf "%.0f %d\n", v, calls }'
}

# outside <callgrind file> <calls>: the self cost per op of every function outside crypto/.
outside() {
  callgrind_annotate --threshold=100 "$1" 2>/dev/null |
    awk -v calls="$2" '
      /file:function/ { on = 1; next }
      /Auto-annotated source/ { on = 0 } # read on to the end: exit would fail the pipe
      on && $1 ~ /^[0-9,]+$/ {
        v = $1; gsub(",", "", v)
        f = $0; sub(/^[^%]*%\) +/, "", f); sub(/ .*/, "", f)
        if (f !~ /\/src\/crypto\//) sum += v
      }
      END { printf "%.0f\n", sum / calls }'
}

for alg in $algs; do
  read -r ftotal fcalls < <(count "$alg" floor floorOp)
  read -r atotal acalls < <(count "$alg" assume assumeOp)
  if [ "${fcalls:-0}" = 0 ] || [ "${acalls:-0}" = 0 ]; then
    echo "instructions.sh: $alg: no calls collected (see $out/callgrind.$alg.*.log)" >&2
    exit 1
  fi
  fout="$(outside "$out/callgrind.$alg.floor.out" "$fcalls")"
  aout="$(outside "$out/callgrind.$alg.assume.out" "$acalls")"
  awk -v alg="$alg" -v ft="$ftotal" -v fc="$fcalls" -v at="$atotal" -v ac="$acalls" -v fo="$fout" -v ao="$aout" 'BEGIN {
    f = ft / fc; a = at / ac
    printf "%s: outside crypto/, floor %.0f and assume %.0f instructions/op: %.0f added\n", alg, fo, ao, ao - fo
    printf "%s: in all, floor %.0f and assume %.0f instructions/op (x%.3f)\n", alg, f, a, a / f }'
  # The self cost of every function outside crypto/, per assume op.
  callgrind_annotate --threshold=100 "$out/callgrind.$alg.assume.out" 2>/dev/null |
    awk -v calls="$acalls" -v top="$top" '
      /file:function/ { on = 1; next }
      /Auto-annotated source/ { on = 0 } # read on to the end: exit would fail the pipe
      on && $1 ~ /^[0-9,]+$/ {
        v = $1; gsub(",", "", v)
        f = $0; sub(/^[^%]*%\) +/, "", f); sub(/ .*/, "", f)
        if (f ~ /\/src\/crypto\//) next
        sub(/^[^:]*:/, "", f)
        if (shown < top) { printf "  %8.0f  %s\n", v / calls, f; shown++ }
      }'
done
