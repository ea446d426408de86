// jemalloc (Debian's libjemalloc2, unprefixed build) through its extended API: mallocx and
// the sized sdallocx, from a library opened locally (dynlib.hpp) so that the process's malloc
// stays glibc's.
#ifndef SSMEM_BENCH_PEERS_JEMALLOC_HPP
#define SSMEM_BENCH_PEERS_JEMALLOC_HPP

#include <cstdlib>
#include <string>

#include "bench/peers/common.hpp"
#include "bench/peers/dynlib.hpp"

namespace bench::peers {

struct jemalloc_allocator {
  static constexpr bool tracks_pending = false;
  using mallocx_fn = void* (*)(std::size_t, int);
  using sdallocx_fn = void (*)(void*, std::size_t, int);
  static inline mallocx_fn mallocx = nullptr;
  static inline sdallocx_fn sdallocx = nullptr;

  /// Loads the library once; false (with the reason) where it cannot be loaded.
  static bool load(std::string& error) {
    if (mallocx != nullptr) return true;
    void* m = local_symbol("libjemalloc.so.2", "mallocx", error);
    void* d = m ? local_symbol("libjemalloc.so.2", "sdallocx", error) : nullptr;
    if (m == nullptr || d == nullptr) return false;
    mallocx = reinterpret_cast<mallocx_fn>(m);
    sdallocx = reinterpret_cast<sdallocx_fn>(d);
    return true;
  }

  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t size) : size_(size) {}
    [[gnu::always_inline]] void* allocate() {
      void* p = mallocx(size_, 0);
      if (p == nullptr) std::abort();
      return p;
    }
    [[gnu::always_inline]] void deallocate(void* p) { sdallocx(p, size_, 0); }
    long long pending() const { return -1; }

   private:
    std::size_t size_;
  };
};

}  // namespace bench::peers

#endif
