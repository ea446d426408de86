// The measurement harness of //bench:throughput: run parameters and results, the peer
// registry, and measure(), which starts N worker threads together, lets them run for a fixed
// wall-clock time, samples the objects that are freed but not yet reusable while they run, and
// reports operations per second with the run's peak RSS, the peers' bound on pending objects
// and their own counters. Workloads (workloads.hpp) supply the per-thread body; peers
// (peers/*.hpp) supply the allocator or reclamation scheme. stall_clock is the schedule of the
// stall scenario (W5): the last worker sleeps periodically while registered.
#ifndef SSMEM_BENCH_HARNESS_HPP
#define SSMEM_BENCH_HARNESS_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

/// What one measured run is asked to do.
struct run_params {
  unsigned threads = 1;
  double seconds = 0.1;           ///< measured wall-clock time
  std::size_t object_size = 8;    ///< W1 object size, W4 object size
  unsigned update_percent = 10;   ///< W3: share of inserts + removes
  std::uint64_t seed = 1;
  bool corrupt = false;           ///< W2: damage one slot before the final check (test hook)
  /// W5 stall (W1 and W2 only): when stall_sleep > 0, the last of the `threads` workers sleeps
  /// stall_sleep in every stall_period while registered, in the peer's sense (stall_clock).
  std::chrono::microseconds stall_sleep{0};
  std::chrono::microseconds stall_period{0};
  bool stalls() const { return stall_sleep.count() > 0; }
};

/// Named counters of a run (a peer's statistics, the stall scenario's sleeps), summed over
/// the workers; names are words without spaces, commas or '='.
using counters = std::vector<std::pair<std::string, long long>>;

/// What one measured run found.
struct run_result {
  std::uint64_t ops = 0;
  double seconds = 0;
  double mops() const { return seconds > 0 ? static_cast<double>(ops) / seconds / 1e6 : 0; }
  long long pending_hwm = -1;   ///< objects freed but not yet reusable, high-water mark; -1: n/a
  long rss_start_kb = 0;        ///< resident set when the run started
  long rss_peak_kb = 0;         ///< peak resident set during the run (VmHWM after a reset)
  /// The bound on pending objects that the peer promises for the run (the sum of its workers'
  /// bounds), to compare with pending_hwm; -1: the peer states none.
  long long pending_bound = -1;
  counters extra;               ///< the peer's counters and the stall scenario's, summed over workers
  bool ok = true;
  std::string error;            ///< why !ok
};

using run_fn = std::function<run_result(const run_params&)>;

/// A peer: an allocator (W1) or a reclamation scheme (W2-W4), with what it can run.
struct peer {
  std::string name;
  std::string note;   ///< one line for --help and the docs
  run_fn pair;        ///< W1
  run_fn swap;        ///< W2
  run_fn set;         ///< W3 (read-mostly and update-heavy, by update_percent)
  run_fn release;     ///< W4
};

/// Peers that were left out, with the reason (printed by --help, never silently dropped).
struct excluded_peer {
  std::string name;
  std::string reason;
};

struct registry {
  std::vector<peer> peers;
  std::vector<excluded_peer> excluded;
};

/// splitmix64: a tiny per-thread generator.
class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept : s_(seed * 0x9e3779b97f4a7c15ull + 1) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) for n a power of two.
  std::uint64_t below_pow2(std::uint64_t n) noexcept { return next() & (n - 1); }
  /// The state, for a loop written in C that steps the same sequence (peers/ssmem_c.c).
  std::uint64_t& state() noexcept { return s_; }

 private:
  std::uint64_t s_;
};

/// Keeps the compiler from dropping a pointer's computation (an "escape").
inline void escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

/// The calling process's VmRSS and VmHWM in KiB (0 where unreadable).
inline void read_rss(long& rss_kb, long& hwm_kb) {
  rss_kb = hwm_kb = 0;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) rss_kb = std::atol(line + 6);
    if (std::strncmp(line, "VmHWM:", 6) == 0) hwm_kb = std::atol(line + 6);
  }
  std::fclose(f);
}

/// Resets VmHWM to the current RSS (Linux >= 4.0: "5" to clear_refs); false if refused.
inline bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

/// One worker's counters, on its own cache line: written by the worker, read by the monitor.
struct alignas(64) worker_slot {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<long long> pending{0};  ///< its last published count of freed-not-reusable objects
};

/// Shared control of one run: the start signal, the stop flag, the workers' counters.
class run_control {
 public:
  explicit run_control(unsigned threads) : slots_(threads) {}
  /// Worker: announce readiness and wait for the start signal.
  void wait_for_start() {
    ready_.fetch_add(1, std::memory_order_acq_rel);
    while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  /// Worker: whether the run is over (checked once per batch of operations).
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  worker_slot& slot(unsigned i) { return slots_[i]; }

  unsigned ready() const { return ready_.load(std::memory_order_acquire); }
  void start() { go_.store(true, std::memory_order_release); }
  void stop() { stop_.store(true, std::memory_order_relaxed); }
  std::vector<worker_slot>& slots() { return slots_; }

  /// Workers that publish pending counts set this; otherwise the HWM is n/a.
  std::atomic<bool> tracks_pending{false};

  /// Worker, at the end of its run: adds its counters to the run's (summed by name).
  void add_counters(const counters& c) {
    std::lock_guard<std::mutex> g(extra_mutex_);
    for (const auto& [name, v] : c) extra_[name] += v;
  }
  /// Worker: adds its share of the bound on pending objects (a negative share: none).
  void add_pending_bound(long long b) {
    if (b < 0) return;
    bound_.fetch_add(b, std::memory_order_relaxed);
    has_bound_.store(true, std::memory_order_relaxed);
  }
  /// After the workers joined: the summed counters, in name order.
  counters extra() const {
    std::lock_guard<std::mutex> g(extra_mutex_);
    return counters(extra_.begin(), extra_.end());
  }
  long long pending_bound() const { return has_bound_.load() ? bound_.load() : -1; }

 private:
  std::atomic<unsigned> ready_{0};
  std::atomic<bool> go_{false};
  std::atomic<bool> stop_{false};
  std::vector<worker_slot> slots_;
  mutable std::mutex extra_mutex_;
  std::map<std::string, long long> extra_;
  std::atomic<long long> bound_{0};
  std::atomic<bool> has_bound_{false};
};

/// The stall scenario's schedule for one worker (run_params::stall_sleep): inactive for every
/// worker but the last. The staller asks due() once per batch; when it is, the workload calls
/// take() with the peer's stall (a sleep while registered, in the peer's sense). The first
/// stall comes stall_period - stall_sleep after start(), the next that long after the previous
/// one ended: "10 ms in every 50 ms" is 40 ms of work, 10 ms of sleep, and again.
class stall_clock {
 public:
  using clock = std::chrono::steady_clock;
  stall_clock(const run_params& p, unsigned index)
      : active_(p.stalls() && index + 1 == p.threads), sleep_(p.stall_sleep),
        work_(p.stall_period > p.stall_sleep ? p.stall_period - p.stall_sleep : std::chrono::microseconds(0)) {}
  /// After wait_for_start(): the schedule starts now.
  void start() {
    if (active_) next_ = clock::now() + work_;
  }
  /// Whether this worker stalls now (false, without reading the clock, for all but the staller).
  bool due() const { return active_ && clock::now() >= next_; }
  /// Stalls taken so far.
  long long count() const { return stalls_; }
  /// Runs stall(sleep), counts it and schedules the next.
  template <class F>
  void take(F&& stall) {
    const auto began = clock::now();
    stall(sleep_);
    const auto now = clock::now();
    ++stalls_;
    slept_ += now - began;
    next_ = now + work_;
  }
  /// The staller's counters: stalls taken and milliseconds slept (the sleeps overrun on a busy
  /// machine); nothing for the other workers.
  void report(run_control& ctl) const {
    if (!active_) return;
    ctl.add_counters({{"stalls", stalls_},
                      {"stalled_ms", std::chrono::duration_cast<std::chrono::milliseconds>(slept_).count()}});
  }

 private:
  bool active_;
  std::chrono::microseconds sleep_, work_;
  clock::time_point next_{};
  long long stalls_ = 0;
  clock::duration slept_{0};
};

/// Retired objects reclaimed by threads that are not workers (e.g. liburcu's call_rcu
/// thread), process-wide: measure() counts the difference over a run.
inline std::atomic<long long> foreign_reclaimed{0};

/// Operations per batch between two looks at the stop flag.
constexpr unsigned batch = 256;

/// Runs body(thread_index, control) on p.threads threads. Each body sets itself up, calls
/// control.wait_for_start(), works in batches until control.stopped(), adds its operations to
/// its slot, and tears down. Timing covers start() to stop(); pending objects are sampled
/// every millisecond in between; set `ok`/`error` through the returned flag on failure.
template <class Body>
run_result measure(const run_params& p, Body body) {
  run_result r;
  run_control ctl(p.threads);
  bool peak_reset = reset_peak_rss();
  long hwm0 = 0;
  read_rss(r.rss_start_kb, hwm0);
  std::vector<std::string> errors(p.threads);
  std::vector<std::thread> ts;
  ts.reserve(p.threads);
  for (unsigned i = 0; i < p.threads; ++i) {
    ts.emplace_back([&, i] { errors[i] = body(i, ctl); });
  }
  while (ctl.ready() < p.threads) std::this_thread::sleep_for(std::chrono::microseconds(200));
  long long hwm = 0;
  const long long foreign0 = foreign_reclaimed.load(std::memory_order_relaxed);
  auto t0 = std::chrono::steady_clock::now();
  ctl.start();
  const auto until =
      t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(p.seconds));
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    const std::chrono::steady_clock::duration left = until - now, tick = std::chrono::milliseconds(1);
    std::this_thread::sleep_for(left < tick ? left : tick);
    long long sum = foreign0 - foreign_reclaimed.load(std::memory_order_relaxed);
    for (auto& s : ctl.slots()) sum += s.pending.load(std::memory_order_relaxed);
    if (sum > hwm) hwm = sum;
  }
  ctl.stop();
  auto t1 = std::chrono::steady_clock::now();
  for (auto& t : ts) t.join();
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  for (auto& s : ctl.slots()) r.ops += s.ops.load(std::memory_order_relaxed);
  r.pending_hwm = ctl.tracks_pending.load() ? hwm : -1;
  r.pending_bound = ctl.pending_bound();
  r.extra = ctl.extra();
  long rss_end = 0;
  read_rss(rss_end, r.rss_peak_kb);
  if (!peak_reset) r.rss_peak_kb = -1;
  for (auto& e : errors) {
    if (!e.empty()) {
      r.ok = false;
      r.error = e;
      break;
    }
  }
  return r;
}

}  // namespace bench

#endif
