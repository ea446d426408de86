#!/usr/bin/env bash
# //:install into a temporary prefix; then a C and a C++20 program built with plain cc/c++
# and pkg-config against that prefix (nothing from Bazel on the command line), and run.
set -euo pipefail
installer="$1"
case "${installer}" in /*) ;; *) installer="./${installer}" ;; esac  # not /usr/bin/install
here="tools"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
prefix="${tmp}/prefix"

"${installer}" --prefix "${prefix}"

for f in include/ssmem.h include/ssmem.hpp include/ssmem/ssmem.h include/ssmem/ssmem.hpp \
         include/ssmem/allocator.hpp include/ssmem/detail/checked.hpp lib/libssmem.a \
         lib/pkgconfig/ssmem.pc; do
  [[ -f "${prefix}/${f}" ]] || { echo "FAIL: ${f} not installed"; exit 1; }
done

export PKG_CONFIG_PATH="${prefix}/lib/pkgconfig"
cflags="$(pkg-config --cflags ssmem)"
libs="$(pkg-config --libs ssmem)"
echo "pkg-config --cflags ssmem: ${cflags}"
echo "pkg-config --libs ssmem:   ${libs}"
[[ "${cflags}" == *"-I${prefix}/include"* ]] || { echo "FAIL: Cflags lack -I${prefix}/include"; exit 1; }
# The original's link line, nothing more (no -lstdc++: the library needs no C++ runtime).
libs="$(echo ${libs})"  # pkg-config ends the line with a space
[[ "${libs}" == "-L${prefix}/lib -lssmem -lpthread" ]] ||
  { echo "FAIL: Libs is '${libs}', expected '-L${prefix}/lib -lssmem -lpthread'"; exit 1; }

cd "${tmp}"
# shellcheck disable=SC2086  # word splitting of pkg-config's flags is intended
cc -std=c11 -Wall -Wextra -Werror ${cflags} -o c_program \
  "${OLDPWD}/${here}/install_test_program.c" ${libs}
./c_program
# shellcheck disable=SC2086
c++ -std=c++20 -Wall -Wextra -Werror ${cflags} -o cxx_program \
  "${OLDPWD}/${here}/install_test_program.cc" ${libs}
./cxx_program
echo "$(cc --version | head -1) and $(c++ --version | head -1) built and ran both programs"
