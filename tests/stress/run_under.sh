#!/usr/bin/env bash
# run_under.sh -- run one stress-test binary the way tests/stress/stress.bzl wants it.
#
#   run_under.sh --sanitizer SAN [--expect-failure REGEX] [--runs N] BINARY [ARGS...]
#
# TSan (SAN=tsan): clang 14's ThreadSanitizer runtime aborts at start-up with "FATAL:
# ThreadSanitizer: unexpected memory mapping" when the kernel randomises mmap addresses with
# more than 28 bits (vm.mmap_rnd_bits, 32 on some recent distribution kernels); LLVM 18 re-execs
# itself without randomisation, clang 14 does not. On such kernels the binary runs under
# `setarch -R` (personality ADDR_NO_RANDOMIZE), which TSan's memory layout is happy with.
#
# Without --expect-failure: exits with the binary's status (each of N runs must pass).
# With --expect-failure: a negative control. Every run must exit non-zero AND print output
# matching REGEX (so that a crash for an unrelated reason does not count); passes otherwise.
set -uo pipefail

sanitizer=plain
expect=
runs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sanitizer) sanitizer=$2; shift 2 ;;
    --expect-failure) expect=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: $0 --sanitizer SAN [--expect-failure RE] [--runs N] BINARY" >&2; exit 2; }

launcher=()
if [[ "$sanitizer" == tsan ]]; then
  bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
  if (( bits > 28 )); then
    if command -v setarch >/dev/null 2>&1; then
      echo "run_under: vm.mmap_rnd_bits=$bits > 28: running under setarch -R for clang 14 TSan"
      launcher=(setarch "$(uname -m)" -R)
    else
      echo "run_under: vm.mmap_rnd_bits=$bits > 28 and no setarch: TSan may refuse to start" >&2
    fi
  fi
fi

if [[ -z "$expect" ]]; then
  for ((i = 1; i <= runs; i++)); do
    "${launcher[@]}" "$@" || exit $?
  done
  exit 0
fi

log=${TEST_TMPDIR:-/tmp}/negative_control.$$.log
for ((i = 1; i <= runs; i++)); do
  start=$SECONDS
  "${launcher[@]}" "$@" >"$log" 2>&1
  status=$?
  if [[ $status -eq 0 ]]; then
    echo "negative control: run $i/$runs of the broken build PASSED: the checks missed the bug"
    cat "$log"
    exit 1
  fi
  if ! grep -Eq -- "$expect" "$log"; then
    echo "negative control: run $i/$runs failed (status $status) without the expected report /$expect/:"
    cat "$log"
    exit 1
  fi
  echo "negative control: run $i/$runs failed as expected (status $status, $((SECONDS - start)) s):"
  grep -Em3 -- "$expect" "$log" | cut -c1-200
done
exit 0
