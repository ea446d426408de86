"""The API fuzzer's binary, on the shipped algorithm headers or on a mutant of them.

api_fuzzer(name) emits <name> (the libFuzzer binary) and <name>_ssmem (the library as it links
it): the checked build (SSMEM_CHECKED=1, which the fuzzer's source sees too), compiled with ASan,
UBSan and libFuzzer's full coverage instrumentation -- as the stress variants of
tests/stress/stress.bzl compile ssmem.cc with their own flags -- so that the library's branches
and comparisons guide the fuzzer. The fuzzer's own source is instrumented for coverage too (the
C++ API's templates are instantiated there), but without comparison tracing: its model (maps,
sets) compares pointers all the time, which took a quarter of the run time and guides nothing.

Under --config=asan or ubsan the configuration's flags come twice (the same ones); TSan does not
combine with ASan, so under --config=tsan the fuzzer steps aside (SKIPPED).
"""

load("//config:sanitizers.bzl", "skip_under_sanitizer_config")
load("//verification/mutants:mutants.bzl", mutant_build = "mutant")

SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]

def _compatible():
    return skip_under_sanitizer_config(keep = ["asan", "ubsan"])

def api_fuzzer(name, mutant = None):
    """The fuzzer binary `name`, built on verification mutant `mutant` if given (see above)."""
    m = mutant_build(mutant) if mutant != None else struct(deps = [], copts = [], defines = [])
    native.cc_library(
        name = name + "_ssmem",
        testonly = True,
        srcs = ["//ssmem:ssmem.cc"],
        copts = SANITIZE + ["-fsanitize=fuzzer-no-link"] + m.copts,
        defines = ["SSMEM_CHECKED=1"],
        linkstatic = True,
        target_compatible_with = _compatible(),
        deps = ["//ssmem:headers"] + m.deps,
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = ["api_fuzzer.cc"],
        copts = SANITIZE + [
            "-fsanitize=fuzzer",
            "-fno-sanitize-coverage=trace-cmp",
        ] + m.copts,
        local_defines = m.defines,
        linkopts = SANITIZE + [
            "-fsanitize=fuzzer",
            # Bazel links with the C driver: UBSan's C++ half explicitly; GNU ld (gold warns
            # about ASan's local symbols).
            "-fsanitize-link-c++-runtime",
            "-fuse-ld=bfd",
            "-lpthread",
        ],
        target_compatible_with = _compatible(),
        deps = [":" + name + "_ssmem"] + m.deps,
        tags = ["manual"] if mutant != None else [],
    )

def api_fuzz_test(name, fuzzer, dirs, args = [], size = "medium", tags = []):
    """tests/fuzz/run_fuzzer.sh with `fuzzer` over the committed inputs in `dirs`."""
    native.sh_test(
        name = name,
        size = size,
        srcs = ["run_fuzzer.sh"],
        args = args + ["$(location %s)" % fuzzer] + ["tests/fuzz/" + d for d in dirs],
        data = [fuzzer] + native.glob([d + "/**" for d in dirs]),
        tags = tags,
        target_compatible_with = _compatible(),
    )
