"""Stepping aside under a whole-tree sanitizer configuration (--config=asan|tsan|ubsan).

Those configurations add -fsanitize=<name> to every compile and link (.bazelrc) and set
--define=ssmem_sanitizer=<name> (//config:asan, //config:tsan, //config:ubsan). Targets that
pick their own sanitizer (the per-variant stress tests), that replace the allocator (Relacy),
that load other allocators (the benchmark) or that measure the hardware (the litmus tests)
call these helpers; docs/sanitizers.md lists which and why.
"""

WHOLE_TREE_SANITIZERS = ["asan", "tsan", "ubsan"]

_SKIPPED = ["//config:skipped_under_this_configuration"]

def skip_under_sanitizer_config(keep = []):
    """A target_compatible_with value: the target is skipped under every whole-tree sanitizer
    configuration except those in `keep` (names of WHOLE_TREE_SANITIZERS: a list, one name or
    None for none).
    """
    if keep == None:
        keep = []
    elif type(keep) == "string":
        keep = [keep]
    branches = {
        "//config:" + san: ([] if san in keep else _SKIPPED)
        for san in WHOLE_TREE_SANITIZERS
    }
    branches["//conditions:default"] = []
    return select(branches)

def unless_sanitizer_config(sans, value, otherwise = []):
    """`value` by default, `otherwise` under the whole-tree configurations named in `sans`."""
    branches = {"//config:" + san: otherwise for san in sans}
    branches["//conditions:default"] = value
    return select(branches)
