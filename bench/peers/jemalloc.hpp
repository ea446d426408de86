// jemalloc (Debian's libjemalloc2, an unprefixed build) from a library opened locally
// (dynlib.hpp), so that the process's malloc stays glibc's: the library's own `malloc` (its
// fast path) and its own `free`, both looked up in the library's handle. With Debian's 5.3
// build, mallocx + sdallocx cost about 205 instructions per pair (callgrind) against 80 for
// malloc + free; JEMALLOC_API=mallocx in the environment selects them for comparison.
#ifndef SSMEM_BENCH_PEERS_JEMALLOC_HPP
#define SSMEM_BENCH_PEERS_JEMALLOC_HPP

#include <cstdlib>
#include <string>

#include "bench/peers/common.hpp"
#include "bench/peers/dynlib.hpp"

namespace bench::peers {

struct jemalloc_allocator : malloc_peer<jemalloc_allocator> {
  static constexpr bool hold_one = false;
  using mallocx_fn = void* (*)(std::size_t, int);
  using sdallocx_fn = void (*)(void*, std::size_t, int);
  using malloc_fn = void* (*)(std::size_t);
  static inline mallocx_fn je_mallocx = nullptr;
  static inline malloc_fn je_malloc = nullptr;
  using free_fn = void (*)(void*);
  static inline sdallocx_fn je_sdallocx = nullptr;
  static inline free_fn je_free = nullptr;

  /// Loads the library once; false (with the reason) where it cannot be loaded.
  static bool load(std::string& error) {
    if (je_malloc != nullptr || je_mallocx != nullptr) return true;
    const char* api = std::getenv("JEMALLOC_API");
    const bool x = api != nullptr && std::string(api) == "mallocx";
    void* m = local_symbol("libjemalloc.so.2", x ? "mallocx" : "malloc", error);
    void* d = m ? local_symbol("libjemalloc.so.2", x ? "sdallocx" : "free", error) : nullptr;
    if (m == nullptr || d == nullptr) return false;
    if (x) {
      je_mallocx = reinterpret_cast<mallocx_fn>(m);
    } else {
      je_malloc = reinterpret_cast<malloc_fn>(m);
    }
    if (x) {
      je_sdallocx = reinterpret_cast<sdallocx_fn>(d);
    } else {
      je_free = reinterpret_cast<free_fn>(d);
    }
    return true;
  }

  [[gnu::always_inline]] static void* alloc(std::size_t n) {
    return je_malloc != nullptr ? je_malloc(n) : je_mallocx(n, 0);
  }
  [[gnu::always_inline]] static void release(void* p, std::size_t n) {
    if (je_free != nullptr) {
      je_free(p);
    } else {
      je_sdallocx(p, n, 0);
    }
  }
};

}  // namespace bench::peers

#endif
