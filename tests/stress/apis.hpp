// One worker thread's view of ssmem through either API, so that a workload is written once and
// run through the C++ API (ssmem.hpp) and the original C API (ssmem.h):
//   alloc(k), free(k, p), release(k, p)   on the thread's k-th allocator
//   safe_to_reclaim(), offline(), online()
// Construction registers the calling thread; destruction (on the same thread) returns every
// allocator's memory, so it must come after every thread has stopped using the objects
// (the workloads wait at a barrier first).
#ifndef SSMEM_TESTS_STRESS_APIS_HPP
#define SSMEM_TESTS_STRESS_APIS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"
#include "tests/stress/harness.hpp"

namespace stress {

/// What a worker needs to build its allocators.
struct worker_options {
  std::size_t object_size = 0;
  unsigned allocators = 1;
  ssmem::options opts;
};

inline const char* ts_name(ssmem::ts_policy p) {
  switch (p) {
    case ssmem::ts_policy::none: return "none";
    case ssmem::ts_policy::both: return "both";
    case ssmem::ts_policy::on_alloc: return "on_alloc";
    case ssmem::ts_policy::on_free: return "on_free";
  }
  return "?";
}

/// The C++ API: a thread_scope in `domain` and `allocators` ssmem::allocator objects.
class cxx_worker {
 public:
  static constexpr const char* name = "C++ API";
  cxx_worker(ssmem::domain& d, unsigned /*thread*/, const worker_options& o) : scope_(d) {
    for (unsigned k = 0; k < o.allocators; ++k) {
      allocs_.push_back(std::make_unique<ssmem::allocator>(scope_, o.object_size, o.opts));
    }
  }
  void* alloc(unsigned k) { return allocs_[k]->allocate(); }
  void free(unsigned k, void* p) { allocs_[k]->deallocate(p); }
  void release(unsigned k, void* p) { allocs_[k]->release(p); }
  void safe_to_reclaim() { scope_.safe_to_reclaim(); }
  void offline() { scope_.offline(); }
  void online() { scope_.online(); }
  unsigned allocators() const { return static_cast<unsigned>(allocs_.size()); }
  /// Objects that became reusable, over all allocators.
  std::uint64_t collected() const {
    std::uint64_t n = 0;
    for (auto& a : allocs_) n += a->stats().collected;
    return n;
  }
  std::uint64_t returned() const {
    std::uint64_t n = 0;
    for (auto& a : allocs_) n += a->stats().returned;
    return n;
  }

 private:
  ssmem::thread_scope scope_;
  std::vector<std::unique_ptr<ssmem::allocator>> allocs_;
};

/// The C API on the default domain: ssmem_alloc_init_ts with the thread's index as id;
/// ssmem_term() at destruction. (The C API keeps no statistics: collected() is unknown.)
class c_worker {
 public:
  static constexpr const char* name = "C API";
  c_worker(ssmem::domain&, unsigned thread, const worker_options& o)
      : object_size_(o.object_size), allocs_(o.allocators) {
    for (auto& a : allocs_) {
      ssmem_alloc_init_ts(&a.a, o.opts.chunk_size, o.opts.free_set_size, static_cast<int>(thread),
                          static_cast<int>(o.opts.bump_on));
    }
  }
  ~c_worker() { ssmem_term(); }
  c_worker(const c_worker&) = delete;
  c_worker& operator=(const c_worker&) = delete;
  void* alloc(unsigned k) { return ssmem_alloc(&allocs_[k].a, object_size_); }
  void free(unsigned k, void* p) { ssmem_free(&allocs_[k].a, p); }
  void release(unsigned k, void* p) { ssmem_release(&allocs_[k].a, p); }
  void safe_to_reclaim() { SSMEM_SAFE_TO_RECLAIM(); }
  void offline() { ssmem_thread_offline(); }
  void online() { ssmem_thread_online(); }
  unsigned allocators() const { return static_cast<unsigned>(allocs_.size()); }
  std::uint64_t collected() const { return 0; }
  std::uint64_t returned() const { return 0; }

 private:
  struct alignas(CACHE_LINE_SIZE) slot {
    ssmem_allocator_t a;
  };
  std::size_t object_size_;
  std::vector<slot> allocs_;
};

/// A test's main(): runs its phases in order until a check fails, prints a line per phase and
/// returns the exit code. `run(worker, cfg, phase, spec, threads, ms)` runs one phase through
/// the API that `spec.api` names ("c++" or "c"; `worker` is a std::type_identity of
/// cxx_worker or c_worker) and returns its operation count; `title(spec, threads)` names it.
/// SSMEM_STRESS_THREADS sets the thread count (default 4); SSMEM_STRESS_PHASE=<i> runs phase i
/// alone with the whole budget (the negative controls use it).
template <class Spec, std::size_t N, class Run, class Title>
int run_phases(const char* test_name, const Spec (&phases)[N], Run run, Title title) {
  const config cfg = config::from_env(test_name);
  const unsigned threads = static_cast<unsigned>(env_u64("SSMEM_STRESS_THREADS", 4));
  constexpr std::uint64_t all = ~std::uint64_t{0};
  const std::uint64_t only = env_u64("SSMEM_STRESS_PHASE", all);
  for (unsigned ph = 0; ph < N && failures.load() == 0; ++ph) {
    if (only != all && ph != only) continue;
    const Spec& s = phases[ph];
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t ms = only != all ? cfg.budget_ms : cfg.budget_ms / N;
    const std::uint64_t ops = std::string(s.api) == "c++"
                                  ? run(std::type_identity<cxx_worker>{}, cfg, ph, s, threads, ms)
                                  : run(std::type_identity<c_worker>{}, cfg, ph, s, threads, ms);
    report_phase(std::string(title(s, threads)).c_str(), ops, since(t0));
  }
  return finish(test_name);
}

}  // namespace stress

#endif
