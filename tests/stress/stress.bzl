"""Stress tests built four ways in one `bazel test //...`: plain, TSan, ASan(+LSan), UBSan.

Bazel 4 has no per-target configurations without transitions, so each variant is its own
target that compiles the test with the sanitizer's flags and links the library (ssmem/ssmem.cc,
exported by //ssmem) compiled with the same flags, once per sanitizer for the whole package
(stress_libraries()); the headers come from //ssmem:headers. A negative control compiles the
library from its mutant's copy instead. `stress_test(name = "x", ...)`
emits x_plain, x_tsan, x_asan and x_ubsan.

Under a whole-tree sanitizer configuration of .bazelrc (--config=asan|tsan|ubsan, which
instruments every target) only the variant of that sanitizer is built and run; the others are
incompatible (SKIPPED): a variant adding -fsanitize=address to a -fsanitize=thread build does
not compile, and a "plain" variant would not be plain. See docs/sanitizers.md.

TSan variants run through run_under.sh, which starts the binary with address-space
randomisation disabled (setarch -R) when the kernel's mmap randomisation is wider than
clang 14's TSan runtime supports (vm.mmap_rnd_bits > 28: "FATAL: ThreadSanitizer: unexpected
memory mapping"); see docs/sanitizers.md.
"""

load("//config:sanitizers.bzl", "WHOLE_TREE_SANITIZERS", "skip_under_sanitizer_config")
load("//verification/mutants:mutants.bzl", mutant_build = "mutant")

_COMMON = ["-g", "-fno-omit-frame-pointer"]

# copts, linkopts and the value of SSMEM_STRESS_SANITIZER for each variant.
SANITIZERS = {
    "plain": struct(
        copts = ["-O2", "-g"],
        linkopts = [],
    ),
    "tsan": struct(
        copts = _COMMON + ["-O1", "-fsanitize=thread"],
        linkopts = ["-fsanitize=thread", "-fsanitize-link-c++-runtime"],
    ),
    "asan": struct(
        copts = _COMMON + ["-O1", "-fsanitize=address", "-fsanitize-address-use-after-scope"],
        # GNU ld: gold prints warnings about ASan's local symbols.
        linkopts = ["-fsanitize=address", "-fsanitize-link-c++-runtime", "-fuse-ld=bfd"],
    ),
    "ubsan": struct(
        copts = _COMMON + ["-O1", "-fsanitize=undefined", "-fno-sanitize-recover=all"],
        # Bazel links with the C driver: ask for UBSan's C++ half (vptr checks) explicitly.
        linkopts = ["-fsanitize=undefined", "-fsanitize-link-c++-runtime"],
    ),
}

ALL_SANITIZERS = ["plain", "tsan", "asan", "ubsan"]

_LIB_SRCS = ["//ssmem:ssmem.cc"]
_DEFAULTS_SRCS = ["//tests/stress:sanitizer_defaults.cc"]
_LIB_DEPS = ["//ssmem:headers"]
_RUNNER = "//tests/stress:run_under.sh"

def _compatible(san):
    """The variant `san` runs by default and under its own whole-tree configuration only."""
    return skip_under_sanitizer_config(keep = san if san in WHOLE_TREE_SANITIZERS else None)

def _library_name(san, defines):
    return "ssmem%s_%s" % ("_checked" if "SSMEM_CHECKED=1" in defines else "", san)

def stress_libraries():
    """The library (ssmem.cc, instrumented) and the default sanitizer options, compiled once per
    sanitizer -- and once more with SSMEM_CHECKED=1 -- for every stress test of the package
    (a stress_test links //tests/stress:ssmem[_checked]_<sanitizer>). Call once, in its BUILD."""
    for san in ALL_SANITIZERS:
        for defines in [[], ["SSMEM_CHECKED=1"]]:
            native.cc_library(
                name = _library_name(san, defines),
                srcs = _LIB_SRCS + _DEFAULTS_SRCS,
                copts = SANITIZERS[san].copts,
                local_defines = defines,
                deps = _LIB_DEPS,
                alwayslink = True,  # sanitizer_defaults.cc: nothing refers to its symbols
                testonly = True,
                tags = ["manual"],
                target_compatible_with = _compatible(san),
            )

def _variant_binary(name, san, srcs, deps, copts, defines, testonly_rule, lib_srcs = None):
    """lib_srcs None: the package's shared library of `san` (stress_libraries); else compiled in."""
    s = SANITIZERS[san]
    if lib_srcs == None:
        lib = ["//tests/stress:" + _library_name(san, defines)]
        lib_srcs = []
    else:
        lib = []
        lib_srcs = lib_srcs + _DEFAULTS_SRCS
    testonly_rule(
        name = name,
        srcs = srcs + lib_srcs,
        copts = s.copts + copts + ['-DSSMEM_STRESS_SANITIZER=\\"%s\\"' % san],
        defines = defines,
        linkopts = s.linkopts + ["-lpthread"],
        deps = deps + lib + _LIB_DEPS,
        testonly = True,
        tags = ["manual"],
        target_compatible_with = _compatible(san),
    )

def stress_test(
        name,
        srcs,
        deps = [],
        copts = [],
        defines = [],
        sanitizers = ALL_SANITIZERS,
        size = "medium",
        timeout = "short",
        env = {},
        tags = []):
    """One stress test, built and run once per sanitizer (see the file comment).

    Args:
      name: base name; targets are <name>_<sanitizer>, plus <name>_<sanitizer>_bin.
      srcs: the test's sources (a plain main() that returns non-zero on failure).
      deps: extra dependencies (the library's headers are always there).
      copts: extra compiler options for every variant.
      defines: preprocessor definitions for every variant.
      sanitizers: which variants to emit.
      size: Bazel test size.
      timeout: Bazel test timeout ("short", 60 s: a run takes about 2 s, a hang is cut early).
      env: environment of the test run (SSMEM_STRESS_MS, SSMEM_STRESS_SEED, ...).
      tags: extra tags for every variant.
    """
    for san in sanitizers:
        binary = "%s_%s_bin" % (name, san)
        _variant_binary(binary, san, srcs, deps, copts, defines, native.cc_binary)
        native.sh_test(
            name = "%s_%s" % (name, san),
            size = size,
            timeout = timeout,
            srcs = [_RUNNER],
            args = ["--sanitizer", san, "$(location :%s)" % binary],
            data = [":" + binary],
            env = env,
            tags = tags + [san, "stress"],
            target_compatible_with = _compatible(san),
        )

def negative_control_test(
        name,
        srcs,
        mutant,
        expect,
        sanitizers = ["plain", "tsan"],
        runs = 1,
        deps = [],
        copts = [],
        size = "medium",
        timeout = "short",
        env = {},
        tags = []):
    """A deliberately broken build that must fail: passes only if every run fails with output
    matching `expect[sanitizer]` (an extended regular expression).

    Args:
      name: base name; targets are <name>_<sanitizer>.
      srcs: the workload's sources.
      mutant: the number of the mutant (verification/mutants) that the test and the library
        are built on (its copy of ssmem.cc, and of every header) instead of the shipped ones.
      expect: dict sanitizer -> regular expression the failing run's output must match.
      sanitizers: which variants to emit.
      runs: how many times each variant runs the binary (each run must fail).
      deps: extra dependencies.
      copts: extra compiler options.
      size: Bazel test size.
      timeout: Bazel test timeout.
      env: environment of the runs.
      tags: extra tags for every variant.
    """
    m = mutant_build(mutant)
    for san in sanitizers:
        binary = "%s_%s_bin" % (name, san)
        _variant_binary(binary, san, srcs, deps + m.deps, copts + m.api_copts, m.defines, native.cc_binary,
                        lib_srcs = m.library_srcs)
        native.sh_test(
            name = "%s_%s" % (name, san),
            size = size,
            timeout = timeout,
            srcs = [_RUNNER],
            args = [
                "--sanitizer",
                san,
                "--expect-failure",
                "'%s'" % expect[san],
                "--runs",
                str(runs),
                "$(location :%s)" % binary,
            ],
            data = [":" + binary],
            env = env,
            tags = tags + [san, "stress", "negative_control"],
            target_compatible_with = _compatible(san),
        )
