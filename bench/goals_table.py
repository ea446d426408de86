#!/usr/bin/env python3
"""The goals of issue 11 as a markdown table, from //bench:throughput's throughput.csv: each
goal's figure from the same run and whether it is met. Used for docs/benchmarks.md, "Goals":
  python3 bench/goals_table.py bench-out/throughput.csv"""
import csv
import sys

rows = list(csv.DictReader(open(sys.argv[1])))


def row(workload, peer, threads):
    return next((r for r in rows if r["workload"] == workload and r["peer"] == peer
                 and int(r["threads"]) == threads), None)


def ratio(workload, peer, threads):
    """ssmem ÷ peer, the median of per-round ratios (None if the cell is missing)."""
    r = row(workload, peer, threads)
    return float(r["ssmem_ratio_median"]) if r and r["ssmem_ratio_median"] else None


def fmt(x):
    return "–" if x is None else f"{x:.2f}×"


out = []


def goal(text, figures, met):
    out.append(f"| {text} | {figures} | {'met' if met else '**not met**'} |")


# 1. The C API against the C++ API (ssmem ÷ ssmem-c inverted: the C peer's share).
for w in ("pair-8", "swap"):
    for t in (1, 2):
        r = ratio(w, "ssmem-c", t)
        c = None if r is None else 1 / r
        goal(f"1. C peer ≥ 0.95× the C++ peer, {w}, {t} thread{'s' if t > 1 else ''}", fmt(c),
             c is not None and c >= 0.95)
# 2. The heavy side amortised.
best = None
for p in ("jemalloc", "tcmalloc", "mimalloc-hold1"):
    r = ratio("pair-8", p, 1)
    if r is not None and (best is None or r < best[1]):
        best = (p, r)
goal("2. W1 pair-8 ≥ 1.5× the best of jemalloc, tcmalloc, mimalloc-hold1, 1 thread",
     f"{fmt(best[1])} ({best[0]})" if best else "–", best is not None and best[1] >= 1.5)
for t in (2, 4):
    r = ratio("pair-8", "jemalloc", t)
    goal(f"2. W1 pair-8 ≥ 1.0× jemalloc, {t} threads", fmt(r), r is not None and r >= 1.0)
r = ratio("swap", "leak", 2)
goal("2. W2 swap ≥ 0.8× leak, 2 threads", fmt(r), r is not None and r >= 0.8)
for t in (1, 2, 4):
    r = ratio("release", "ck-epoch", t)
    goal(f"2. W4 release ≥ 1.0× ck-epoch, {t} thread{'s' if t > 1 else ''}", fmt(r),
         r is not None and r >= 1.0)
for w in ("set-read", "set-update"):
    for t in (1, 2, 4):
        r = ratio(w, "ck-epoch", t)
        goal(f"2. W3 {w} ≥ 1.05× ck-epoch, {t} thread{'s' if t > 1 else ''}", fmt(r),
             r is not None and r >= 1.05)
# 3. Memory.
for w in ("pair-8", "pair-64"):
    r = row(w, "ssmem", 4)
    g = None if r is None else int(r["rss_growth_kb"]) / 1024
    goal(f"3. W1 {w}, 4 threads on 2 cores: RSS growth within a few MiB (≤ 4)",
         "–" if g is None else f"+{g:.1f} MiB ({r['pending_hwm']} pending)", g is not None and g <= 4)
for t in (1, 2, 4):
    s = row("swap", "ssmem", t)
    peers = [row("swap", p, t) for p in ("ck-epoch", "urcu-memb", "urcu-memb-batch", "urcu-qsbr", "cds-hp")]
    peers = [p for p in peers if p is not None and int(p["pending_hwm"]) >= 0]
    if s is None or not peers:
        continue
    b = min(peers, key=lambda p: int(p["pending_hwm"]))
    k = int(s["pending_hwm"]) / max(1, int(b["pending_hwm"]))
    goal(f"3. W2 pending high-water mark ≤ 2× the best reclamation peer's, {t} thread{'s' if t > 1 else ''}",
         f"{s['pending_hwm']} vs {b['pending_hwm']} ({b['peer']}): {k:.1f}×", k <= 2)

print("| goal | figure (same run) | |")
print("|---|---|---|")
print("\n".join(out))
