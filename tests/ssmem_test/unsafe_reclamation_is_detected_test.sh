#!/usr/bin/env bash
# The end-of-run check must fail on an unsafe configuration. ssmem_test_unsafe's library
# reuses freed objects at once (mutant 6, verification/mutants), so a thread that loaded a slot's pointer can
# read an object already reused for another slot and copy the wrong index. With few slots,
# one allocator per thread (immediate reuse by the next alloc), 2 threads and a reader that
# holds each object for 200 spins (-w: so that the race shows even when both threads share
# one busy core), every run must exit 1 and print corrupted slots; a single run that passes
# fails this test. correct_run_test runs the safe library under the same pressure.
set -uo pipefail
bin="$1"
runs=20
detected=0
for ((i = 1; i <= runs; i++)); do
  out="$("${bin}" -d 150 -n 2 -r 16 -i 1 -w 200 2>&1)"; rc=$?
  if [[ ${rc} -eq 1 ]] && grep -Eq '^!! [0-9]+ = [0-9]+$' <<<"${out}"; then
    detected=$((detected + 1))
  else
    echo "run ${i}: corruption NOT detected (exit ${rc}):"
    echo "${out}"
  fi
  [[ ${i} -eq 1 ]] && echo "${out}" | head -8
done
echo "corruption detected in ${detected} of ${runs} runs"
[[ ${detected} -eq ${runs} ]]
