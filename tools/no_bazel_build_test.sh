#!/usr/bin/env bash
# The builds without Bazel, on a copy of the files they need and with no bazel on the PATH:
#   1. plain make: `make` (the default without Bazel) and `make test`, in the optimised and
#      the debug (VERSION=DEBUG, checked) variants; the compile lines carry library.mk's flags;
#   2. CMake: configure, build, ctest, install; the compile commands carry the same flags;
#   3. installations: install_check.sh (a C and a C++ program via pkg-config) against CMake's
#      prefix (`make test` runs it against make's); make's, CMake's and Bazel's //:install,
#      staged with DESTDIR under one prefix, install the same files, byte for byte (but the
#      archives; CMake adds libssmem_checked.a and lib/cmake/ssmem);
#   4. CMake consumers (tools/cmake_consumer): find_package from CMake's prefix (a C and C++
#      project, and a C-only one), add_subdirectory of the copy from a C-only project, and
#      FetchContent of a tarball of the copy; each builds and runs its programs.
# Usage: no_bazel_build_test.sh INSTALLER FILE...
#   INSTALLER  Bazel's //:install (run from the runfiles root, the current directory)
#   FILE       files to copy (paths under the runfiles root), besides the sources and headers
#              that tools/library.mk names (the runfiles of //tools:library_view hold them)
set -euo pipefail
installer="./$1"
shift
runfiles="$(pwd)"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
logs="${tmp}/logs"
mkdir -p "${logs}"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# step NAME COMMAND...: run, output to logs/NAME.log; on failure show its end and stop.
step() {
  local name="$1"; shift
  local start=${SECONDS}
  if ! "$@" >"${logs}/${name}.log" 2>&1; then
    echo "FAIL: ${name}: $*"
    tail -n 60 "${logs}/${name}.log"
    exit 1
  fi
  echo "ok   ${name} ($((SECONDS - start)) s)"
}

# --- The copy: what a project that vendors ssmem has, without anything of Bazel's ---------
src="${tmp}/ssmem"
copy() { mkdir -p "${src}/$(dirname "$1")"; cp -L "${runfiles}/$1" "${src}/$1"; }
for f in "$@"; do copy "${f}"; done
mk() { sed -n "s/^$1 := //p" "${src}/tools/library.mk"; }
# shellcheck disable=SC2046  # globs and word lists from library.mk
for f in $(mk SSMEM_SOURCES) $(mk SSMEM_TEST_SOURCES) $(cd "${runfiles}" && echo $(mk SSMEM_HEADERS)); do
  [[ -f "${runfiles}/${f}" ]] || { echo "FAIL: tools/library.mk names ${f}, not in the runfiles"; exit 1; }
  copy "${f}"
done
chmod -R u+w "${src}"

# --- A PATH without bazel: each directory that has one is replaced by a copy of its links --
path=""
IFS=: read -r -a dirs <<<"${PATH}"
for d in "${dirs[@]}"; do
  [[ "${d}" == /* && -d "${d}" ]] || continue
  if compgen -G "${d}/bazel*" >/dev/null; then
    shadow="${tmp}/path/$(tr / _ <<<"${d}")"
    mkdir -p "${shadow}"
    for f in "${d}"/*; do
      case "${f##*/}" in bazel*) ;; *) ln -s "${f}" "${shadow}/" ;; esac
    done
    d="${shadow}"
  fi
  path="${path:+${path}:}${d}"
done
export PATH="${path}"
unset BAZELW_BAZEL CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS MAKEFLAGS
if command -v bazel >/dev/null; then echo "FAIL: bazel is still on the PATH"; exit 1; fi
for tool in make cmake ctest cc c++ ar nm readelf tar bash; do
  command -v "${tool}" >/dev/null || { echo "FAIL: no ${tool} on the PATH (./bazelw installs it)"; exit 1; }
done
echo "PATH without bazel: $(command -v make) $(command -v cmake) $(command -v cc) $(command -v c++)"

# has_flags WHAT LINE FLAG...: LINE (a compile command) has each FLAG as a word.
has_flags() {
  local what="$1" line="$2" flag; shift 2
  for flag in "$@"; do [[ " ${line} " == *" ${flag} "* ]] || fail "${what}: no ${flag} in: ${line}"; done
}
lacks_flags() {
  local what="$1" line="$2" flag; shift 2
  for flag in "$@"; do [[ " ${line} " != *" ${flag} "* ]] || fail "${what}: ${flag} in: ${line}"; done
}
# shellcheck disable=SC2207
common=($(mk SSMEM_CXXSTD) $(mk SSMEM_WARNINGS) $(mk SSMEM_LIBRARY_FLAGS))
# shellcheck disable=SC2207
optimized=($(mk SSMEM_OPTIMIZED)) omit_fp=($(mk SSMEM_OMIT_FRAME_POINTER)) debug=($(mk SSMEM_DEBUG))
checked="-D$(mk SSMEM_CHECKED_DEFINE)"

# --- 1. plain make ------------------------------------------------------------------------
cd "${src}"
step make_opt make -j2
grep -q "plain make" "${logs}/make_opt.log" || fail "make without bazel did not choose the plain build"
step make_opt_test make test
step make_debug make -j2 VERSION=DEBUG
step make_debug_test make VERSION=DEBUG test
grep -q "a double free aborts" "${logs}/make_debug_test.log" || fail "make VERSION=DEBUG test ran no checked_program"
for f in $(mk SSMEM_SOURCES); do
  line="$(grep -E -- "-c ${f} " "${logs}/make_opt.log" || true)"
  has_flags "make: ${f}" "${line}" "${common[@]}" "${optimized[@]}" "${omit_fp[@]}"
  lacks_flags "make: ${f}" "${line}" "${checked}"
  line="$(grep -E -- "-c ${f} " "${logs}/make_debug.log" || true)"
  has_flags "make VERSION=DEBUG: ${f}" "${line}" "${common[@]}" "${debug[@]}" "${checked}"
  lacks_flags "make VERSION=DEBUG: ${f}" "${line}" "${optimized[@]}" "${omit_fp[@]}"
done
step make_stage make DESTDIR="${tmp}/stage-make" PREFIX=/opt/ssmem install

# --- 2. CMake -----------------------------------------------------------------------------
build="${tmp}/cmake-build"
cmake_prefix="${tmp}/cmake-prefix"
step cmake_configure cmake -S "${src}" -B "${build}" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_INSTALL_PREFIX=/nonexistent -DCMAKE_INSTALL_LIBDIR=lib
step cmake_build cmake --build "${build}" -j 2
step ctest ctest --test-dir "${build}" --output-on-failure
grep -q "100% tests passed" "${logs}/ctest.log" || fail "ctest did not pass every test"
for f in $(mk SSMEM_SOURCES); do
  for library in ssmem ssmem_checked; do
    line="$(grep -F "\"command\": " "${build}/compile_commands.json" |
            grep -F "/${library}.dir/${f}.o " || true)"
    has_flags "cmake ${library}: ${f}" "${line}" "${common[@]}" "${optimized[@]}"
    if [[ ${library} == ssmem ]]; then
      has_flags "cmake ssmem: ${f}" "${line}" "${omit_fp[@]}"
      lacks_flags "cmake ssmem: ${f}" "${line}" "${checked}"
    else
      has_flags "cmake ssmem_checked: ${f}" "${line}" "${checked}"
    fi
  done
done
# The prefix given at install time, not at configure time, is the one in ssmem.pc.
step cmake_install cmake --install "${build}" --prefix "${cmake_prefix}"
step cmake_stage env DESTDIR="${tmp}/stage-cmake" cmake --install "${build}" --prefix /opt/ssmem

# --- 3. The installations -----------------------------------------------------------------
cd "${runfiles}"
step bazel_stage "${installer}" --prefix /opt/ssmem --destdir "${tmp}/stage-bazel"
step install_check_cmake "${src}/tools/install_check.sh" "${cmake_prefix}"
files_of() { (cd "$1" && find . -type f ! -path './opt/ssmem/lib/cmake/*' \
                ! -name libssmem_checked.a | sort); }
failures_before=${failures}
for stage in cmake bazel; do
  if ! diff <(files_of "${tmp}/stage-make") <(files_of "${tmp}/stage-${stage}") \
       >"${logs}/files-${stage}.diff"; then
    fail "make install and ${stage} install other files:"; cat "${logs}/files-${stage}.diff"
    continue
  fi
  while read -r f; do
    [[ "${f}" == */libssmem.a ]] && continue
    cmp -s "${tmp}/stage-make/${f}" "${tmp}/stage-${stage}/${f}" ||
      fail "${f} differs between make install and ${stage} install"
  done < <(files_of "${tmp}/stage-make")
done
for f in ssmemConfig.cmake ssmemConfigVersion.cmake ssmemTargets.cmake; do
  [[ -f "${cmake_prefix}/lib/cmake/ssmem/${f}" ]] || fail "cmake --install: no lib/cmake/ssmem/${f}"
done
if [[ ${failures} -eq ${failures_before} ]]; then
  echo "ok   make install, cmake --install and //:install: the same $(files_of "${tmp}/stage-make" | wc -l) files"
fi

# --- 4. CMake consumers -------------------------------------------------------------------
consumer() {  # NAME LANGUAGES VIA ARGS...
  local name="$1" languages="$2" via="$3"; shift 3
  local dir="${tmp}/consumer-${name}"
  step "${name}_configure" cmake -S "${src}/tools/cmake_consumer" -B "${dir}" \
    "-DCONSUMER_LANGUAGES=${languages}" "-DSSMEM_VIA=${via}" "$@"
  step "${name}_build" cmake --build "${dir}" -j 2
  step "${name}_c_program" "${dir}/c_program"
  step "${name}_checked_program" env SSMEM_QUIET=1 "${dir}/checked_program"
  if [[ "${languages}" == *CXX* ]]; then
    step "${name}_cxx_program" "${dir}/cxx_program"
  else
    # A C project links ssmem with the C driver: no C++ runtime in the program.
    if readelf -d "${dir}/c_program" | grep -q 'NEEDED.*libstdc++'; then
      fail "${name}: the C program needs libstdc++"
    fi
  fi
}
consumer find_package "C;CXX" find_package "-DCMAKE_PREFIX_PATH=${cmake_prefix}"
consumer find_package_c C find_package "-Dssmem_DIR=${cmake_prefix}/lib/cmake/ssmem"
consumer add_subdirectory_c C add_subdirectory "-DSSMEM_SOURCE=${src}"
tar -C "${tmp}" -czf "${tmp}/ssmem.tar.gz" --exclude=ssmem/build ssmem
consumer fetch_content "C;CXX" FetchContent "-DSSMEM_URL=file://${tmp}/ssmem.tar.gz"

if compgen -G "${src}/bazel-*" >/dev/null; then fail "a bazel-* link appeared in the copy"; fi
[[ ${failures} -eq 0 ]] || { echo "${failures} failure(s); logs in ${logs}"; exit 1; }
echo "$(make --version | head -1), $(cmake --version | head -1), $(cc --version | head -1):" \
     "plain make and CMake built, tested and installed ssmem without bazel"
