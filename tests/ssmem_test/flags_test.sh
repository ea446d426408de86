#!/usr/bin/env bash
# ssmem_test's command line: --help documents every flag and exits 0; each kind of bad
# input exits 2 with a message that names the problem (and runs nothing); a run prints the
# original's lines.
set -uo pipefail
bin="$1"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

out="$("${bin}" --help 2>&1)"; rc=$?
[[ ${rc} -eq 0 ]] || fail "--help exited ${rc}"
for flag in -h --help -d --duration -i --initial-size -n --num-threads -r --range \
            -t --nothing -e --release; do
  grep -q -- "${flag}\b" <<<"${out}" || fail "--help does not document ${flag}"
done
out="$("${bin}" -h 2>&1)"; rc=$?
[[ ${rc} -eq 0 && "${out}" == *Usage:* ]] || fail "-h exited ${rc} or printed no usage"

# expect_usage_error "<pattern in the message>" ARGS...
expect_usage_error() {
  local pattern="$1"; shift
  local out rc
  out="$("${bin}" "$@" 2>&1)"; rc=$?
  if [[ ${rc} -ne 2 ]]; then
    fail "'$*' exited ${rc}, expected 2 (output: ${out})"
  elif ! grep -qF -- "${pattern}" <<<"${out}"; then
    fail "'$*': message lacks '${pattern}' (output: ${out})"
  elif grep -q '^#throughput' <<<"${out}"; then
    fail "'$*' ran the test anyway"
  else
    echo "ok: '$*' -> ${out%%$'\n'*}"
  fi
}

expect_usage_error "unknown option '-x'" -x
expect_usage_error "unknown option '--bogus'" --bogus
expect_usage_error "unknown option '--durations'" -d 10 --durations 5
expect_usage_error "value '-5' out of range for -d" -d -5
expect_usage_error "value '-5' out of range for --duration" --duration -5
expect_usage_error "invalid value 'abc' for -d" -d abc
expect_usage_error "invalid value '10ms' for -d" -d 10ms
expect_usage_error "invalid value '' for --duration" --duration=
expect_usage_error "value '0' out of range for -n" -n 0
expect_usage_error "value '0' out of range for -i" -i 0
expect_usage_error "value '0' out of range for -r" -r 0
expect_usage_error "value '0' out of range for -d" -d 0
expect_usage_error "invalid value '99999999999999999999' for -r" -r 99999999999999999999
expect_usage_error "option -d requires a value" -d
expect_usage_error "option --num-threads requires a value" -r 8 --num-threads
expect_usage_error "option '--nothing=1' takes no value" --nothing=1
expect_usage_error "unexpected argument 'extra'" -d 10 extra
expect_usage_error "Use -h or --help for help" -q

# The output lines, in the original's formats (its src/ssmem_test.c and src/ssmem.c):
#   printf("# allocators: %d / threads: %d / range: %zu / do releases: %d / do nothing: %d\n", ...)
#   printf("[ALLOC] initializing allocator with fs size: %zu objects\n", ...)   (thread id 0)
#   printf("#throughput with %-4d threads: %10.0f = %.3f M\n", ...)
out="$("${bin}" -d 50 -n 2 -i 3 -r 64 -f 4 2>&1)"; rc=$?
[[ ${rc} -eq 0 ]] || fail "a short run exited ${rc}: ${out}"
first="${out%%$'\n'*}"
expected="# allocators: 3 / threads: 2 / range: 64 / do releases: 0 / do nothing: 0"
[[ "${first}" == "${expected}" ]] || fail "first line '${first}', expected the original's '${expected}'"
# Thread id 0 initialises 3 allocators (the others, and the main thread's, have other ids).
inits="$(grep -c '^\[ALLOC\] initializing allocator with fs size: 4 objects$' <<<"${out}")"
[[ "${inits}" -eq 3 ]] || fail "${inits} init lines of the original's format, expected 3: ${out}"
grep -Eq '^#throughput with 2    threads: +[0-9]+ = [0-9]+\.[0-9]{3} M$' <<<"${out}" ||
  fail "no throughput line in the original's format: ${out}"
out="$(SSMEM_QUIET=1 "${bin}" -d 50 -n 2 2>&1)"
grep -q '^\[ALLOC\]' <<<"${out}" && fail "SSMEM_QUIET=1 did not silence the init lines"
[[ "${out%%$'\n'*}" == "# allocators: 8 / threads: 2 / range: 2048 / do releases: 0 / do nothing: 0" ]] ||
  fail "first line with the defaults: '${out%%$'\n'*}'"
[[ ${failures} -eq 0 ]] && echo "ok: the parameter, init and throughput lines are the original's"

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} failure(s)"
  exit 1
fi
echo "all flag checks passed"
