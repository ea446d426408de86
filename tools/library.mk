# The library's sources and compiler flags for the builds without Bazel, written once: the
# Makefile's plain build includes this file and CMakeLists.txt reads it. Each value is what
# Bazel builds //ssmem with; //tools:library_mk_test compares them with Bazel's own view of
# ssmem/BUILD, .bazelrc and tests/ssmem_test/BUILD, and fails when they disagree.
#
# Format (CMakeLists.txt parses it): `NAME := words`, one per line, no continuation lines,
# no comments after a value.

# The package's version (ssmem.pc, CMake's ssmemConfigVersion.cmake); tools/install.sh
# writes the same into ssmem.pc.
SSMEM_VERSION := 0.1.0

# //ssmem:ssmem and //ssmem:ssmem_checked: the same sources.
SSMEM_SOURCES := ssmem/ssmem.cc ssmem/ssmem_abi_trap.cc

# //ssmem:all_headers, the installed headers (globs).
SSMEM_HEADERS := ssmem/*.h ssmem/*.hpp ssmem/detail/*.hpp

# .bazelrc: --cxxopt, --conlyopt and --copt for every compile.
SSMEM_CXXSTD := -std=c++20
SSMEM_CSTD := -std=c11
SSMEM_WARNINGS := -Wall -Wextra

# ssmem/BUILD's LIBRARY_COPTS, in every mode: no C++ runtime in libssmem.a.
SSMEM_LIBRARY_FLAGS := -fno-exceptions -fno-threadsafe-statics

# ssmem/defs.bzl's OPTIMIZED: the library and ssmem_test in every mode but the debug one.
SSMEM_OPTIMIZED := -O3

# //ssmem:ssmem only (not ssmem_checked), in every mode but the debug one.
SSMEM_OMIT_FRAME_POINTER := -fomit-frame-pointer

# The debug mode (Bazel's -c dbg, make VERSION=DEBUG, CMake's Debug): debug information, no
# optimisation. Bazel's toolchain adds it, not ssmem/BUILD.
SSMEM_DEBUG := -g

# //ssmem:ssmem_checked's defines (they reach its users too), and --config=checked's copt.
SSMEM_CHECKED_DEFINE := SSMEM_CHECKED=1

# The linkopts of //ssmem:ssmem, :ssmem_checked and //tests/ssmem_test:ssmem_test.
SSMEM_LIBS := -lpthread

# //tests/ssmem_test:ssmem_test, the original's stress test (a C program).
SSMEM_TEST_SOURCES := tests/ssmem_test/ssmem_test.c
