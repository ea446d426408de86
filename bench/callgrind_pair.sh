#!/usr/bin/env bash
# Instructions per allocate+free pair, counted by callgrind: each peer's loop runs N and 2N
# iterations and the difference of the two totals, divided by N, is the cost of one
# iteration with start-up and teardown cancelled out; the baseline loop's figure (the
# harness: loop, one-byte write, escapes) is subtracted from it.
#
# Output: one line per peer: instructions per iteration, raw and net of the baseline loop.
# `ssmem` is the C++ API (allocator::allocate/deallocate, inlined into the loop); `ssmem-c`
# is the C API as a C program calls it: the same loop compiled as C (bench/peers/ssmem_c.c),
# one allocator from ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 0), default timestamp
# policy, a call to ssmem_alloc and one to ssmem_free per iteration.
#
#   ./bazelw build //bench:pair_loop && bench/callgrind_pair.sh [SIZE [N]]
#
# GLIBC_TUNABLES: see dynlib.hpp (jemalloc needs static TLS room to be dlopen'd).
set -eu
bin="${PAIR_LOOP:-bazel-bin/bench/pair_loop}"
size="${1:-8}"
n="${2:-200000}"
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
total() {  # PEER ITERATIONS -> total instructions (Ir)
  local f
  f=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" "$1" "$2" "$size" >/dev/null 2>&1
  awk '/^summary:|^totals:/ { print $2; exit }' "$f"
  rm -f "$f"
}
per_iter() { echo $(( ($(total "$1" $((2 * n))) - $(total "$1" "$n")) )); }
base=$(per_iter baseline)
printf "size %s B, N = %s; instructions per iteration (callgrind, 2N-N difference / N)\n" "$size" "$n"
printf "%-16s %10s %12s\n" peer "raw/iter" "net of loop"
printf "%-16s %10.1f %12s\n" baseline "$(echo "$base / $n" | bc -l)" "-"
for p in ${PEERS:-ssmem ssmem-c ssmem-bump-none freelist glibc jemalloc mimalloc mimalloc-hold1 tcmalloc}; do
  d=$(per_iter "$p")
  printf "%-16s %10.1f %12.1f\n" "$p" "$(echo "$d / $n" | bc -l)" "$(echo "($d - $base) / $n" | bc -l)"
done
