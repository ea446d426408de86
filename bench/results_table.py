#!/usr/bin/env python3
"""Markdown tables from //bench:throughput's throughput.csv, one per workload: a row per peer,
a column per thread count, each cell "median Mops/s (ssmem/peer ratio)", then the memory of
each cell. Used for the results in docs/benchmarks.md:
  python3 bench/results_table.py bench-out/throughput.csv"""
import csv
import sys
from collections import OrderedDict

rows = list(csv.DictReader(open(sys.argv[1])))
by_workload = OrderedDict()
for r in rows:
    by_workload.setdefault(r["workload"], []).append(r)


def row_of(rs, peer, threads):
    """The CSV row of `peer` at `threads` threads, or None."""
    return next((r for r in rs if r["peer"] == peer and int(r["threads"]) == threads), None)


for w, rs in by_workload.items():
    threads = sorted({int(r["threads"]) for r in rs})
    peers = list(OrderedDict.fromkeys(r["peer"] for r in rs))
    print(f"**{w}** — median Mops/s [min–max] (ssmem ÷ peer, median of per-round ratios)\n")
    print("| peer | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |")
    print("|---|" + "---|" * len(threads))
    for p in peers:
        cells = []
        for t in threads:
            r = row_of(rs, p, t)
            if r is None:
                cells.append("")
                continue
            c = f"{float(r['mops_median']):.1f} [{float(r['mops_min']):.0f}–{float(r['mops_max']):.0f}]"
            if r["ssmem_ratio_median"]:
                c += f" ({float(r['ssmem_ratio_median']):.2f}×)"
            cells.append(c)
        print(f"| {p} | " + " | ".join(cells) + " |")
    print()
    bounds = any(int(r.get("pending_bound") or -1) >= 0 for r in rs)
    print(f"Memory, {w}: pending high-water mark (objects{' ≤ the bound the peer states' if bounds else ''})"
          " / peak-RSS growth (MiB)\n")
    print("| peer | " + " | ".join(str(t) for t in threads) + " |")
    print("|---|" + "---|" * len(threads))
    for p in peers:
        cells = []
        for t in threads:
            r = row_of(rs, p, t)
            if r is None:
                cells.append("")
                continue
            pend = "n/a" if int(r["pending_hwm"]) < 0 else r["pending_hwm"]
            if int(r.get("pending_bound") or -1) >= 0:
                pend += f" ≤ {r['pending_bound']}"
            g = int(r["rss_growth_kb"])
            cells.append(f"{pend} / {'n/a' if g < 0 else f'{g / 1024:.1f}'}")
        print(f"| {p} | " + " | ".join(cells) + " |")
    print()
