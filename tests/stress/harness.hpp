// The stress harness: seeds, time and iteration bounds, failure reporting and thread launch
// for the native stress tests. Every test is bounded (a wall-clock budget and an iteration cap,
// whichever comes first), seeded (printed; SSMEM_STRESS_SEED=<n> replays the same per-thread
// random choices; the interleaving itself is up to the OS) and exits non-zero on any failed
// check. Each thread's allocators take one of four option sets (draw_options): the defaults
// (free sets of 507, release sets of 64, stamp_batch 32, stamp_backlog 4), large free sets with
// release sets of 1, medium ones with release sets of 3 and stamp_batch 0, and small random ones
// (in sanitizer builds, SSMEM_STRESS_SANITIZER set by tests/stress/stress.bzl, free sets of 2-8
// so that objects are reused often and a missing happens-before edge shows quickly), half of
// these at the memory bound's floor with stamps shared or not (bound_options).
//
// Environment:
//   SSMEM_STRESS_SEED=<n>      seed (default: random, printed)
//   SSMEM_STRESS_MS=<n>        wall-clock budget of the whole test in ms (default 1500)
//   SSMEM_STRESS_ITERS=<n>     cap on operations per thread and phase (default 2'000'000)
//   SSMEM_STRESS_PROFILE=<i>   every thread takes option set i (0-3, below) instead of its own
#ifndef SSMEM_TESTS_STRESS_HARNESS_HPP
#define SSMEM_TESTS_STRESS_HARNESS_HPP

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ssmem/native_policy.hpp"
#include "ssmem/options.hpp"

#ifndef SSMEM_STRESS_SANITIZER
#define SSMEM_STRESS_SANITIZER "plain"
#endif

namespace stress {

/// The build this binary is: "plain", "tsan", "asan" or "ubsan".
inline const char* const sanitizer = SSMEM_STRESS_SANITIZER;
inline bool sanitized() { return std::string(sanitizer) != "plain"; }

inline std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  return std::strtoull(s, nullptr, 0);
}

/// splitmix64: a tiny seeded generator, one per thread (no shared state).
class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept : s_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
  /// Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
    return lo + below(hi - lo + 1);
  }
  bool chance(unsigned percent) noexcept { return below(100) < percent; }

 private:
  std::uint64_t s_;
};

/// Failure bookkeeping shared by all threads of a test.
inline std::atomic<std::uint64_t> failures{0};

/// Records a failed check (thread-safe); the first few are printed.
[[gnu::format(printf, 1, 2)]] inline void fail(const char* fmt, ...) {
  std::uint64_t n = failures.fetch_add(1, std::memory_order_relaxed);
  if (n >= 10) return;
  std::va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "FAILED: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

/// Checks `cond`; on failure records it with the location and a printf-style message.
#define STRESS_CHECK(cond, fmt, ...)                                                       \
  do {                                                                                     \
    if (!(cond)) ::stress::fail("%s:%d: " fmt, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

/// The run's parameters, read once from the environment and printed.
struct config {
  std::uint64_t seed;
  std::uint64_t budget_ms;
  std::uint64_t max_iters;
  unsigned forced_profile;  // SSMEM_STRESS_PROFILE, or `profiles` (none)

  static config from_env(const char* test_name) {
    config c;
    c.seed = env_u64("SSMEM_STRESS_SEED", std::random_device{}() * 0x100000001ull ^
                                              static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    c.budget_ms = env_u64("SSMEM_STRESS_MS", 1500);
    c.max_iters = env_u64("SSMEM_STRESS_ITERS", 2'000'000);
    const std::uint64_t forced = env_u64("SSMEM_STRESS_PROFILE", profiles);
    c.forced_profile = forced < profiles ? static_cast<unsigned>(forced) : profiles;
    const bool membarrier = ssmem::native_policy::membarrier_available;
    std::printf("%s [%s]: SSMEM_STRESS_SEED=%" PRIu64 " SSMEM_STRESS_MS=%" PRIu64
                " SSMEM_STRESS_ITERS=%" PRIu64 " (hardware threads: %u; fences: %s)\n",
                test_name, sanitizer, c.seed, c.budget_ms, c.max_iters,
                std::thread::hardware_concurrency(),
                membarrier ? "membarrier" : "fallback, a full fence on both sides");
    if (c.forced_profile < profiles) {
      std::printf("  option sets: every thread takes %s\n", profile_name(c.forced_profile));
    } else {
      std::printf("  option sets: per thread, one of %u (the defaults, large, medium, small)\n", profiles);
    }
    std::fflush(stdout);
    // A variant run with SSMEM_NO_MEMBARRIER=1 must really take the fallback.
    const char* off = std::getenv("SSMEM_NO_MEMBARRIER");
    if (off != nullptr && off[0] == '1' && membarrier) {
      std::fprintf(stderr, "FAILED: SSMEM_NO_MEMBARRIER=1 but the membarrier path is in use\n");
      std::exit(1);
    }
    return c;
  }

  /// A generator for thread `t` of phase `phase` (independent streams).
  rng thread_rng(unsigned phase, unsigned t) const {
    rng mix(seed ^ (std::uint64_t{phase} << 40) ^ (std::uint64_t{t} << 20));
    return rng(mix.next());
  }
  /// Small free sets under sanitizers (frequent reuse), a wider range in the plain build.
  std::size_t free_set_size(rng& r) const {
    return sanitized() ? static_cast<std::size_t>(r.between(2, 8))
                       : static_cast<std::size_t>(r.between(2, 64));
  }
  /// Stamp batches from 0 (every full set at once) to 4 sets, and a backlog that yields early
  /// or never: every path of stamp_or_defer() (stamp, probe, deferral, yield) is taken.
  void stamp_options(rng& r, ssmem::options& o) const {
    o.stamp_batch = static_cast<std::size_t>(r.between(0, 4));
    o.stamp_backlog = r.between(0, 1) == 0 ? static_cast<std::size_t>(r.between(0, 2))
                                           : static_cast<std::size_t>(-1);
  }

  /// Half the time the memory bound at its floor (two free sets) with short waits, and stamps
  /// shared or not (stamp_share 0-2): the wait at the bound, its stamps borrowed from other
  /// threads' and its overruns run under the sanitizers with real threads (the default
  /// budget is rarely reached in a short phase).
  void bound_options(rng& r, ssmem::options& o) const {
    if (r.between(0, 1) == 0) return;
    o.pending_budget = static_cast<std::size_t>(r.between(1, 64));
    o.bound_wait_ns = 1'000'000;
    o.stamp_share = static_cast<std::size_t>(r.between(0, 2));
  }

  /// The option sets a thread's allocators take (issue 20: the sizes users run, where counts
  /// in objects and in sets differ and the fast paths run, besides small sets that reuse
  /// often). Thread t of phase p takes profile (t + p) % 4, so that every phase of four
  /// threads runs each of them once; SSMEM_STRESS_PROFILE=<i> gives every thread profile i.
  static constexpr unsigned profiles = 4;
  static const char* profile_name(unsigned i) {
    static const char* const names[profiles] = {
        "small random (free sets 2-8 or 2-64, release sets 1-4, stamp_batch 0-4, half of them at a bound of two sets)",
        "defaults (507, 64, stamp_batch 32, stamp_backlog 4)",
        "large free sets of 2048, release sets of 1, stamp_batch 1, stamp_backlog 1",
        "free sets of 100, release sets of 3, stamp_batch 0, never yield"};
    return names[i % profiles];
  }
  // Profile 1's name states the defaults: a change of ssmem::options must change it too.
  static_assert(ssmem::options{}.free_set_size == 507 && ssmem::options{}.release_set_size == 64 &&
                    ssmem::options{}.stamp_batch == 32 && ssmem::options{}.stamp_backlog == 4,
                "profile_name(1) names other defaults than ssmem::options'");
  unsigned profile_of(unsigned phase, unsigned t) const {
    return forced_profile < profiles ? forced_profile : (t + phase) % profiles;
  }
  /// For threads without a fixed index (short-lived ones): a profile drawn from `r`.
  unsigned profile_drawn(rng& r) const {
    return forced_profile < profiles ? forced_profile : static_cast<unsigned>(r.below(profiles));
  }
  /// Sets free_set_size, release_set_size, stamp_batch and stamp_backlog of `o` from `profile`.
  void draw_options(rng& r, unsigned profile, ssmem::options& o) const {
    switch (profile % profiles) {
      case 0:
        o.free_set_size = free_set_size(r);
        o.release_set_size = static_cast<std::size_t>(r.between(1, 4));
        stamp_options(r, o);
        bound_options(r, o);
        break;
      case 1: {
        // The library's defaults themselves (profile_name states them; checked below).
        const ssmem::options defaults;
        o.free_set_size = defaults.free_set_size;
        o.release_set_size = defaults.release_set_size;
        o.stamp_batch = defaults.stamp_batch;
        o.stamp_backlog = defaults.stamp_backlog;
        break;
      }
      case 2:
        o.free_set_size = 2048;
        o.release_set_size = 1;
        o.stamp_batch = 1;
        o.stamp_backlog = 1;
        break;
      default:
        o.free_set_size = 100;
        o.release_set_size = 3;
        o.stamp_batch = 0;
        o.stamp_backlog = static_cast<std::size_t>(-1);
        break;
    }
  }
};

/// A deadline that stops the workers of one phase: time is up, or a failure was seen.
class deadline {
 public:
  explicit deadline(std::uint64_t ms)
      : end_(std::chrono::steady_clock::now() + std::chrono::milliseconds(ms)) {}
  bool passed() const {
    return failures.load(std::memory_order_relaxed) != 0 || std::chrono::steady_clock::now() >= end_;
  }

 private:
  std::chrono::steady_clock::time_point end_;
};

/// Runs body(t) on `n` threads, released together, and joins them.
template <class Body>
void run_threads(unsigned n, Body body) {
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  ts.reserve(n);
  for (unsigned t = 0; t < n; ++t) {
    ts.emplace_back([&, t] {
      ready.fetch_add(1, std::memory_order_acq_rel);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  }
  while (ready.load(std::memory_order_acquire) != n) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& th : ts) th.join();
}

/// Prints a phase's result line.
inline void report_phase(const char* phase, std::uint64_t ops, double seconds) {
  std::printf("  %-52s %10" PRIu64 " ops  %6.2f s\n", phase, ops, seconds);
  std::fflush(stdout);
}

/// The test's exit code: 0 when every check passed.
inline int finish(const char* test_name) {
  std::uint64_t f = failures.load();
  if (f != 0) {
    std::fprintf(stderr, "%s [%s]: %" PRIu64 " failed check(s)\n", test_name, sanitizer, f);
    return 1;
  }
  std::printf("%s [%s]: all checks passed\n", test_name, sanitizer);
  return 0;
}

/// Seconds since `t0`.
inline double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace stress

#endif
