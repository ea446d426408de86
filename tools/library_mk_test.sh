#!/usr/bin/env bash
# tools/library.mk, which the builds without Bazel read (the Makefile's plain build,
# CMakeLists.txt), against Bazel's view of the same targets in this configuration
# (//tools:library_view): the library's sources, copts, defines and linkopts, ssmem_test's,
# the language and warning flags of .bazelrc, and the installed headers. In the debug mode
# (-c dbg) the optimisation flags must be absent from Bazel's copts, elsewhere present; the
# debug flag itself (SSMEM_DEBUG, -g) is Bazel's toolchain's, which the view does not see.
# Usage: library_mk_test.sh VIEW LIBRARY_MK
set -euo pipefail
view="$1"
library_mk="$2"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The format CMakeLists.txt reads (cmake/library_mk.cmake): NAME := words, comments, blanks.
while IFS= read -r line; do
  [[ "${line}" =~ ^[[:space:]]*(#.*)?$ || "${line}" =~ ^SSMEM_[A-Z_]+\ :=\ [^#\$\\]*$ ]] ||
    fail "library.mk: not a 'SSMEM_NAME := words' line: ${line}"
done <"${library_mk}"

# mk NAME: the words of library.mk's NAME (an error when it has no such line).
mk() {
  grep -q "^$1 := " "${library_mk}" || { fail "library.mk has no $1"; return; }
  echo $(sed -n "s/^$1 := //p" "${library_mk}")
}
# bazel LABEL ATTR, bazel KEY: the words of the view's line.
bazel() {
  local key="$*"
  grep -q "^${key}\( \|$\)" "${view}" || { fail "the view has no '${key}'"; return; }
  echo $(sed -n "s|^${key} \{0,1\}||p" "${view}")
}
sorted() { tr ' ' '\n' <<<"$*" | sed '/^$/d' | sort | tr '\n' ' '; }
# same WHAT BAZEL_WORDS LIBRARY_MK_WORDS
same() {
  if [[ "$2" == "$3" ]]; then
    echo "ok   $1: '$2'"
  else
    fail "$1: Bazel has '$2', library.mk '$3'"
  fi
}
# within WHAT BAZEL_WORDS LIBRARY_MK_WORDS: each of the latter among the former.
within() {
  local word
  for word in $3; do
    [[ " $2 " == *" ${word} "* ]] || { fail "$1: Bazel's '$2' lacks library.mk's ${word}"; return; }
  done
  echo "ok   $1: '$3' in '$2'"
}

mode="$(bazel mode)"
echo "Bazel's compilation mode: ${mode}"
library_flags="$(mk SSMEM_LIBRARY_FLAGS)"
if [[ "${mode}" == dbg ]]; then
  optimized=""
  omit_fp=""
else
  optimized="$(mk SSMEM_OPTIMIZED)"
  omit_fp="$(mk SSMEM_OMIT_FRAME_POINTER)"
fi

for library in //ssmem:ssmem //ssmem:ssmem_checked; do
  same "${library} srcs" "$(sorted "$(bazel "${library}" srcs)")" "$(sorted "$(mk SSMEM_SOURCES)")"
  same "${library} linkopts" "$(bazel "${library}" linkopts)" "$(mk SSMEM_LIBS)"
  same "${library} local_defines" "$(bazel "${library}" local_defines)" ""
done
same "//ssmem:ssmem copts" "$(bazel //ssmem:ssmem copts)" \
  "$(echo ${library_flags} ${optimized} ${omit_fp})"
same "//ssmem:ssmem defines" "$(bazel //ssmem:ssmem defines)" ""
same "//ssmem:ssmem_checked copts" "$(bazel //ssmem:ssmem_checked copts)" \
  "$(echo ${library_flags} ${optimized})"
same "//ssmem:ssmem_checked defines" "$(bazel //ssmem:ssmem_checked defines)" \
  "$(mk SSMEM_CHECKED_DEFINE)"

test_program=//tests/ssmem_test:ssmem_test
same "${test_program} srcs" "$(bazel ${test_program} srcs)" "$(mk SSMEM_TEST_SOURCES)"
same "${test_program} copts" "$(bazel ${test_program} copts)" "${optimized}"
same "${test_program} linkopts" "$(bazel ${test_program} linkopts)" "$(mk SSMEM_LIBS)"
same "${test_program} defines" "$(bazel ${test_program} defines) $(bazel ${test_program} local_defines)" " "

within "--cxxopt" "$(bazel cxxopt)" "$(mk SSMEM_CXXSTD)"
within "--conlyopt" "$(bazel conlyopt)" "$(mk SSMEM_CSTD)"
within "--copt" "$(bazel copt)" "$(mk SSMEM_WARNINGS)"

# The headers: library.mk's globs, expanded where the view's runfiles put //ssmem:all_headers.
cd "$(dirname "${view}")/.."
# shellcheck disable=SC2046,SC2086  # the globs expand here
same "//ssmem:all_headers" "$(sorted "$(bazel //ssmem:all_headers srcs)")" \
  "$(sorted $(mk SSMEM_HEADERS))"

[[ ${failures} -eq 0 ]] || { echo "${failures} failure(s): update tools/library.mk (or ssmem/BUILD)"; exit 1; }
echo "tools/library.mk agrees with Bazel (${mode})"
