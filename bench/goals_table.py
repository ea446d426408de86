#!/usr/bin/env python3
"""The goals of issues 11 and 18 as markdown tables, from //bench:throughput's throughput.csv:
each goal's figure from the same run and whether it is met. Used for docs/benchmarks.md:

  python3 bench/goals_table.py bench-out/throughput.csv [--issue 11|18] [--baseline CSV]

Issue 18's last goal compares the run with a baseline run: by default bench/goals_baseline.csv,
a default run of the code of 2026-11-30 (commit bdde96f, before the memory bound) made on the
same machine just before the committed run (docs/benchmarks.md, "The tidy case"): on this
shared machine the peers' speed changes from one day to the next, so the baseline is
re-measured with the run it judges rather than kept from the day it was made (that run, the
first baseline, is docs/bench/throughput.csv at commit ecfb3aa)."""
import argparse
import csv
import os

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("csv", help="a throughput.csv")
parser.add_argument("--issue", choices=("11", "18"), help="one issue's table only (default: both)")
parser.add_argument("--baseline", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "goals_baseline.csv"),
                    help="the run that issue 18's 'no ratio falls' compares with (default: %(default)s)")
args = parser.parse_args()


def load(path):
    return list(csv.DictReader(open(path)))


rows = load(args.csv)

# The reclamation peers that W2's goals compare with (not leak, not ssmem's own variants).
RECLAMATION = ("ck-epoch", "urcu-memb", "urcu-memb-batch", "urcu-qsbr", "cds-hp")
# Issue 18's over-subscribed thread counts (8x and 32x the cores of this 2-core machine).
OVERSUBSCRIBED = (16, 64)
# Issue 18: the thread count of the stall scenario's rows and of the W2 rows they are compared
# with is whatever the run used (the benchmark's default: nproc).


def row(workload, peer, threads, rs=None):
    return next((r for r in (rows if rs is None else rs) if r["workload"] == workload and r["peer"] == peer
                 and int(r["threads"]) == threads), None)


def ratio(workload, peer, threads):
    """ssmem ÷ peer, the median of per-round ratios (None if the cell is missing)."""
    r = row(workload, peer, threads)
    return float(r["ssmem_ratio_median"]) if r and r["ssmem_ratio_median"] else None


def fmt(x):
    return "–" if x is None else f"{x:.2f}×"


def mib(r):
    return int(r["rss_growth_kb"]) / 1024


def bound(r):
    """The peer's bound on pending objects for the run, or None (no column, or -1: none)."""
    b = r.get("pending_bound", "")
    return int(b) if b not in ("", None) and int(b) >= 0 else None


MISSING = "– (not in this run)"


class Table:
    def __init__(self):
        self.lines = []

    def goal(self, text, figures, met):
        self.lines.append(f"| {text} | {figures} | {'met' if met else '**not met**'} |")

    def reference(self, text, figures):
        self.lines.append(f"| {text} | {figures} | reference |")

    def print(self):
        print("| goal | figure (same run) | |")
        print("|---|---|---|")
        print("\n".join(self.lines))


def plural(t):
    return f"{t} thread{'s' if t > 1 else ''}"


def issue_11():
    out = Table()
    goal = out.goal
    # 1. The C API against the C++ API (ssmem ÷ ssmem-c inverted: the C peer's share).
    for w in ("pair-8", "swap"):
        for t in (1, 2):
            r = ratio(w, "ssmem-c", t)
            c = None if r is None else 1 / r
            goal(f"1. C peer ≥ 0.95× the C++ peer, {w}, {plural(t)}", fmt(c), c is not None and c >= 0.95)
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
        goal(f"2. W4 release ≥ 1.0× ck-epoch, {plural(t)}", fmt(r), r is not None and r >= 1.0)
    for w in ("set-read", "set-update"):
        for t in (1, 2, 4):
            r = ratio(w, "ck-epoch", t)
            goal(f"2. W3 {w} ≥ 1.05× ck-epoch, {plural(t)}", fmt(r), r is not None and r >= 1.05)
    # 3. Memory.
    for w in ("pair-8", "pair-64"):
        r = row(w, "ssmem", 4)
        g = None if r is None else mib(r)
        goal(f"3. W1 {w}, 4 threads on 2 cores: RSS growth within a few MiB (≤ 4)",
             "–" if g is None else f"+{g:.1f} MiB ({r['pending_hwm']} pending)", g is not None and g <= 4)
    for t in (1, 2, 4):
        s = row("swap", "ssmem", t)
        peers = [row("swap", p, t) for p in RECLAMATION]
        peers = [p for p in peers if p is not None and int(p["pending_hwm"]) >= 0]
        if s is None or not peers:
            continue
        b = min(peers, key=lambda p: int(p["pending_hwm"]))
        k = int(s["pending_hwm"]) / max(1, int(b["pending_hwm"]))
        goal(f"3. W2 pending high-water mark ≤ 2× the best reclamation peer's, {plural(t)}",
             f"{s['pending_hwm']} vs {b['pending_hwm']} ({b['peer']}): {k:.1f}×", k <= 2)
    return out


def ratio_range(rs, workload, peer, threads):
    """The median ratio ssmem ÷ peer of a run and the range its rounds allow: (ssmem's min ÷ the
    peer's max, ssmem's max ÷ the peer's min); None if a cell is missing."""
    p, s = row(workload, peer, threads, rs), row(workload, "ssmem", threads, rs)
    if p is None or s is None or not p["ssmem_ratio_median"] or float(p["mops_min"]) <= 0 or float(p["mops_max"]) <= 0:
        return None
    return (float(p["ssmem_ratio_median"]), float(s["mops_min"]) / float(p["mops_max"]),
            float(s["mops_max"]) / float(p["mops_min"]))


def issue_18():
    out = Table()
    goal = out.goal
    # W1 pair-64, over-subscribed: memory and speed against glibc.
    for t in OVERSUBSCRIBED:
        s = row("pair-64", "ssmem", t)
        goal(f"W1 pair-64, {t} threads: RSS growth ≤ 16 MiB",
             MISSING if s is None else f"+{mib(s):.1f} MiB ({s['pending_hwm']} pending)",
             s is not None and mib(s) <= 16)
        r = ratio("pair-64", "glibc", t)
        goal(f"W1 pair-64, {t} threads: ≥ 1.0× glibc", MISSING if r is None else fmt(r), r is not None and r >= 1.0)
    # W2, over-subscribed: pending against urcu-qsbr's (which blocks), speed against the best
    # reclamation peer's.
    for t in OVERSUBSCRIBED:
        s, q = row("swap", "ssmem", t), row("swap", "urcu-qsbr", t)
        if s is None or q is None:
            goal(f"W2 swap, {t} threads: pending high-water mark ≤ 2× urcu-qsbr's", MISSING, False)
        else:
            k = int(s["pending_hwm"]) / max(1, int(q["pending_hwm"]))
            goal(f"W2 swap, {t} threads: pending high-water mark ≤ 2× urcu-qsbr's",
                 f"{s['pending_hwm']} vs {q['pending_hwm']}: {k:.1f}×", k <= 2)
        peers = [p for p in (row("swap", x, t) for x in RECLAMATION) if p is not None and p["ssmem_ratio_median"]]
        if not peers:
            goal(f"W2 swap, {t} threads: throughput ≥ 2× the best reclamation peer's", MISSING, False)
        else:
            b = max(peers, key=lambda p: float(p["mops_median"]))
            r = float(b["ssmem_ratio_median"])
            goal(f"W2 swap, {t} threads: throughput ≥ 2× the best reclamation peer's", f"{fmt(r)} ({b['peer']})",
                 r >= 2)
    # W5: ssmem's pending objects within the bound it states (the memory-bound option's), for the
    # whole run: the high-water mark of the millisecond samples against the pending_bound column.
    for w in ("stall-pair-64", "stall-swap"):
        s = [r for r in rows if r["workload"] == w and r["peer"] == "ssmem"]
        text = f"W5 {w}: ssmem's pending objects within the documented bound for the whole run"
        if not s:
            goal(text, MISSING, False)
            continue
        for r in s:
            b = bound(r)
            t = f"{r['pending_hwm']} pending at most, {plural(int(r['threads']))}"
            if b is None:
                goal(text, t + "; no bound stated (no pending_bound from the ssmem peer: the option is not in this build)",
                     False)
            else:
                goal(text, f"{t}; bound {b}", int(r["pending_hwm"]) <= b)
    # W5: a thread that sleeps outside a critical section costs no memory: the section peer's W5
    # run against the same W2 cells with nobody sleeping (calm-swap: as many threads, as long),
    # same invocation; a run without calm-swap rows (before 2026-12-04) is compared with its
    # W2 row, which ran shorter. "No memory": peak-RSS growth at most 1 MiB above the
    # reference's and a pending high-water mark at most 1.5x the reference's.
    def costs_nothing(peer):
        s = [r for r in rows if r["workload"] == "stall-swap" and r["peer"] == peer]
        res = []
        for r in s:
            t = int(r["threads"])
            b = row("calm-swap", peer, t) or row("swap", peer, t)
            if b is None:
                res.append((f"{plural(t)}: no W2 row at {plural(t)} to compare with", False))
                continue
            ok = mib(r) <= mib(b) + 1 and int(r["pending_hwm"]) <= 1.5 * max(1, int(b["pending_hwm"]))
            res.append((f"{plural(t)}: +{mib(r):.1f} MiB, {r['pending_hwm']} pending; without the sleeper "
                        f"+{mib(b):.1f} MiB, {b['pending_hwm']} pending", ok))
        return res

    text = "W5 stall-swap: a thread that sleeps outside a critical section costs no memory (ssmem-section)"
    res = costs_nothing("ssmem-section")
    if not res:
        goal(text, "– (no ssmem-section peer in this run: the critical-section API is not in this build)", False)
    for figures, ok in res:
        goal(text, figures, ok)
    for figures, _ in costs_nothing("ssmem-offline"):
        out.reference("W5 stall-swap, the same with today's API: ssmem-offline (offline()/online() around each "
                      "operation, sleeping offline)", figures)
    # W1..W4 at 1, 2 and 4 threads: no ratio of the baseline run falls by more than noise. A
    # ratio falls when it is below 0.95x the baseline's and the ranges its rounds allow do not
    # overlap (the new run's highest below the baseline's lowest).
    base = load(args.baseline)
    for w in ("pair-8", "pair-64", "swap", "set-read", "set-update", "release"):
        compared, falls, worst = 0, [], None
        for b in base:
            if b["workload"] != w or b["peer"] == "ssmem" or int(b["threads"]) not in (1, 2, 4):
                continue
            t, p = int(b["threads"]), b["peer"]
            old, new = ratio_range(base, w, p, t), ratio_range(rows, w, p, t)
            if old is None or new is None:
                continue
            compared += 1
            change = new[0] / old[0] - 1
            if worst is None or change < worst[0]:
                worst = (change, p, t, old[0], new[0])
            if new[0] < 0.95 * old[0] and new[2] < old[1]:
                falls.append(f"{p} at {plural(t)} {old[0]:.2f}× → {new[0]:.2f}×")
        text = f"W1–W4 {w} at 1, 2 and 4 threads: no ratio of the baseline run falls by more than noise"
        if compared == 0:
            goal(text, MISSING, False)
        elif falls:
            goal(text, f"{compared} ratios compared; fell: " + "; ".join(falls), False)
        else:
            c, p, t, o, n = worst
            goal(text, f"{compared} ratios compared, none fell; the largest change: {p} at {plural(t)} "
                       f"{o:.2f}× → {n:.2f}× ({100 * c:+.0f}%)", True)
    return out


if args.issue in (None, "11"):
    if args.issue is None:
        print("**Issue 11**\n")
    issue_11().print()
if args.issue in (None, "18"):
    if args.issue is None:
        print("\n**Issue 18** (over-subscribed: 16 and 64 threads; W5: the run's stall threads)\n")
    issue_18().print()
