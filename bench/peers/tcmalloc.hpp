// tcmalloc (gperftools' libtcmalloc_minimal) through its prefixed API, tc_malloc and the sized
// tc_free_sized, from a library opened locally (dynlib.hpp).
#ifndef SSMEM_BENCH_PEERS_TCMALLOC_HPP
#define SSMEM_BENCH_PEERS_TCMALLOC_HPP

#include <cstdlib>
#include <string>

#include "bench/peers/common.hpp"
#include "bench/peers/dynlib.hpp"

namespace bench::peers {

struct tcmalloc_allocator : malloc_peer<tcmalloc_allocator> {
  static constexpr bool hold_one = false;
  using malloc_fn = void* (*)(std::size_t);
  using free_sized_fn = void (*)(void*, std::size_t);
  static inline malloc_fn tc_malloc = nullptr;
  static inline free_sized_fn tc_free_sized = nullptr;

  static bool load(std::string& error) {
    if (tc_malloc != nullptr) return true;
    void* m = local_symbol("libtcmalloc_minimal.so.4", "tc_malloc", error);
    void* f = m ? local_symbol("libtcmalloc_minimal.so.4", "tc_free_sized", error) : nullptr;
    if (m == nullptr || f == nullptr) return false;
    tc_malloc = reinterpret_cast<malloc_fn>(m);
    tc_free_sized = reinterpret_cast<free_sized_fn>(f);
    return true;
  }

  [[gnu::always_inline]] static void* alloc(std::size_t n) { return tc_malloc(n); }
  [[gnu::always_inline]] static void release(void* p, std::size_t n) { tc_free_sized(p, n); }
};

}  // namespace bench::peers

#endif
