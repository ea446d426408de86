// One worker thread's view of ssmem through either API, so that a workload is written once and
// run through the C++ API (ssmem.hpp) and the original C API (ssmem.h):
//   alloc(k), free(k, p), release(k, p)   on the thread's k-th allocator
//   retire(k, p), retire_own(k, p)        deferred destruction: the deleter scribbles over the
//                                         object, then frees it (malloc'd objects) or hands it
//                                         back for reuse (the allocator's own, C++ only)
//   safe_to_reclaim(), offline(), online()
// Construction registers the calling thread; destruction (on the same thread) returns every
// allocator's memory, so it must come after every thread has stopped using the objects
// (the workloads wait at a barrier first).
#ifndef SSMEM_TESTS_STRESS_APIS_HPP
#define SSMEM_TESTS_STRESS_APIS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"
#include "tests/stress/harness.hpp"

namespace stress {

/// What a deleter does to an object before freeing it: a write, so that a deleter that runs
/// while a reader still reads the object is a data race (TSan) or a value mismatch.
inline void scribble(void* p, std::size_t n) noexcept { std::memset(p, 0xde, n); }

/// The deleter of retire(): scribbles over the object (its size in the context), then free().
inline void scribble_then_free(void* p, void* size) noexcept {
  scribble(p, reinterpret_cast<std::uintptr_t>(size));
  std::free(p);
}

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
  cxx_worker(ssmem::domain& d, unsigned /*thread*/, const worker_options& o)
      : scope_(d), object_size_(o.object_size) {
    for (unsigned k = 0; k < o.allocators; ++k) {
      allocs_.push_back(std::make_unique<ssmem::allocator>(scope_, o.object_size, o.opts));
    }
    for (auto& a : allocs_) ctxs_.push_back({this, &a->impl()});
  }
  void* alloc(unsigned k) { return allocs_[k]->allocate(); }
  void free(unsigned k, void* p) { allocs_[k]->deallocate(p); }
  void release(unsigned k, void* p) { allocs_[k]->release(p); }
  void retire(unsigned k, void* p) {
    // The size the workload asked for: a malloc'd object is no larger.
    allocs_[k]->retire(p, &scribble_then_free, reinterpret_cast<void*>(object_size_));
  }
  // The deleter scribbles over the object, except in the allocators' destructors: those run
  // after every thread has stopped, when an object may lie in a chunk that another thread's
  // allocator has already returned (objects move between allocators through free and reuse;
  // the destructor's precondition, as for free sets, is that no thread touches them).
  void retire_own(unsigned k, void* p) {
    allocs_[k]->impl().retire_own(p, [](void* obj, void* c) noexcept {
      auto* ctx = static_cast<own_ctx*>(c);
      if (!ctx->w->tearing_down_) scribble(obj, ctx->w->object_size_);
      ctx->a->reuse_retired(obj);
    }, &ctxs_[k]);
  }
  ~cxx_worker() {
    tearing_down_ = true;
    allocs_.clear();
  }
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
  std::size_t object_size_;
  std::vector<std::unique_ptr<ssmem::allocator>> allocs_;
  struct own_ctx {
    cxx_worker* w;
    ssmem::basic_allocator<ssmem::native_policy>* a;
  };
  std::vector<own_ctx> ctxs_;  // one per allocator, for retire_own's deleter
  bool tearing_down_ = false;
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
  void retire(unsigned k, void* p) {
    ssmem_retire(&allocs_[k].a, p, [](void* obj, void* size) {
      scribble_then_free(obj, size);
    }, reinterpret_cast<void*>(object_size_));
  }
  void retire_own(unsigned k, void* p) { free(k, p); }  // no such call in the C API
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
