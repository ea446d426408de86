"""Definitions shared by //ssmem and the packages that build on its sources.

ALGORITHM_HEADERS: the algorithm headers (the policy-templated code that Relacy checks), as one
list: the :algorithm library ships them, and //verification/mutants copies and patches them.

OPTIMIZED: copts that optimise in every compilation mode but -c dbg, as the original's Makefile
builds it (-O3; VERSION=DEBUG: -O0). Bazel's default mode (fastbuild) passes no -O at all, and
a C program built with `bazel build`/`bazel run` would otherwise link an unoptimised allocator
(the original's ssmem_test -t: 15 million operations per second at -O0, 230 million at -O3).
"""

ALGORITHM_HEADERS = [
    "allocator.hpp",
    "chunk_carver.hpp",
    "detail/checked.hpp",
    "detail/report.hpp",
    "detail/source_location.hpp",
    "domain.hpp",
    "free_set.hpp",
    "fwd.hpp",
    "options.hpp",
    "policy.hpp",
    "release_queue.hpp",
    "set_pipeline.hpp",
    "thread_record.hpp",
    "vector_clock.hpp",
]

OPTIMIZED = select({
    "//ssmem:dbg": [],
    "//conditions:default": ["-O3"],
})
