#!/usr/bin/env bash
# Instructions per operation of a W2-W4 workload at 1 thread, counted by callgrind: the
# benchmark runs for two durations and the difference of the instruction totals is divided
# by the difference of the operation counts (start-up, set-up and teardown cancel out; the
# monitor thread's sampling, about one wake-up per millisecond, stays in).
#
#   ./bazelw build //bench:throughput && bench/callgrind_workload.sh WORKLOAD PEER...
set -eu
bin="${THROUGHPUT:-bazel-bin/bench/throughput}"
w="$1"
shift
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 BENCH_STATIC_TLS_SET=1
tmp=$(mktemp -d)
run() {  # PEER SECONDS -> "instructions operations"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" --duration="$2" --reps=1 --no-warmup \
    --threads=1 --oversubscribe=none --workloads="$w" --sizes=8 --peers="$1" --out="$tmp/o" >/dev/null 2>&1
  echo "$(awk '/^summary:|^totals:/ { print $2; exit }' "$tmp/cg") $(awk -F, 'NR == 2 { print $6 }' "$tmp/o/runs.csv")"
}
for p in "$@"; do
  read -r i1 o1 < <(run "$p" 0.4)
  read -r i2 o2 < <(run "$p" 1.2)
  printf "%-12s %-16s %8.1f instructions/op\n" "$w" "$p" "$(echo "($i2 - $i1) / ($o2 - $o1)" | bc -l)"
done
rm -rf "$tmp"
