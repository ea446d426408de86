#!/usr/bin/env bash
# //:install into a temporary prefix, then tools/install_check.sh on it: a C and a C++20
# program built with plain cc/c++ and pkg-config against that prefix (nothing from Bazel on
# the command line), and run.
set -euo pipefail
installer="$1"
case "${installer}" in /*) ;; *) installer="./${installer}" ;; esac  # not /usr/bin/install
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
prefix="${tmp}/prefix"

"${installer}" --prefix "${prefix}"
tools/install_check.sh "${prefix}"
