#!/usr/bin/env bash
# Smoke test of //bench:throughput: tiny runs of every workload with a few peers must exit 0
# and write a CSV with the expected header and rows and a well-formed SVG; bad flags exit 2;
# and the W2 value check must have teeth: --corrupt-slot makes the run exit 1.
set -u
bin="$1"
out="${TEST_TMPDIR:-$(mktemp -d)}/bench-out"
fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--duration=0.01 --reps=2 --no-warmup --threads=1,2 --out="$out")

"$bin" "${common[@]}" --workloads=pair,swap,set-read,set-update,release --sizes=8 \
    --peers=ssmem,ssmem-c,glibc,freelist,leak,ck-epoch,urcu-qsbr >"$out.stdout" 2>"$out.stderr" \
  || { cat "$out.stderr" >&2; fail "a short run exited non-zero"; }
grep -q '^build: .*optimised: yes' "$out.stdout" || fail "the output does not say the build is optimised"
csv="$out/throughput.csv"
[ -f "$csv" ] || fail "no $csv"
head -1 "$csv" | grep -qx 'workload,threads,peer,rounds,mops_median,mops_min,mops_max,ssmem_ratio_median,pending_hwm,peak_rss_kb,rss_growth_kb' \
  || fail "unexpected CSV header: $(head -1 "$csv")"
# pair-8: 4 peers, swap: 5, set-read/set-update: 4 (ssmem-c runs W1-W2 only), release: 3; 2 thread counts each
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -eq $(( (4 + 5 + 4 + 4 + 3) * 2 )) ] || fail "expected 40 CSV rows, got $rows"
for w in pair-8 swap set-read set-update release; do
  grep -q "^$w,2,ssmem,2," "$csv" || fail "no ssmem row for $w at 2 threads"
done
for w in pair-8 swap; do  # the C API peer, with its ratio to ssmem (C++ API)
  grep -q "^$w,2,ssmem-c,2,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]" "$csv" || fail "no ssmem-c row for $w at 2 threads"
done
grep -q '^swap,1,leak,2,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]' "$csv" || fail "no ssmem/leak ratio in the swap row"
[ "$(wc -l <"$out/runs.csv")" -eq $((40 * 2 + 1)) ] || fail "runs.csv should have one line per round"
svg="$out/throughput.svg"
[ -f "$svg" ] || fail "no $svg"
head -2 "$svg" | grep -q '<svg ' || fail "the SVG does not start with an <svg> element"
tail -1 "$svg" | grep -qx '</svg>' || fail "the SVG is not closed"
[ "$(grep -c '<polyline' "$svg")" -eq 20 ] || fail "expected one line per peer and workload (20) in the SVG"
if command -v python3 >/dev/null; then
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$svg" || fail "the SVG is not well-formed XML"
fi

# --replot redraws the SVG from the CSV alone.
"$bin" --replot="$csv" --out="$out/replot" >/dev/null || fail "--replot exited non-zero"
[ "$(grep -c '<polyline' "$out/replot/throughput.svg")" -eq 20 ] || fail "--replot drew a different plot"

# Bad flags: a message and exit status 2.
for args in "--bogus" "--threads=0" "--duration=abc" "--peers=nosuch" "--workloads=swap,nope" "--reps" "--replot=/nonexistent.csv"; do
  "$bin" $args --out="$out" >/dev/null 2>"$out.err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$args' exited $rc, expected 2"
  grep -q 'throughput: ' "$out.err" || fail "'$args' printed no message"
done
"$bin" --help | grep -q -- '--workloads' || fail "--help does not document the flags"

# The value check is real: a corrupted slot fails the run.
"$bin" "${common[@]}" --workloads=swap --peers=ssmem,ssmem-c,ck-epoch --corrupt-slot >/dev/null 2>"$out.err"
rc=$?
[ "$rc" -eq 1 ] || fail "--corrupt-slot exited $rc, expected 1"
grep -q 'value check failed' "$out.err" || fail "--corrupt-slot did not report the failed value check"
echo PASS
