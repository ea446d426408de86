// Concurrency Kit's epoch reclamation (ck_epoch): one ck_epoch_t per run, one record per
// worker; every operation is a ck_epoch_begin/ck_epoch_end section, retire() is ck_epoch_call
// with a callback that free()s, and end() runs ck_epoch_poll every `poll_every` retires (the
// callbacks run on the polling thread). Objects come from malloc (glibc).
#ifndef SSMEM_BENCH_PEERS_CK_EPOCH_HPP
#define SSMEM_BENCH_PEERS_CK_EPOCH_HPP

// Two helpers of ck_stack.h that ck_epoch.h does not use do not compile as C++ (implicit
// conversions from void*); marking them as already defined leaves them out.
#define CK_F_STACK_BATCH_POP_UPMC
#define CK_F_STACK_BATCH_POP_MPMC
#define CK_F_STACK_PUSH_MPNC
extern "C" {
#include <ck_epoch.h>
}

#include <cstdlib>
#include <memory>
#include <vector>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct ck_epoch_scheme {
  static constexpr bool tracks_pending = true;
  static constexpr unsigned poll_every = 64;
  struct hook {
    ck_epoch_entry_t entry;
  };
  struct global {
    explicit global(const run_params& p) : records(p.threads) {
      ck_epoch_init(&epoch);
      for (auto& r : records) r = std::make_unique<ck_epoch_record_t>();
    }
    ck_epoch_t epoch;
    // Records outlive every worker: ck_epoch_poll walks all of them.
    std::vector<std::unique_ptr<ck_epoch_record_t>> records;
  };
  class thread {
   public:
    thread(global& g, unsigned i, std::size_t bytes, use) : rec_(g.records[i].get()), bytes_(bytes) {
      ck_epoch_register(&g.epoch, rec_, nullptr);
      current_counts = &counts_;
    }
    ~thread() {
      ck_epoch_barrier(rec_);  // runs every callback still pending
      ck_epoch_unregister(rec_);
      current_counts = nullptr;
    }
    [[gnu::always_inline]] void* alloc() { return malloc_or_abort(bytes_); }
    [[gnu::always_inline]] void begin() { ck_epoch_begin(rec_, nullptr); }
    [[gnu::always_inline]] void end() {
      ck_epoch_end(rec_, nullptr);
      if (since_poll_ >= poll_every) {
        since_poll_ = 0;
        ck_epoch_poll(rec_);
      }
    }
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void* p) {
      ck_epoch_call(rec_, &static_cast<hook*>(p)->entry, reclaim);
      counts_.add_retired();
      ++since_poll_;
    }
    void dispose_now(void* p) { std::free(p); }
    void idle() {}
    long long pending() const { return counts_.pending(); }

   private:
    static void reclaim(ck_epoch_entry_t* e) {
      std::free(e);  // the entry is the object's first member
      note_reclaimed();
    }
    ck_epoch_record_t* rec_;
    std::size_t bytes_;
    unsigned since_poll_ = 0;
    reclaim_counts counts_;
  };
};

}  // namespace bench::peers

#endif
