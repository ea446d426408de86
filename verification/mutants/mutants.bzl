"""Mutants: the library with one step weakened, applied from outside the shipped text.

Each verification/mutants/NN_name.patch is a unified diff against ssmem/: the algorithm headers,
or the C and C++ API (API_FILES). mutant_copy() (used by this package's BUILD) copies both,
applies the patch and writes two preludes; mutant(n) gives what a target needs to be built on
mutant n instead of the shipped sources:

    cc_test(name = ..., srcs = ..., deps = [...] + mutant(6).deps, copts = mutant(6).copts)

`copts` force-include prelude.hpp (-include: the algorithm headers' copies), `api_copts`
prelude_api.hpp (those, then the API headers' copies), so the copies are expanded before the
source's first line; every copy defines its original's include guard, and the shipped headers
that the source includes afterwards expand to nothing. Whatever the search path, the code
compiled is the patched copy's. A target that builds the library on the mutant compiles
`library_srcs` (the copy of ssmem.cc) with `api_copts` instead of //ssmem:ssmem.cc.
"""

load("//config:sanitizers.bzl", "skip_under_sanitizer_config")
load("//ssmem:defs.bzl", "ALGORITHM_HEADERS")

# The C and C++ API, copied beside the algorithm headers: a mutant may weaken a step there too
# (a scope's record, the fork handler, the thread-exit hook, object_pool's deleter).
API_FILES = [
    "native_policy.hpp",
    "ssmem.h",
    "ssmem.hpp",
    "ssmem.cc",
]

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
    # Issue 20: the blind spots of the suite -- thresholds in the wrong unit and fast paths that
    # skip a step (26-30), memory held back (31, 32), a destructor on reusable memory (33),
    # lifecycle edges (34-37). Killed by unit and stress targets (verification/BUILD).
    26: "backlog_in_sets",
    27: "zero_memory_fast_path",
    28: "fast_free_skips_bump",
    29: "fast_alloc_keeps_poison",
    30: "stamp_due_in_sets",
    31: "leftovers_kept_at_probe",
    32: "partial_release_set_waits",
    33: "destructor_after_reuse",
    34: "fork_child_keeps_main_record_only",
    35: "gc_thread_term_keeps_record",
    36: "checked_lookup_finds_tombstone",
    37: "exit_hook_unlocked",
    40: "bound_wait_takes_uncollected",
    41: "bound_stamp_with_probe",
    42: "bound_wait_bumps_anyway",
    43: "section_entry_stays_offline",
    44: "section_entry_without_fence",
    45: "section_inner_exit_goes_offline",
    46: "section_exit_relaxed",
    47: "section_entry_relaxed",
    # Shared stamps (the ticket, the publication, the copy; share_race).
    48: "shared_stamp_ticket_after_fence",
    49: "borrow_ignores_cover",
    50: "ticket_relaxed",
    51: "borrow_without_validation",
    52: "publication_relaxed",
    53: "publication_without_release_fence",
    54: "borrow_without_acquire_fence",
    55: "borrow_sequence_relaxed",
    56: "publication_cas_relaxed",
    57: "pause_offline_anyway",
    58: "pause_stays_offline",
    59: "release_entry_counts_once",
    60: "overrun_waits_for_batch",
    61: "overrun_without_grant",
    62: "grant_ignores_holder",
    63: "grant_any_holder_twice",
}

def mutant_dir(n):
    """NN_name: the patch's base name, and the folder of its copy."""
    if n not in MUTANTS:
        fail("no mutant %d in verification/mutants/mutants.bzl" % n)
    return ("0%d" % n if n < 10 else "%d" % n) + "_" + MUTANTS[n]

def mutant(n):
    """What a C or C++ target adds to be built on mutant n (see the file comment)."""
    return mutant_of(n)

def mutant_of(n):
    """As mutant(n) (a name that mutant_cc_test's parameter `mutant` does not hide)."""
    d = mutant_dir(n)
    return struct(
        deps = ["//verification/mutants:" + d],
        copts = ["-include", "verification/mutants/%s/prelude.hpp" % d],
        api_copts = ["-include", "verification/mutants/%s/prelude_api.hpp" % d],
        library_srcs = ["//verification/mutants:%s/ssmem/ssmem.cc" % d],
        # For messages only (the harness prints it): the sources do not read it.
        defines = ["SSMEM_VERIFICATION_MUTANT=%d" % n],
    )

def mutant_copy(n):
    """The genrule that makes mutant n's copy, and the library that carries it."""
    d = mutant_dir(n)
    headers = ["%s/prelude.hpp" % d, "%s/prelude_api.hpp" % d] + \
              ["%s/ssmem/%s" % (d, h) for h in ALGORITHM_HEADERS] + \
              ["%s/ssmem/%s" % (d, f) for f in API_FILES if not f.endswith(".cc")]
    sources = ["%s/ssmem/%s" % (d, f) for f in API_FILES if f.endswith(".cc")]
    native.genrule(
        name = d + "_copy",
        srcs = [d + ".patch", "//ssmem:algorithm_headers"] + ["//ssmem:" + f for f in API_FILES],
        outs = headers + sources,
        cmd = "$(location :apply_mutant.sh) $(RULEDIR)/%s $(location %s.patch) $(locations //ssmem:algorithm_headers) -- %s" % (
            d,
            d,
            " ".join(["$(location //ssmem:%s)" % f for f in API_FILES]),
        ),
        tools = [":apply_mutant.sh"],
        testonly = True,
        visibility = ["//visibility:public"],
    )
    native.cc_library(
        name = d,
        hdrs = headers,
        testonly = True,
        visibility = ["//visibility:public"],
    )

# What a unit test is built with (tests/unit/BUILD): ASan (+LSan) and UBSan.
_SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
_SANITIZE_LINK = _SANITIZE + ["-fsanitize-link-c++-runtime", "-fuse-ld=bfd"]

def mutant_cc_test(
        name,
        mutant,
        srcs,
        expect,
        args = [],
        deps = [],
        defines = [],
        sanitize = True,
        library = True,
        size = "small",
        timeout = "short"):
    """A native test built on mutant `mutant`, the library included (the copy of ssmem.cc):
    passes only if the binary exits non-zero and its output matches `expect` (an extended
    regular expression), so that a crash for another reason does not count. `args` go to the
    binary (e.g. a doctest --test-case filter). `library` False: a test of the algorithm
    headers alone, without ssmem.cc. Skipped under a whole-tree sanitizer configuration (it
    picks its own: ASan and UBSan, as the unit tests).
    """
    m = mutant_of(mutant)
    native.cc_binary(
        name = name + "_bin",
        testonly = True,
        srcs = srcs + (m.library_srcs if library else []),
        copts = (_SANITIZE if sanitize else []) + m.api_copts,
        local_defines = m.defines + defines,
        linkopts = (_SANITIZE_LINK if sanitize else []) + ["-lpthread"],
        deps = deps + m.deps + ["//ssmem:headers"],
        tags = ["manual"],
        target_compatible_with = skip_under_sanitizer_config(),
    )
    native.sh_test(
        name = name,
        size = size,
        timeout = timeout,
        srcs = ["//tests/stress:run_under.sh"],
        args = [
            "--sanitizer",
            "plain",
            "--expect-failure",
            "'%s'" % expect,
            "$(location :%s_bin)" % name,
        ] + args,
        data = [":" + name + "_bin"],
        tags = ["mutant"],
        target_compatible_with = skip_under_sanitizer_config(),
    )
