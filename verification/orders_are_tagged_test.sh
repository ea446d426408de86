#!/bin/bash
# Lint of the algorithm headers (every ssmem/*.hpp and ssmem/detail/*.hpp except the native
# policy, the native C++ API, the native-only checked build and the policy concept itself): each std::memory_order must have an [Sn] tag or a
# "relaxed:" reason on its line or in the comment lines just above it, and no algorithm header
# may name std::atomic<, std::atomic_thread_fence or thread_local (they go through the policy).
# Usage: orders_are_tagged_test.sh [--expect-failure] HEADER...
#   --expect-failure: the lint's own negative control (passes only if the headers are rejected)
expect_failure=0
if [ "$1" = "--expect-failure" ]; then expect_failure=1; shift; fi
status=0
for f in "$@"; do
  case "$f" in
    */native_policy.hpp|*/detail/checked.hpp|*/ssmem.hpp|*/policy.hpp) continue ;;
  esac
  if grep -nE 'std::atomic<|std::atomic_thread_fence|thread_local' "$f" | grep -vE '^[0-9]+:\s*(//|///)'; then
    echo "$f: names std::atomic, a std fence or thread_local outside a comment (use the policy)"
    status=1
  fi
  # For each line with memory_order_: a tag or reason on it or up to 8 lines above it (the
  # statement and the comment block before it; a blank line ends the search), unless the line
  # is a mutant branch (ssmem/detail/mutant.hpp: deliberate weakenings, tagged there).
  awk -v file="$f" '
    { line[NR] = $0 }
    /memory_order_/ && !/^[[:space:]]*\/\// {
      ok = 0
      for (i = NR; i >= NR - 8 && i >= 1; --i) {
        if (i < NR && line[i] ~ /^[[:space:]]*$/) break
        if (line[i] ~ /\[S[0-9]+\]/ || line[i] ~ /relaxed[^(]*:/ || line[i] ~ /\(relaxed/) { ok = 1; break }
        if (i >= NR - 3 && line[i] ~ /mutant_kind::/) { ok = 1; break }
      }
      if (!ok) { printf "%s:%d: memory order without an [Sn] tag or a relaxed: reason\n  %s\n", file, NR, $0; bad = 1 }
    }
    END { exit bad }' "$f" || status=1
done
if [ $expect_failure -eq 1 ]; then
  [ $status -ne 0 ] && echo "rejected, as expected" && exit 0
  echo "the lint accepted headers it must reject"; exit 1
fi
[ $status -eq 0 ] && echo "every memory order in the algorithm headers is tagged or explained"
exit $status
