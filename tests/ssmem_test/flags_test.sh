#!/usr/bin/env bash
# ssmem_test's command line: --help documents every flag and exits 0; each kind of bad
# input exits 2 with a message that names the problem (and runs nothing).
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

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} failure(s)"
  exit 1
fi
echo "all flag checks passed"
