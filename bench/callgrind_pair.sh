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
# policy, a call to ssmem_alloc and one to ssmem_free per iteration. Its "net of loop" still
# holds the C loop's own extra work for the two calls (argument moves, call, result spill:
# about 7 instructions more than the baseline); the last column, "in API", counts only the
# instructions executed inside ssmem_alloc and ssmem_free (callgrind's inclusive cost of the
# two functions, 2N-N difference / N): the C path's cost per pair, comparable with the C++
# path's "net of loop" plus a call and a return each way.
#
#   ./bazelw build -c opt //bench:pair_loop && bench/callgrind_pair.sh [SIZE [N]]
#
# The figures of docs/benchmarks.md are from a -c opt build (the mode libssmem.a is installed
# in). A fastbuild pair_loop, although its sources get -O3 here too, measures the C path at
# 44.5 instead of 42.5 instructions: 2 more per pair from the build mode, not the code.
#
# GLIBC_TUNABLES: see dynlib.hpp (jemalloc needs static TLS room to be dlopen'd).
set -eu
bin="${PAIR_LOOP:-bazel-bin/bench/pair_loop}"
size="${1:-8}"
n="${2:-200000}"
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total() {  # PEER ITERATIONS -> total instructions (Ir); $tmp/api: inclusive Ir of ssmem_alloc + ssmem_free
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" "$size" >/dev/null 2>&1
  awk '/^summary:|^totals:/ { print $2; exit }' "$tmp/out"
  callgrind_annotate --inclusive=yes "$tmp/out" 2>/dev/null |
    awk '$3 ~ /:ssmem_(alloc|free)(_abi[0-9]+)?$/ { gsub(",", "", $1); s += $1 } END { print s + 0 }' >"$tmp/api"
  rm -f "$tmp/out"
}
per_iter() {  # PEER -> 2N-N difference of the totals; $tmp/api_diff: the same of the API's cost
  local t2 t1 a2
  t2=$(total "$1" $((2 * n)))
  a2=$(cat "$tmp/api")
  t1=$(total "$1" "$n")
  echo $((a2 - $(cat "$tmp/api"))) >"$tmp/api_diff"
  echo $((t2 - t1))
}
base=$(per_iter baseline)
printf "size %s B, N = %s; instructions per iteration (callgrind, 2N-N difference / N)\n" "$size" "$n"
printf "%-16s %10s %12s %8s\n" peer "raw/iter" "net of loop" "in API"
printf "%-16s %10.1f %12s %8s\n" baseline "$(echo "$base / $n" | bc -l)" "-" "-"
for p in ${PEERS:-ssmem ssmem-c ssmem-bump-none freelist glibc jemalloc mimalloc mimalloc-hold1 tcmalloc section section-c}; do
  d=$(per_iter "$p")
  a="-"
  if [ "$p" = ssmem-c ]; then
    # No cost inside the entry points means callgrind_annotate did not find them by name
    # (the symbols are versioned: ssmem_alloc_abiN): say so rather than print 0.
    [ "$(cat "$tmp/api_diff")" -gt 0 ] || { echo "callgrind_pair: ssmem_alloc/ssmem_free not found in the profile" >&2; exit 1; }
    a=$(printf "%.1f" "$(echo "$(cat "$tmp/api_diff") / $n" | bc -l)")
  fi
  printf "%-16s %10.1f %12.1f %8s\n" "$p" "$(echo "$d / $n" | bc -l)" "$(echo "($d - $base) / $n" | bc -l)" "$a"
done
