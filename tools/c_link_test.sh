#!/usr/bin/env bash
# libssmem.a links into a C program with the original's link line, no C++ runtime:
#   cc -I<headers> prog.c -L<dir> -lssmem -lpthread      (and with -lm -lrt)
# for each archive given: //ssmem (what `make` copies to build/ and //:install installs) and
# //ssmem:ssmem_checked (the checked build, as `make VERSION=DEBUG` builds it). The program
# is C11, built by the system's cc outside Bazel, and run. The archive's undefined symbols
# are also listed: none may belong to the C++ runtime.
# Binary compatibility: OLD_PROGRAM.c, declared as against the original ssmem.h (128-byte
# allocators), must fail to link against each archive, naming the mismatch (ssmem.h).
# Usage: c_link_test.sh PROGRAM.c OLD_PROGRAM.c HEADER_DIR ARCHIVE...
# CC and NM in the environment replace cc and nm (the Makefile's plain build, CMake's ctest).
set -euo pipefail
cc="${CC:-cc}"
nm="${NM:-nm}"
program="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
old_program="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
headers="$(cd "$3" && pwd)"
shift 3
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

n=0
for archive in "$@"; do
  n=$((n + 1))
  dir="${tmp}/lib${n}"
  mkdir -p "${dir}"
  cp "${archive}" "${dir}/libssmem.a"
  echo "== ${archive}"
  # Undefined symbols that only libstdc++/libsupc++ define: mangled C++ names (_Z...) and the
  # C++ ABI entry points (__cxa_*, __gxx_*), except __cxa_atexit/__cxa_finalize (glibc).
  cxx="$(${nm} -u "${dir}/libssmem.a" | awk '{print $NF}' |
         grep -E '^(_Z|__cxa_|__gxx_|_Unwind_)' | grep -vxE '__cxa_atexit|__cxa_finalize' || true)"
  [[ -z "${cxx}" ]] || fail "${archive} needs the C++ runtime:"$'\n'"${cxx}"
  for extra in "" "-lm -lrt"; do
    line="${cc} -std=c11 -I${headers} prog.c -L${dir} -lssmem -lpthread ${extra}"
    echo "\$ ${line}"
    cp "${program}" "${tmp}/prog.c"
    # shellcheck disable=SC2086  # ${extra} is two words; ${cc} may carry arguments
    if ! (cd "${tmp}" && ${cc} -std=c11 -Wall -Wextra -Werror "-I${headers}" prog.c "-L${dir}" \
            -lssmem -lpthread ${extra} -o prog); then
      fail "link failed: ${line}"
      continue
    fi
    if ! (cd "${tmp}" && SSMEM_QUIET=1 ./prog); then fail "the program failed (${archive})"; fi
  done
  cp "${old_program}" "${tmp}/old.c"
  # shellcheck disable=SC2086
  if out="$(cd "${tmp}" && ${cc} -std=c11 old.c "-L${dir}" -lssmem -lpthread -o old 2>&1)"; then
    fail "a program compiled against the original ssmem.h linked against ${archive}"
  elif ! grep -q "SSMEM_ERROR_compiled_against_another_ssmem_h__recompile_against_this_one" <<<"${out}"; then
    fail "the link of a program compiled against the original ssmem.h failed without naming why: ${out}"
  else
    echo "ok: a program compiled against the original ssmem.h does not link:"
    grep -m1 "SSMEM_ERROR" <<<"${out}"
  fi
done
[[ ${failures} -eq 0 ]] || { echo "${failures} failure(s)"; exit 1; }
echo "$(${cc} --version | head -1): $# archive(s) linked into a C program without libstdc++, and ran"
