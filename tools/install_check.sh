#!/usr/bin/env bash
# install_check.sh PREFIX -- check an installation of ssmem under PREFIX, whichever installer
# made it (//:install, make install, cmake --install): the files are there, pkg-config's
# ssmem.pc gives the original's flags, and a C program (#include <ssmem.h>, the original API)
# and a C++20 program (#include <ssmem.hpp>) built with plain ${CC:-cc} / ${CXX:-c++} and
# those flags run. Without pkg-config on the PATH, the programs are built with the link line
# ssmem.pc would give, and the check says so.
# A checked library (built with SSMEM_CHECKED=1: it defines the checked registry) must come
# with -DSSMEM_CHECKED=1 in ssmem.pc's Cflags, and an optimised one without it; for a checked
# installation a C++ program built with those flags must catch a double free in the C++ API's
# inline code (compiled into the program: without the define it would go unnoticed).
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
# The same test as tools/install.sh's: the checked registry's mangled name in the archive.
if LC_ALL=C grep -qa '_ZN5ssmem6detail20the_checked_registryE' "${prefix}/lib/libssmem.a"; then
  checked=1 expected_pc_cflags='Cflags: -I${includedir} -DSSMEM_CHECKED=1'
  echo "install_check: libssmem.a is the checked build"
else
  checked=0 expected_pc_cflags='Cflags: -I${includedir}'
fi
grep -qx -- "${expected_pc_cflags}" "${prefix}/lib/pkgconfig/ssmem.pc" ||
  { echo "FAIL: ssmem.pc's Cflags are not '${expected_pc_cflags}' (checked library: ${checked})"; exit 1; }
if command -v pkg-config >/dev/null 2>&1; then
  export PKG_CONFIG_PATH="${prefix}/lib/pkgconfig"
  cflags="$(pkg-config --cflags ssmem)"
  libs="$(pkg-config --libs ssmem)"
  echo "pkg-config --cflags ssmem: ${cflags}"
  echo "pkg-config --libs ssmem:   ${libs}"
  [[ "${cflags}" == *"-I${prefix}/include"* ]] ||
    { echo "FAIL: Cflags lack -I${prefix}/include"; exit 1; }
  if ((checked)); then
    [[ " ${cflags} " == *" -DSSMEM_CHECKED=1 "* ]] ||
      { echo "FAIL: a checked libssmem.a, but Cflags lack -DSSMEM_CHECKED=1"; exit 1; }
  else
    [[ "${cflags}" != *SSMEM_CHECKED* ]] ||
      { echo "FAIL: an optimised libssmem.a, but Cflags define SSMEM_CHECKED"; exit 1; }
  fi
  # The original's link line, nothing more (no -lstdc++: the library needs no C++ runtime).
  libs="$(echo ${libs})"  # pkg-config ends the line with a space
  [[ "${libs}" == "${expected_libs}" ]] ||
    { echo "FAIL: Libs is '${libs}', expected '${expected_libs}'"; exit 1; }
else
  echo "install_check: no pkg-config on the PATH; building with ssmem.pc's flags as written"
  grep -qx 'Libs: -L${libdir} -lssmem -lpthread' "${prefix}/lib/pkgconfig/ssmem.pc" ||
    { echo "FAIL: ssmem.pc's Libs are not the original's flags"; exit 1; }
  cflags="-I${prefix}/include"
  ((checked)) && cflags+=" -DSSMEM_CHECKED=1"
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
if ((checked)); then
  # The C++ API's checks are inline: only a program compiled with -DSSMEM_CHECKED=1 has them.
  cat >cxx_double_free.cc <<'CC'
#include <ssmem.hpp>

int main() {
  ssmem::thread_scope me;
  ssmem::allocator a(me, 64);
  void* p = a.allocate();
  a.deallocate(p);
  a.deallocate(p);  // a double free: the checked build aborts naming it
  return 0;
}
CC
  # shellcheck disable=SC2086
  ${cxx} -std=c++20 -Wall -Wextra -Werror ${cflags} -o cxx_double_free cxx_double_free.cc ${libs}
  status=0
  # (the outer redirection keeps the shell's own "Aborted" line out of the log)
  { (ulimit -c 0; exec ./cxx_double_free) 2>double_free.err; } 2>/dev/null || status=$?
  if ((status == 0)) || ! grep -q "double free" double_free.err; then
    echo "FAIL: a C++ program built with ssmem.pc's flags did not catch a double free (exit" \
         "status ${status}): the checked build's inline checks are missing"
    cat double_free.err
    exit 1
  fi
  echo "install_check: a C++ program built with ssmem.pc's flags caught a double free:" \
       "$(head -1 double_free.err)"
fi
echo "$(${cc} --version | head -1) and $(${cxx} --version | head -1) built and ran both" \
     "programs against ${prefix}"
