#!/usr/bin/env bash
# install_check.sh PREFIX -- check an installation of ssmem under PREFIX, whichever installer
# made it (//:install, make install, cmake --install): the files are there, pkg-config's
# ssmem.pc gives the original's flags, and a C program (#include <ssmem.h>, the original API)
# and a C++20 program (#include <ssmem.hpp>) built with plain ${CC:-cc} / ${CXX:-c++} and
# those flags run. Without pkg-config on the PATH, the programs are built with the link line
# ssmem.pc would give, and the check says so.
set -euo pipefail
prefix="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cc="${CC:-cc}"
cxx="${CXX:-c++}"
work="$(mktemp -d "${TEST_TMPDIR:-${TMPDIR:-/tmp}}/install_check.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

for f in include/ssmem.h include/ssmem.hpp include/ssmem/ssmem.h include/ssmem/ssmem.hpp \
         include/ssmem/allocator.hpp include/ssmem/detail/checked.hpp lib/libssmem.a \
         lib/pkgconfig/ssmem.pc; do
  [[ -f "${prefix}/${f}" ]] || { echo "FAIL: ${f} not installed under ${prefix}"; exit 1; }
done

expected_libs="-L${prefix}/lib -lssmem -lpthread"
if command -v pkg-config >/dev/null 2>&1; then
  export PKG_CONFIG_PATH="${prefix}/lib/pkgconfig"
  cflags="$(pkg-config --cflags ssmem)"
  libs="$(pkg-config --libs ssmem)"
  echo "pkg-config --cflags ssmem: ${cflags}"
  echo "pkg-config --libs ssmem:   ${libs}"
  [[ "${cflags}" == *"-I${prefix}/include"* ]] ||
    { echo "FAIL: Cflags lack -I${prefix}/include"; exit 1; }
  # The original's link line, nothing more (no -lstdc++: the library needs no C++ runtime).
  libs="$(echo ${libs})"  # pkg-config ends the line with a space
  [[ "${libs}" == "${expected_libs}" ]] ||
    { echo "FAIL: Libs is '${libs}', expected '${expected_libs}'"; exit 1; }
else
  echo "install_check: no pkg-config on the PATH; building with ssmem.pc's flags as written"
  grep -qx 'Cflags: -I${includedir}' "${prefix}/lib/pkgconfig/ssmem.pc" &&
    grep -qx 'Libs: -L${libdir} -lssmem -lpthread' "${prefix}/lib/pkgconfig/ssmem.pc" ||
    { echo "FAIL: ssmem.pc's Cflags or Libs are not the original's flags"; exit 1; }
  cflags="-I${prefix}/include"
  libs="${expected_libs}"
fi

cd "${work}"
# shellcheck disable=SC2086  # word splitting of the flags (and of ${cc}, ${cxx}) is intended
${cc} -std=c11 -Wall -Wextra -Werror ${cflags} -o c_program "${here}/install_test_program.c" ${libs}
./c_program
# shellcheck disable=SC2086
${cxx} -std=c++20 -Wall -Wextra -Werror ${cflags} -o cxx_program \
  "${here}/install_test_program.cc" ${libs}
./cxx_program
echo "$(${cc} --version | head -1) and $(${cxx} --version | head -1) built and ran both" \
     "programs against ${prefix}"
