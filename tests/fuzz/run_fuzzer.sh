#!/usr/bin/env bash
# The API fuzzer as a test (tests/fuzz/BUILD): replays every committed input, one at a time,
# then fuzzes a bounded run from them. docs/sanitizers.md, "The API fuzzer".
#
# Usage: run_fuzzer.sh [options] FUZZER DIR...
#   --runs N             inputs to run after the replay (libFuzzer's -runs; 0: replay only,
#                        -1: until --max-time)                       [env SSMEM_FUZZ_RUNS]
#   --max-time S         the fuzzing run stops after S seconds at most [env SSMEM_FUZZ_SECONDS]
#   --seed N             libFuzzer's seed (the same seed makes nearly the same run: see
#                        `fixed` below)                             [env SSMEM_FUZZ_SEED]
#   --known-bugs NAMES   SSMEM_FUZZ_KNOWN_BUGS for the fuzzer (api_fuzzer.cc, known_bugs)
#   --expect-failure RE  a negative control: passes only if the replay fails and its output
#                        matches the extended regular expression RE
# DIR: committed inputs (the seed corpus, regressions). New inputs go to a scratch directory; a
# crashing input is written to $TEST_UNDECLARED_OUTPUTS_DIR (under Bazel:
# bazel-testlogs/tests/fuzz/<test>/test.outputs/), to be committed as a regression.
set -uo pipefail

runs=0
max_time=60
seed=1
known_bugs=""
expect=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --max-time) max_time="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --known-bugs) known_bugs="$2"; shift 2 ;;
    --expect-failure) expect="$2"; shift 2 ;;
    *) break ;;
  esac
done
runs="${SSMEM_FUZZ_RUNS:-${runs}}"
max_time="${SSMEM_FUZZ_SECONDS:-${max_time}}"
seed="${SSMEM_FUZZ_SEED:-${seed}}"
if [[ $# -lt 2 ]]; then
  echo "usage: $0 [options] FUZZER DIR..." >&2
  exit 2
fi
fuzzer="$1"
shift
dirs=("$@")
[[ -n "${known_bugs}" ]] && export SSMEM_FUZZ_KNOWN_BUGS="${known_bugs}"

# The same seed makes nearly the same run: the fuzzer's threads work in lock step, but the
# checked registry's tables and the fuzzer's model order objects by address, which libFuzzer
# sees as coverage, and libFuzzer reloads the corpus directory every second. So the fuzzer runs
# without address randomisation where the kernel allows it (as run_under.sh does for TSan) and
# with -reload=0: two runs then start alike and part only where a coverage count still differs
# (inputs with many one-page chunks). A failing input replays the same way every time.
fixed=()
if setarch "$(uname -m)" -R true 2>/dev/null; then
  fixed=(setarch "$(uname -m)" -R)
else
  echo "note: setarch -R is not allowed here: the fuzzing run may differ from run to run"
fi

scratch="${TEST_TMPDIR:-$(mktemp -d)}"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${scratch}}"
log="${scratch}/replay.log"

# 1. Replay: every committed input once, by name, so that a failure names its input.
files=()
for d in "${dirs[@]}"; do
  [[ -d "$d" ]] || continue  # e.g. regressions/ before the first finding
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find -L "$d" -type f -print0 | sort -z)
done
if [[ ${#files[@]} -eq 0 ]]; then
  echo "FAIL: no inputs in ${dirs[*]}"
  exit 1
fi
echo "replaying ${#files[@]} inputs from ${dirs[*]}${known_bugs:+ (SSMEM_FUZZ_KNOWN_BUGS=${known_bugs})}"
"${fixed[@]}" "${fuzzer}" -artifact_prefix="${out}/" "${files[@]}" >"${log}" 2>&1
rc=$?
if [[ -n "${expect}" ]]; then
  # A negative control: the replay must fail, with the expected report.
  if [[ ${rc} -ne 0 ]] && grep -Eq -- "${expect}" "${log}"; then
    grep -E -m1 -- "${expect}" "${log}"
    echo "ok: the replay failed as expected (exit ${rc})"
    exit 0
  fi
  tail -n 40 "${log}"
  echo "FAIL: expected the replay to fail with output matching: ${expect} (exit ${rc})"
  exit 1
fi
if [[ ${rc} -ne 0 ]]; then
  cat "${log}"
  echo "FAIL: replaying the committed inputs (exit ${rc}); the failing input is the last 'Running:' above"
  exit 1
fi
echo "ok: every committed input ran clean"

# 2. A bounded fuzzing run from them. New inputs go to a scratch corpus (first directory).
[[ "${runs}" == 0 ]] && exit 0
mkdir -p "${scratch}/corpus"
existing=()
for d in "${dirs[@]}"; do [[ -d "$d" ]] && existing+=("$d"); done
echo "fuzzing: -seed=${seed} -runs=${runs} -max_total_time=${max_time}"
# -timeout: an input that runs 120 s is a hang (the slowest seen took 10 s on a loaded machine);
# libFuzzer's alarm for it fires every 61 s, after a run of the default length has ended.
"${fixed[@]}" "${fuzzer}" -seed="${seed}" -runs="${runs}" -max_total_time="${max_time}" -reload=0 \
  -max_len=512 -timeout=120 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="${out}/" \
  "${scratch}/corpus" "${existing[@]}" >"${scratch}/fuzz.log" 2>&1
rc=$?
grep -E "^#[0-9]+ +(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" \
  "${scratch}/fuzz.log"
if [[ ${rc} -ne 0 ]]; then
  tail -n 80 "${scratch}/fuzz.log"
  echo "FAIL: the fuzzer found a failing input (exit ${rc}); it is in ${out} (crash-*), replay it with"
  echo "  SSMEM_FUZZ_TRACE=1 bazel-bin/tests/fuzz/api_fuzzer <crash file>"
  exit 1
fi
echo "ok: no failure in the fuzzing run"
