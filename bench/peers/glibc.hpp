// glibc's malloc/free, called as the process's malloc. The other allocators are loaded with
// dlopen(RTLD_LOCAL) (see dynlib.hpp), so nothing interposes malloc: throughput.cc checks at
// start-up that `malloc` resolves into libc.so.6 and prints where it found it.
#ifndef SSMEM_BENCH_PEERS_GLIBC_HPP
#define SSMEM_BENCH_PEERS_GLIBC_HPP

#include <cstdlib>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct glibc_allocator {
  static constexpr bool tracks_pending = false;
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t size) : size_(size) {}
    [[gnu::always_inline]] void* allocate() {
      void* p = std::malloc(size_);
      if (p == nullptr) std::abort();
      return p;
    }
    [[gnu::always_inline]] void deallocate(void* p) { std::free(p); }
    long long pending() const { return -1; }

   private:
    std::size_t size_;
  };
};

}  // namespace bench::peers

#endif
