#!/usr/bin/env bash
# A short correct run exits 0, prints the parameter lines with the settings it was given and
# the throughput line, and reports no corrupted slot; likewise with releases (-e) and with
# alloc/free only (-t). (flags_test checks the lines' formats against the original's.)
set -uo pipefail
bin="$1"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run_ok "<expected fragment of the parameter lines>" ARGS...
run_ok() {
  local params="$1"; shift
  local out rc
  out="$(SSMEM_QUIET=1 "${bin}" "$@" 2>&1)"; rc=$?
  echo "\$ ssmem_test $*"
  echo "${out}"
  [[ ${rc} -eq 0 ]] || fail "'$*' exited ${rc}"
  params_lines="$(head -2 <<<"${out}" | tr '\n' ' ')"
  grep -q -- "${params}" <<<"${params_lines}" || fail "'$*': no parameter lines with '${params}'"
  grep -Eq '^#throughput with [0-9]+ +threads: +[0-9]+ = [0-9]+\.[0-9]{3} M$' <<<"${out}" ||
    fail "'$*': no throughput line"
  if grep -q '^!!' <<<"${out}"; then fail "'$*' reported corruption"; fi
  # Some work was done: the throughput is not zero.
  grep -Eq 'threads: +0 =' <<<"${out}" && fail "'$*': zero throughput"
}

run_ok "threads: 2 / range: 64 / .*duration: 200 ms" -d 200 -n 2 -r 64
run_ok "allocators: 2 / threads: 2 / range: 256 / do releases: 1 / do nothing: 0" \
  --duration 150 --num-threads 2 --range 256 --release --initial-size 2
run_ok "do releases: 1 / do nothing: 1" -d 100 -n 2 -t -e
# The pressure under which the unsafe library is caught (unsafe_reclamation_is_detected_test),
# with tiny free sets on top: the correct library must pass it.
run_ok "allocators: 1 / .*range: 16 / .*free set: 2 / hold: 200" -d 150 -n 2 -i 1 -r 16 -w 200 -f 2

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} failure(s)"
  exit 1
fi
echo "all correct runs passed"
