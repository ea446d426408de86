"""The algorithm headers of //ssmem (the policy-templated code that Relacy checks), as one list:
the :algorithm library ships them, and //verification/mutants copies and patches them."""

ALGORITHM_HEADERS = [
    "allocator.hpp",
    "detail/checked.hpp",
    "detail/report.hpp",
    "detail/source_location.hpp",
    "domain.hpp",
    "free_set.hpp",
    "fwd.hpp",
    "options.hpp",
    "policy.hpp",
    "thread_record.hpp",
    "vector_clock.hpp",
]
