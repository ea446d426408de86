// The runner of the verification suite: wraps a scenario (scenarios.hpp) in an rl::test_suite,
// runs it under the chosen Relacy scheduler and prints one line per test: name, scheduler,
// bound, iterations explored, time and result.
//
//   <binary> [--deep] [--expect-failure] [name ...]
//     name ...          run only these tests (default: all of the binary's tests except
//                       negative controls, which run only when named)
//     --deep            the deeper search of each test (also the default when compiled with
//                       RELACY_EXHAUSTIVE=1, i.e. `--config=exhaustive`)
//     --bound=K         every named test searched context-bounded at bound K instead
//                       (--bound=0: exhaustively), for measuring a search's cost by hand
//     --expect-failure  mutant mode: succeed only if Relacy reports a safety failure (data
//                       race, failed check, access to freed memory, uninitialised access);
//                       stops at the first one. A mutant that survives every test fails.
//
// Under `bazel test` with shard_count (TEST_TOTAL_SHARDS, TEST_SHARD_INDEX), shard i of n runs
// the tests at positions i, i + n, ... of those selected, so that a binary's searches spread
// over the cores. A binary compiled with SSMEM_RL_ONLY (a comma-separated list of test names,
// e.g. a mutant target's) contains only those tests: each scenario instantiated under Relacy
// costs seconds of compilation, and a mutant target runs one or two of a file's dozen tests.
#ifndef SSMEM_VERIFICATION_HARNESS_HPP
#define SSMEM_VERIFICATION_HARNESS_HPP

#include "verification/relacy_policy.hpp"  // first: standard headers before relacy.hpp
#include "verification/scenarios.hpp"

#ifndef RELACY_EXHAUSTIVE
#define RELACY_EXHAUSTIVE 0
#endif

// The mutant this binary is built on (verification/mutants/mutants.bzl), for its messages:
// 0 for the shipped headers.
#ifndef SSMEM_VERIFICATION_MUTANT
#define SSMEM_VERIFICATION_MUTANT 0
#endif

namespace ssmem::verification {

/// A Relacy search: scheduler, context bound (sched_bound) and iterations (sched_random).
struct search {
  rl::scheduler_type_e sched;
  unsigned bound = 0;
  rl::iteration_t iterations = 0;
  bool none = false;  ///< as a quick search: the test runs in the deep run only
};
inline constexpr search full() { return {rl::sched_full, 0, 0}; }
inline constexpr search bounded(unsigned b) { return {rl::sched_bound, b, 0}; }
inline constexpr search random(rl::iteration_t n) { return {rl::sched_random, 0, n}; }
/// The quick search of a test that only the deep run searches (named by hand, it runs its
/// deep search).
inline constexpr search deep_only() { return {rl::sched_full, 0, 0, true}; }

/// A scenario with its configuration, as an rl::test_suite of N threads.
template <template <class, std::size_t> class Scenario, std::size_t N, scenario_config C>
struct relacy_test : rl::test_suite<relacy_test<Scenario, N, C>, N> {
  struct execution {
    execution() { relacy_policy::begin_execution(); }
  } e;  // first member: the policy's heap is fresh before the scenario allocates
  Scenario<relacy_policy, N> s{C};
  void before() { s.before(); }
  void thread(unsigned t) { s.thread(t); }
  void after() {
    s.after();  // ends with the scenario's teardown: everything given back
    relacy_policy::end_execution();
  }
};

struct outcome {
  rl::test_result_e result = rl::test_result_success;
  rl::iteration_t iterations = 0;
  double ms = 0;
};

/// One named test of a binary: its default (quick) search and the deeper one.
struct test_entry {
  const char* name;
  search quick;
  search deep;
  outcome (*run)(const search&);
  /// A negative control: expected to fail, run only when named (by an expect-failure target).
  bool control = false;
};

template <class Test>
outcome run_relacy(const search& s) {
  rl::test_params p;
  p.search_type = s.sched;
  p.context_bound = s.bound;
  p.iteration_count = s.iterations != 0 ? s.iterations : 1000;
  std::ostringstream progress;  // Relacy's periodic progress lines: not wanted
  p.progress_stream = &progress;
  p.progress_output_period = 1000000;
  auto start = std::chrono::steady_clock::now();
  rl::simulate<Test>(p);
  outcome o;
  o.result = p.test_result;
  o.iterations = p.stop_iteration;
  o.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return o;
}

/// A test's name as a template argument, so that whether it is compiled in is known at
/// compile time (SSMEM_RL_ONLY).
template <std::size_t K>
struct test_name {
  char text[K];
  constexpr test_name(const char (&n)[K]) { std::copy_n(n, K, text); }  // NOLINT: implicit
  constexpr std::string_view view() const { return {text, K - 1}; }
};

#ifndef SSMEM_RL_ONLY
#define SSMEM_RL_ONLY ""
#endif

/// Whether the test `name` is compiled into this binary: every test, or those SSMEM_RL_ONLY
/// lists (comma-separated).
constexpr bool compiled_in(std::string_view name) {
  std::string_view list = SSMEM_RL_ONLY;
  if (list.empty()) return true;
  for (;;) {
    const std::size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

/// The entry of test Name: Scenario with N threads and configuration C. A test that is not
/// compiled in keeps its name (so that naming it says so) but no search: the discarded branch
/// does not instantiate the scenario.
template <test_name Name, template <class, std::size_t> class Scenario, std::size_t N,
          scenario_config C>
constexpr test_entry entry(search quick, search deep, bool control = false) {
  if constexpr (compiled_in(Name.view())) {
    return {Name.text, quick, deep, &run_relacy<relacy_test<Scenario, N, C>>, control};
  } else {
    return {Name.text, quick, deep, nullptr, control};
  }
}
/// A negative control's entry: run only when named.
template <test_name Name, template <class, std::size_t> class Scenario, std::size_t N,
          scenario_config C>
constexpr test_entry control_entry(search quick, search deep) {
  return entry<Name, Scenario, N, C>(quick, deep, true);
}

/// This run's share of a sharded test (Bazel's shard_count): shard `index` of `total`.
struct shard {
  unsigned index = 0;
  unsigned total = 1;
  /// From TEST_TOTAL_SHARDS / TEST_SHARD_INDEX; tells Bazel (TEST_SHARD_STATUS_FILE) that
  /// this binary shards.
  static shard from_env() {
    shard s;
    const char* total = std::getenv("TEST_TOTAL_SHARDS");
    const char* index = std::getenv("TEST_SHARD_INDEX");
    if (total == nullptr || index == nullptr) return s;
    s.total = static_cast<unsigned>(std::strtoul(total, nullptr, 10));
    s.index = static_cast<unsigned>(std::strtoul(index, nullptr, 10));
    if (s.total == 0 || s.index >= s.total) s = shard{};
    if (const char* status = std::getenv("TEST_SHARD_STATUS_FILE"); status != nullptr) {
      if (std::FILE* f = std::fopen(status, "w"); f != nullptr) std::fclose(f);
    }
    return s;
  }
  bool mine(unsigned position) const { return position % total == index; }
};

inline const char* scheduler_name(rl::scheduler_type_e s) {
  switch (s) {
    case rl::sched_full: return "full";
    case rl::sched_bound: return "bound";
    case rl::sched_random: return "random";
    default: return "?";
  }
}

inline bool is_safety_failure(rl::test_result_e r) {
  return r == rl::test_result_user_assert_failed || r == rl::test_result_data_race ||
         r == rl::test_result_access_to_freed_memory ||
         r == rl::test_result_unitialized_access;
}

template <std::size_t K>
int run_main(int argc, char** argv, const std::array<test_entry, K>& tests) {
  bool deep = RELACY_EXHAUSTIVE != 0;
  bool expect_failure = false;
  std::vector<std::string_view> only;
  std::optional<search> forced;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, 8) == "--bound=") {
      unsigned k = static_cast<unsigned>(std::strtoul(argv[i] + 8, nullptr, 10));
      forced = k == 0 ? full() : bounded(k);
    } else if (a == "--deep") {
      deep = true;
    } else if (a == "--expect-failure") {
      expect_failure = true;
    } else {
      only.push_back(a);
    }
  }
  if (SSMEM_VERIFICATION_MUTANT != 0) {
    std::printf("ssmem verification: mutant %d (verification/mutants), ", SSMEM_VERIFICATION_MUTANT);
  } else {
    std::printf("ssmem verification: shipped headers, ");
  }
  std::printf("%s search%s\n", deep ? "deep" : "quick", expect_failure ? ", expecting a failure" : "");
  const shard sh = shard::from_env();
  if (sh.total > 1) std::printf("shard %u of %u\n", sh.index + 1, sh.total);
  int ran = 0, failed = 0;
  unsigned position = 0;
  double total_ms = 0;
  for (const test_entry& t : tests) {
    bool named = std::find(only.begin(), only.end(), t.name) != only.end();
    if (only.empty() ? t.control : !named) continue;
    if (t.run == nullptr) {
      if (named) std::printf("%s: not compiled into this binary (SSMEM_RL_ONLY)\n", t.name);
      continue;
    }
    if (!deep && !named && !forced && t.quick.none) continue;  // deep run only
    if (!sh.mine(position++)) continue;
    const search& s = forced ? *forced : deep || t.quick.none ? t.deep : t.quick;
    std::fflush(stdout);
    outcome o = t.run(s);
    ++ran;
    total_ms += o.ms;
    std::printf("%-48s scheduler=%-6s bound=%u iterations=%llu time=%.0fms  %s",
                t.name, scheduler_name(s.sched), s.bound,
                static_cast<unsigned long long>(o.iterations), o.ms,
                o.result == rl::test_result_success ? "OK" : "FAILED");
    if (o.result != rl::test_result_success) {
      std::printf(" (%s) at iteration %llu", rl::test_result_str(o.result),
                  static_cast<unsigned long long>(o.iterations));
      ++failed;
    }
    std::printf("\n");
    std::fflush(stdout);
    if (expect_failure && o.result != rl::test_result_success) {
      if (is_safety_failure(o.result)) {
        std::printf("DETECTED (mutant %d): %s\n", SSMEM_VERIFICATION_MUTANT, t.name);
        return 0;
      }
      std::printf("mutant %d: %s failed, but not with a safety failure\n", SSMEM_VERIFICATION_MUTANT, t.name);
    }
  }
  if (ran == 0) {
    // A shard may be left without a test when a binary has fewer than shard_count.
    if (sh.total > 1 && position > 0) {
      std::printf("no test in this shard\n");
      return expect_failure ? 1 : 0;
    }
    std::printf("no test matched\n");
    return 2;
  }
  std::printf("%d tests, %d failed, %.1f s\n", ran, failed, total_ms / 1000);
  if (expect_failure) {
    std::printf("SURVIVED: mutant %d was not detected\n", SSMEM_VERIFICATION_MUTANT);
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace ssmem::verification

#endif
