#!/usr/bin/env bash
# install.sh -- install ssmem's headers, libssmem.a and a pkg-config file under a prefix.
#
#   ./bazelw run -c opt //:install -- [--prefix DIR] [--destdir DIR]
#   make install PREFIX=DIR
#
# Layout (DIR defaults to /usr/local):
#   DIR/include/ssmem/*.h, *.hpp, detail/*.hpp   the headers, in the layout they include
#                                                 each other with ("ssmem/xxx.hpp")
#   DIR/include/ssmem.h, DIR/include/ssmem.hpp    forwarding headers: #include <ssmem.h>
#                                                 works as with the original
#   DIR/lib/libssmem.a
#   DIR/lib/pkgconfig/ssmem.pc                    pkg-config --cflags --libs ssmem
#
# A checked library (make VERSION=DEBUG, --config=checked: built with SSMEM_CHECKED=1) gets
# -DSSMEM_CHECKED=1 in ssmem.pc's Cflags: the C++ API's checks are inline, compiled into the
# program, which must therefore be compiled with the define too (docs/design.md §8). The
# installer tells a checked archive by the checked registry it defines (--checked overrides).
#
# --destdir DIR stages the files under DIR/PREFIX (for packaging) while ssmem.pc still
# names PREFIX. The library and headers come from the Bazel runfiles of //:install (found
# next to this script, or in the current directory); --lib FILE and --headers DIR override.
set -euo pipefail

prog="install"
usage() {
  cat <<USAGE
Usage: ${prog} [--prefix DIR] [--destdir DIR] [--lib FILE] [--headers DIR] [--checked WHEN]
  --prefix DIR    installation prefix (default /usr/local)
  --destdir DIR   stage the installation under DIR (files go to DIR/PREFIX)
  --lib FILE      libssmem.a to install (default: from the Bazel runfiles)
  --headers DIR   directory holding ssmem.h, ssmem.hpp, ... (default: from the runfiles)
  --checked WHEN  yes, no or auto (default): whether the library is the checked build, whose
                  users compile with -DSSMEM_CHECKED=1 (ssmem.pc's Cflags); auto looks at it
  --mode MODE     the Bazel compilation mode the library was built in (set by //:install)
USAGE
}
die() { echo "${prog}: error: $*" >&2; exit 2; }

prefix=/usr/local
destdir=""
lib=""
headers=""
mode=""
checked="auto"
while (($# > 0)); do
  case "$1" in
    --prefix) (($# >= 2)) || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --destdir) (($# >= 2)) || die "--destdir needs a directory"; destdir="$2"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --lib) (($# >= 2)) || die "--lib needs a file"; lib="$2"; shift 2 ;;
    --headers) (($# >= 2)) || die "--headers needs a directory"; headers="$2"; shift 2 ;;
    --mode) (($# >= 2)) || die "--mode needs a value"; mode="$2"; shift 2 ;;
    --checked) (($# >= 2)) || die "--checked needs yes, no or auto"; checked="$2"; shift 2 ;;
    --checked=*) checked="${1#*=}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ -n "${prefix}" ]] || die "empty --prefix"
case "${checked}" in yes|no|auto) ;; *) die "--checked needs yes, no or auto, not '${checked}'" ;; esac

# `bazel run` starts us in the runfiles tree of the workspace, but relative user paths mean
# the directory `bazel run` was called from.
if [[ -n "${BUILD_WORKING_DIRECTORY:-}" ]]; then
  case "${prefix}" in /*) ;; *) prefix="${BUILD_WORKING_DIRECTORY}/${prefix}" ;; esac
  if [[ -n "${destdir}" ]]; then
    case "${destdir}" in /*) ;; *) destdir="${BUILD_WORKING_DIRECTORY}/${destdir}" ;; esac
  fi
fi
case "${prefix}" in /*) ;; *) prefix="$(pwd)/${prefix}" ;; esac

# The runfiles of the workspace: the current directory under `bazel run` and `bazel test`,
# else SCRIPT.runfiles/ssmem.
runfiles=""
for candidate in "." "${RUNFILES_DIR:-/nonexistent}/ssmem" "$0.runfiles/ssmem"; do
  if [[ -f "${candidate}/ssmem/ssmem.h" ]]; then runfiles="${candidate}"; break; fi
done
if [[ -z "${headers}" ]]; then
  [[ -n "${runfiles}" ]] || die "cannot find the headers (run through '//:install' or pass --headers)"
  headers="${runfiles}/ssmem"
fi
if [[ -z "${lib}" ]]; then
  [[ -n "${runfiles}" ]] || die "cannot find libssmem.a (run through '//:install' or pass --lib)"
  lib="${runfiles}/ssmem/libssmem.a"
fi
[[ -f "${lib}" ]] || die "no library at ${lib}"

# The checked build defines the checked registry (ssmem/detail/checked.hpp), an inline
# variable that only SSMEM_CHECKED=1 code uses; the optimised archive never names it, with or
# without debug information. Its mangled name is in the archive's symbol tables as plain text,
# so grep finds it without binutils (tools/install_check.sh asks the same of an installation).
checked_symbol='_ZN5ssmem6detail20the_checked_registryE'
if [[ "${checked}" == auto ]]; then
  if LC_ALL=C grep -qa "${checked_symbol}" "${lib}"; then checked=yes; else checked=no; fi
fi
cflags='-I${includedir}'
[[ "${checked}" == yes ]] && cflags+=' -DSSMEM_CHECKED=1'
[[ -f "${headers}/ssmem.h" && -f "${headers}/ssmem.hpp" ]] || die "no ssmem.h/ssmem.hpp in ${headers}"

if [[ "${mode}" == "dbg" ]]; then
  echo "${prog}: note: the library was built with -c dbg, not optimised;" \
       "for production use './bazelw run -c opt //:install -- ...'" >&2
fi

root="${destdir%/}${prefix}"
incdir="${root}/include"
libdir="${root}/lib"

# Plain mkdir/cp, not install(1): under `bazel test` PATH starts with ".", where "install"
# is this very script.
put() { rm -f "$2"; cp "$1" "$2"; chmod 644 "$2"; }
mkdir -p "${incdir}/ssmem/detail" "${libdir}/pkgconfig"
installed=0
for f in "${headers}"/*.h "${headers}"/*.hpp; do
  put "${f}" "${incdir}/ssmem/$(basename "${f}")"
  installed=$((installed + 1))
done
for f in "${headers}"/detail/*.hpp; do
  [[ -e "${f}" ]] || continue
  put "${f}" "${incdir}/ssmem/detail/$(basename "${f}")"
  installed=$((installed + 1))
done

# Forwarding headers: the original is used as #include <ssmem.h> with -I.../include.
# CMakeLists.txt writes the same from cmake/forward.h.in, and ssmem.pc below from
# cmake/ssmem.pc.in (//tools:no_bazel_build_test compares the installed files).
for name in ssmem.h ssmem.hpp; do
  guard="SSMEM_FORWARD_$(tr 'a-z.' 'A-Z_' <<<"${name}")"
  cat >"${incdir}/${name}.tmp" <<HDR
/* Installed by ssmem: forwards to ssmem/${name}, so that both
   #include <${name}> (as with the original ssmem) and #include <ssmem/${name}> work. */
#ifndef ${guard}
#define ${guard}
#include "ssmem/${name}"
#endif
HDR
  chmod 644 "${incdir}/${name}.tmp"
  mv -f "${incdir}/${name}.tmp" "${incdir}/${name}"
done

put "${lib}" "${libdir}/libssmem.a"

# libssmem.a needs only libc and threads (no C++ runtime): the original's link line. A C++
# program gets libstdc++ from the c++ driver, as always. Version: SSMEM_VERSION of
# tools/library.mk.
cat >"${libdir}/pkgconfig/ssmem.pc.tmp" <<PC
prefix=${prefix}
exec_prefix=\${prefix}
includedir=\${prefix}/include
libdir=\${exec_prefix}/lib

Name: ssmem
Description: object allocator with epoch-based memory reclamation (C and C++20 APIs)
Version: 0.1.0
Cflags: ${cflags}
Libs: -L\${libdir} -lssmem -lpthread
PC
chmod 644 "${libdir}/pkgconfig/ssmem.pc.tmp"
mv -f "${libdir}/pkgconfig/ssmem.pc.tmp" "${libdir}/pkgconfig/ssmem.pc"

what="libssmem.a"
[[ "${checked}" == yes ]] && what="libssmem.a (the checked build: ssmem.pc adds -DSSMEM_CHECKED=1)"
echo "${prog}: installed ${installed} headers + 2 forwarding headers under ${incdir}," \
     "${what} and pkgconfig/ssmem.pc under ${libdir}"
