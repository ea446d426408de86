// Default sanitizer options of every stress binary (stress.bzl compiles this file into each),
// so that a binary run by hand behaves as under `bazel test`; SAN_OPTIONS in the environment
// still override them. TSan: stop at the first report (exit 66). ASan: leaks (LSan) and stack
// use after return are errors. UBSan: print the stack. These are strong definitions: the
// runtimes' own are weak.
extern "C" {
const char* __tsan_default_options() { return "halt_on_error=1:second_deadlock_stack=1"; }
const char* __asan_default_options() {
  return "detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1";
}
const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }
}
