// "leak": never reclaim. An upper bound on what any reclamation scheme can cost: retire()
// does nothing and alloc() bumps a pointer through 2 MiB blocks. Blocks go back to a
// process-wide pool after each run and are reused by later runs, so that once the pool has
// grown (the warm-up round) a run pays no page faults for memory it leaks; the first run
// that needs a new block pays them. With W4 (release) it has nothing to measure and is left
// out. pending() is every object retired in the run.
#ifndef SSMEM_BENCH_PEERS_LEAK_HPP
#define SSMEM_BENCH_PEERS_LEAK_HPP

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct leak_scheme {
  static constexpr bool tracks_pending = true;
  static constexpr std::size_t block_bytes = std::size_t{2} << 20;
  struct hook {};

  /// Blocks reused from run to run (never unmapped).
  class block_pool {
   public:
    static block_pool& instance() {
      static block_pool* p = new block_pool();
      return *p;
    }
    char* take() {
      {
        std::lock_guard<std::mutex> g(m_);
        if (!free_.empty()) {
          char* b = free_.back();
          free_.pop_back();
          return b;
        }
      }
      void* p = ::mmap(nullptr, block_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) std::abort();
      return static_cast<char*>(p);
    }
    void give_back(const std::vector<char*>& bs) {
      std::lock_guard<std::mutex> g(m_);
      free_.insert(free_.end(), bs.begin(), bs.end());
    }

   private:
    std::mutex m_;
    std::vector<char*> free_;
  };

  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t bytes, use) : bytes_((bytes + 15) / 16 * 16) {}
    ~thread() { block_pool::instance().give_back(blocks_); }
    [[gnu::always_inline]] void* alloc() {
      // A difference, not `cur_ + bytes_`: that is undefined on the initial null pointer.
      if (static_cast<std::size_t>(end_ - cur_) < bytes_) [[unlikely]] next_block();
      void* p = cur_;
      cur_ += bytes_;
      return p;
    }
    void begin() {}
    void end() {}
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void*) { ++retired_; }
    void dispose_now(void*) {}
    void idle() {}
    long long pending() const { return retired_; }

   private:
    [[gnu::noinline]] void next_block() {
      cur_ = block_pool::instance().take();
      end_ = cur_ + block_bytes;
      blocks_.push_back(cur_);
    }
    std::size_t bytes_;
    char* cur_ = nullptr;
    char* end_ = nullptr;
    long long retired_ = 0;
    std::vector<char*> blocks_;
  };
};

}  // namespace bench::peers

#endif
