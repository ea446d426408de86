"""library_view: what Bazel compiles a few targets with, written to a file a test can read.

The builds without Bazel (the Makefile's plain build, CMakeLists.txt) take their sources and
flags from tools/library.mk; //tools:library_mk_test compares that file with this view. The
view is Bazel's own reading of the BUILD files in the current configuration (select()s
resolved), not a parse of their text:

    mode fastbuild                    the compilation mode (opt, dbg, fastbuild)
    copt -Wall -Wextra                --copt, --cxxopt, --conlyopt (.bazelrc and the command line)
    cxxopt -std=c++20
    conlyopt -std=c11
    //ssmem:ssmem srcs ssmem/ssmem.cc ssmem/ssmem_abi_trap.cc
    //ssmem:ssmem copts -fno-exceptions ...      one line per attribute the rule has among
    //ssmem:ssmem defines                        srcs, hdrs, copts, defines, local_defines,
    ...                                          linkopts (the label and name alone: empty)

The runfiles hold the targets' source files and headers, for a test that copies them.
"""

_ATTRS = ["srcs", "hdrs", "copts", "defines", "local_defines", "linkopts"]

ViewInfo = provider(fields = ["lines", "files"])

def _paths(targets):
    return [f.short_path for t in targets for f in t.files.to_list()]

def _view_aspect_impl(target, ctx):
    lines = []
    files = []
    for attr in _ATTRS:
        if not hasattr(ctx.rule.attr, attr):
            continue
        value = getattr(ctx.rule.attr, attr)
        if attr in ("srcs", "hdrs"):
            files += [f for t in value for f in t.files.to_list()]
            value = _paths(value)
        lines.append(" ".join([str(target.label), attr] + value))
    if CcInfo in target:
        files += target[CcInfo].compilation_context.headers.to_list()
    return [ViewInfo(lines = lines, files = files)]

_view_aspect = aspect(implementation = _view_aspect_impl)

def _library_view_impl(ctx):
    cpp = ctx.fragments.cpp
    lines = [
        "mode " + ctx.var["COMPILATION_MODE"],
        " ".join(["copt"] + cpp.copts),
        " ".join(["cxxopt"] + cpp.cxxopts),
        " ".join(["conlyopt"] + cpp.conlyopts),
    ]
    files = []
    for t in ctx.attr.targets:
        lines += t[ViewInfo].lines
        files += t[ViewInfo].files
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(out, "\n".join(lines) + "\n")
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out] + files))]

library_view = rule(
    implementation = _library_view_impl,
    attrs = {
        "targets": attr.label_list(aspects = [_view_aspect]),
    },
    fragments = ["cpp"],
)
