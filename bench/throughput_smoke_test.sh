#!/usr/bin/env bash
# Smoke test of //bench:throughput: tiny runs of every workload with a few peers, an
# over-subscribed thread count and the stall scenario, must exit 0 and write a CSV with the
# expected header and rows and a well-formed SVG, with no line of the library's in the output;
# bad flags exit 2; and the W2 value check must have teeth: --corrupt-slot makes the run exit 1.
set -u
bin="$1"
out="${TEST_TMPDIR:-$(mktemp -d)}/bench-out"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Runs under load (over-subscribed, W5) last at least --load-duration: short here too.
common=(--duration=0.01 --load-duration=0.05 --oversubscribe=none --reps=2 --no-warmup --threads=1,2 --out="$out")

"$bin" "${common[@]}" --workloads=pair,swap,set-read,set-update,release,stall --sizes=8 \
    --oversubscribe=6 --stall-threads=2 --stall=2/5 \
    --peers=ssmem,ssmem-c,glibc,freelist,leak,ck-epoch,urcu-qsbr >"$out.stdout" 2>"$out.stderr" \
  || { cat "$out.stderr" >&2; fail "a short run exited non-zero"; }
grep -q '^build: .*optimised: yes' "$out.stdout" || fail "the output does not say the build is optimised"
# The C peer's ssmem_alloc_init prints "[ALLOC] initializing allocator ..." unless SSMEM_QUIET
# is set: the benchmark sets it for itself.
! grep -q 'ALLOC' "$out.stdout" "$out.stderr" || fail "the library printed into the benchmark's output"
csv="$out/throughput.csv"
[ -f "$csv" ] || fail "no $csv"
head -1 "$csv" | grep -qx 'workload,threads,peer,rounds,mops_median,mops_min,mops_max,ssmem_ratio_median,pending_hwm,peak_rss_kb,rss_growth_kb,pending_bound,counters' \
  || fail "unexpected CSV header: $(head -1 "$csv")"
# W1 peers: 4 (ssmem, ssmem-c, glibc, freelist); W2: 5 (ssmem, ssmem-c, leak, ck-epoch,
# urcu-qsbr); W3: 4 (ssmem-c runs W1-W2 only); W4: 3. pair-8 at 1 and 2 threads, pair-64 (the
# load size) at 6 only, swap at 1, 2 and 6, set-read, set-update and release at 1 and 2, W5 over
# W1 and W2 at 2, and W5's reference (calm-swap: W2 as W5 runs it, nobody sleeping) for the
# ssmem peers only: 1 here.
expected=$((4 * 2 + 4 + 5 * 3 + 4 * 2 + 4 * 2 + 3 * 2 + 4 + 5 + 1))
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -eq "$expected" ] || fail "expected $expected CSV rows, got $rows"
for w in pair-8 swap set-read set-update release stall-pair-64 stall-swap; do
  grep -q "^$w,2,ssmem,2," "$csv" || fail "no ssmem row for $w at 2 threads"
done
grep -q '^pair-64,6,ssmem,2,' "$csv" || fail "no over-subscribed W1 row (pair-64 at 6 threads)"
grep -q '^swap,6,ck-epoch,2,' "$csv" || fail "no over-subscribed W2 row (swap at 6 threads)"
! grep -q '^pair-64,[12],' "$csv" || fail "pair-64 ran at a thread count not over-subscribed"
# Every peer's W5 row counts the stalling thread's sleeps; ssmem reports its allocators' counters.
n=$(grep -c '^stall-' "$csv")
[ "$(grep '^stall-' "$csv" | grep -c ' stalls=[1-9]')" -eq "$n" ] || fail "a W5 row without stalls: $(grep '^stall-' "$csv" | grep -v ' stalls=[1-9]' | head -1)"
grep -q '^calm-swap,2,ssmem,2,' "$csv" || fail "no calm-swap row (W5's reference) for ssmem at 2 threads"
! grep '^calm-swap,' "$csv" | grep -q 'stalls=' || fail "a calm-swap row counts stalls: nobody should sleep there"
[ "$(grep -c '^calm-swap,' "$csv")" -eq 1 ] || fail "calm-swap ran peers other than the ssmem ones"
grep '^swap,1,ssmem,' "$csv" | grep -q ',bound_overruns=[0-9]* bound_wait_ms=[0-9]* bound_waits=[0-9]* shared_stamps=[0-9]* stamps=[0-9]* yields=[0-9]*$' || fail "no ssmem counters in the swap row"
for w in pair-8 swap; do  # the C API peer, with its ratio to ssmem (C++ API)
  grep -q "^$w,2,ssmem-c,2,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]" "$csv" || fail "no ssmem-c row for $w at 2 threads"
done
grep -q '^swap,1,leak,2,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]' "$csv" || fail "no ssmem/leak ratio in the swap row"
[ "$(wc -l <"$out/runs.csv")" -eq $((expected * 2 + 1)) ] || fail "runs.csv should have one line per round"
svg="$out/throughput.svg"
[ -f "$svg" ] || fail "no $svg"
head -2 "$svg" | grep -q '<svg ' || fail "the SVG does not start with an <svg> element"
tail -1 "$svg" | grep -qx '</svg>' || fail "the SVG is not closed"
# One line per peer and workload in the throughput panels (34), as many in the memory panels.
[ "$(grep -c '<polyline' "$svg")" -eq 68 ] || fail "expected two lines per peer and workload (68) in the SVG"
if command -v python3 >/dev/null; then
  python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$svg" || fail "the SVG is not well-formed XML"
fi

# --replot redraws the SVG from the CSV alone.
"$bin" --replot="$csv" --out="$out/replot" >/dev/null || fail "--replot exited non-zero"
[ "$(grep -c '<polyline' "$out/replot/throughput.svg")" -eq 68 ] || fail "--replot drew a different plot"

# Bad flags: a message and exit status 2.
for args in "--bogus" "--threads=0" "--duration=abc" "--peers=nosuch" "--workloads=swap,nope" "--reps" "--replot=/nonexistent.csv" \
    "--oversubscribe=0" "--stall=10/10" "--stall=10" "--stall-threads=1" "--load-duration=0"; do
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
