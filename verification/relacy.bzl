"""Relacy test targets: a property's test binary, its deep twin and its mutants.

relacy_test(name = "rl_safety", src = "safety_test.cc") emits
  rl_safety            the quick searches (in `bazel test //...`; with --config=exhaustive the
                       binary is built with RELACY_EXHAUSTIVE=1 and runs the deep searches);
  rl_safety_exhaustive the deep searches (tagged manual: run it by name).
mutant_test(name, src, mutant, tests) builds the same source on mutant <mutant>'s patched copy
of the algorithm headers (verification/mutants: the patch applied by the build, the shipped
headers untouched) and runs the given tests with --expect-failure: it passes only if Relacy
reports a safety failure.

Under a whole-tree sanitizer configuration (--config=asan|tsan|ubsan) every target here is
skipped: Relacy runs the test's threads as fibers on one OS thread (its own stacks and context
switches, which ASan and TSan do not follow) and checks the memory model itself. Under UBSan
they did run, but rl_release alone took 246 s and rl_ts_policy 200 s on the shared 2-core
machine (all quick searches together take about 100 s without it) and each compile minutes:
too close to the 300 s timeout to keep in a configuration meant to be run whole.
"""

load("//config:sanitizers.bzl", "skip_under_sanitizer_config")
load("//verification/mutants:mutants.bzl", mutant_build = "mutant")

# Relacy explores millions of executions: optimise even in fastbuild.
RELACY_COPTS = ["-O2"]

# A mutant target stops at the first failure, mostly within a few thousand executions: it is
# compiled without optimisation (half the compile time of -O2; its one or two tests take at
# most a few seconds either way).
MUTANT_COPTS = ["-O0"]

def _defines():
    return select({
        "//verification:exhaustive": ["RELACY_EXHAUSTIVE=1"],
        "//conditions:default": [],
    })

def _only(tests):
    """copts that compile only `tests` into the binary (harness.hpp, SSMEM_RL_ONLY)."""
    return ['-DSSMEM_RL_ONLY=\\"%s\\"' % ",".join(tests)]

def relacy_test(
        name,
        src,
        size = "medium",
        timeout = "moderate",
        shard_count = None,
        deep_timeout = "eternal",
        deep_shard_count = None):
    """The quick searches of `src` (shard_count: split over that many test actions, which
    Bazel runs in parallel; harness.hpp assigns the tests round-robin) and its deep twin."""
    native.cc_test(
        name = name,
        srcs = [src],
        copts = RELACY_COPTS,
        local_defines = _defines(),
        size = size,
        timeout = timeout,
        shard_count = shard_count,
        deps = ["//verification:harness"],
        target_compatible_with = skip_under_sanitizer_config(),
        tags = ["relacy"],
    )
    native.cc_test(
        name = name + "_exhaustive",
        srcs = [src],
        copts = RELACY_COPTS,
        args = ["--deep"],
        size = "large",
        timeout = deep_timeout,
        shard_count = deep_shard_count,
        deps = ["//verification:harness"],
        target_compatible_with = skip_under_sanitizer_config(),
        tags = ["relacy", "manual"],
    )

def mutant_test(name, src, mutant, tests, size = "small", timeout = "moderate"):
    """Mutant `mutant` against `tests` of `src`, the only tests compiled in."""
    m = mutant_build(mutant)
    native.cc_test(
        name = name,
        srcs = [src],
        copts = MUTANT_COPTS + m.copts + _only(tests),
        local_defines = m.defines,
        args = ["--expect-failure"] + tests,
        size = size,
        timeout = timeout,
        deps = ["//verification:harness"] + m.deps,
        target_compatible_with = skip_under_sanitizer_config(),
        tags = ["relacy", "mutant"],
    )

def expect_failure_test(name, src, tests, size = "small", timeout = "moderate"):
    """A negative control of the checks themselves: passes only if the named tests fail."""
    native.cc_test(
        name = name,
        srcs = [src],
        copts = RELACY_COPTS + _only(tests),
        args = ["--expect-failure"] + tests,
        size = size,
        timeout = timeout,
        deps = ["//verification:harness"],
        target_compatible_with = skip_under_sanitizer_config(),
        tags = ["relacy"],
    )
