"""Mutants: the algorithm headers with one step weakened, applied from outside the shipped text.

Each verification/mutants/NN_name.patch is a unified diff against ssmem/. mutant_copy() (used by
this package's BUILD) copies the algorithm headers, applies the patch and writes a prelude that
includes the copies; mutant(n) gives what a target needs to be built on mutant n instead of the
shipped headers:

    cc_test(name = ..., srcs = ..., deps = [...] + mutant(6).deps, copts = mutant(6).copts)

The copts force-include the prelude (-include), so the copies are expanded before the source's
first line; every copy defines its original's include guard, and the shipped headers that the
source (or ssmem.cc) includes afterwards expand to nothing. Whatever the search path, the code
compiled is the patched copy's.
"""

load("//ssmem:defs.bzl", "ALGORITHM_HEADERS")

# Number -> name; the patch is NN_name.patch. The BUILD file checks that the patches on disk
# are exactly these.
MUTANTS = {
    1: "bump_without_fence",
    2: "bump_relaxed_store",
    3: "collector_without_fence",
    4: "compare_greater_equal",
    5: "snapshot_skips_thread",
    6: "collect_unstamped",
    7: "collect_newest_too",
    8: "original_ordering",
    9: "batch_stamps_newest_only",
    10: "stamp_with_probe",
    11: "publish_by_store",
    12: "publish_without_release",
    13: "retry_without_acquire",
    14: "head_load_relaxed",
    15: "index_computed_once",
    16: "adopt_by_store",
    17: "adopt_cas_relaxed",
    18: "unregister_relaxed",
    19: "adopt_stays_offline",
    20: "load_version_relaxed",
    21: "deleter_at_retire",
    22: "partial_release_set_unstamped",
    23: "go_offline_relaxed",
    24: "snapshot_head_relaxed",
    25: "give_back_uncollected",
    40: "bound_wait_takes_uncollected",
    41: "bound_stamp_with_probe",
    42: "bound_wait_bumps_anyway",
    43: "section_entry_stays_offline",
    44: "section_entry_without_fence",
    45: "section_inner_exit_goes_offline",
    46: "section_exit_relaxed",
    47: "section_entry_relaxed",
}

def mutant_dir(n):
    """NN_name: the patch's base name, and the folder of its copy."""
    if n not in MUTANTS:
        fail("no mutant %d in verification/mutants/mutants.bzl" % n)
    return ("0%d" % n if n < 10 else "%d" % n) + "_" + MUTANTS[n]

def mutant(n):
    """What a C or C++ target adds to be built on mutant n: deps, copts, and a define naming it."""
    d = mutant_dir(n)
    return struct(
        deps = ["//verification/mutants:" + d],
        copts = ["-include", "verification/mutants/%s/prelude.hpp" % d],
        # For messages only (the harness prints it): the headers do not read it.
        defines = ["SSMEM_VERIFICATION_MUTANT=%d" % n],
    )

def mutant_copy(n):
    """The genrule that makes mutant n's copy, and the library that carries it."""
    d = mutant_dir(n)
    outs = ["%s/prelude.hpp" % d] + ["%s/ssmem/%s" % (d, h) for h in ALGORITHM_HEADERS]
    native.genrule(
        name = d + "_copy",
        srcs = [d + ".patch", "//ssmem:algorithm_headers"],
        outs = outs,
        cmd = "$(location :apply_mutant.sh) $(RULEDIR)/%s $(location %s.patch) $(locations //ssmem:algorithm_headers)" % (d, d),
        tools = [":apply_mutant.sh"],
        testonly = True,
    )
    native.cc_library(
        name = d,
        hdrs = outs,
        testonly = True,
        visibility = ["//visibility:public"],
    )
