# @cds: libcds (libcds-dev). #include <cds/init.h>, <cds/gc/hp.h>, ...
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "cds",
    hdrs = glob(["cds/**"]),
    linkopts = [
        "-lcds",
        "-lpthread",
    ],
)
