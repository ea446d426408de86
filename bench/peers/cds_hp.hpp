// libcds hazard pointers (cds::gc::HP) with their defaults: 8 hazard pointers per thread,
// 100 threads, retired arrays of 1600, the default (in-place) scan. The classic scan is not
// used: on this machine it corrupted memory in about half the 2-thread runs. protect() is
// Guard::protect (store the hazard, fence, re-load until stable); retire() is
// cds::gc::HP::retire with a disposer that free()s. Objects come from malloc (glibc).
#ifndef SSMEM_BENCH_PEERS_CDS_HP_HPP
#define SSMEM_BENCH_PEERS_CDS_HP_HPP

#include <cds/gc/hp.h>
#include <cds/init.h>

#include <cstdlib>
#include <optional>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct cds_hp_scheme {
  static constexpr bool tracks_pending = true;
  struct hook {};

  /// libcds and its HP singleton, set up once for the process and never torn down.
  static void init_once() {
    static const bool done = [] {
      cds::Initialize();
      new cds::gc::HP();
      return true;
    }();
    (void)done;
  }

  struct global {
    explicit global(const run_params&) { init_once(); }
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t bytes, use) : bytes_(bytes) {
      cds::threading::Manager::attachThread();
      guards_.emplace();
      current_counts = &counts_;
    }
    ~thread() {
      guards_.reset();
      cds::gc::HP::scan();
      cds::threading::Manager::detachThread();
      current_counts = nullptr;
    }
    [[gnu::always_inline]] void* alloc() { return malloc_or_abort(bytes_); }
    void begin() {}
    void end() {}
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned i, const std::atomic<T>& src, F to_ptr) {
      return guards_->protect(i, src, to_ptr);
    }
    [[gnu::always_inline]] void retire(void* p) {
      counts_.add_retired();
      cds::gc::HP::retire(p, reclaim);
    }
    void dispose_now(void* p) { std::free(p); }
    void idle() {}
    long long pending() const { return counts_.pending(); }

   private:
    static void reclaim(void* p) {
      std::free(p);
      note_reclaimed();
    }
    std::size_t bytes_;
    std::optional<cds::gc::HP::GuardArray<3>> guards_;
    reclaim_counts counts_;
  };
};

}  // namespace bench::peers

#endif
