#!/usr/bin/env bash
# The API reference builds with no doxygen warning: every public class, function, macro and
# field of the headers is documented. Runs doxygen on docs/Doxyfile into a scratch folder.
set -euo pipefail
cd "${TEST_SRCDIR}/${TEST_WORKSPACE}"
out="${TEST_TMPDIR:-$(mktemp -d)}/api"
mkdir -p "$out"
log="$out/warnings.txt"
( cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $out" ) | doxygen - > /dev/null 2> "$log"
if [ -s "$log" ]; then
  echo "doxygen warnings:"; cat "$log"; exit 1
fi
test -f "$out/html/index.html" || { echo "no html/index.html generated"; exit 1; }
n=$(ls "$out/html" | wc -l)
echo "API reference: $n html files, no warnings"
