# @ck: Concurrency Kit (libck-dev). #include <ck_epoch.h>, <ck_hp.h>, ...
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "ck",
    hdrs = glob(["ck_*.h"]),
    linkopts = [
        "-lck",
        "-lpthread",
    ],
)
