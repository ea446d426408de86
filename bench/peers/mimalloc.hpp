// mimalloc (Debian's libmimalloc2) through its prefixed API, mi_malloc and mi_free_size, from
// a library opened locally (dynlib.hpp). `Hold` keeps one object of the size allocated for
// the whole run: in a pure alloc/free pair loop mimalloc frees a page that has just become
// empty on every free (about twice the instructions); one live neighbour keeps the page, as
// any real program would (see docs/benchmarks.md). Both variants are reported.
#ifndef SSMEM_BENCH_PEERS_MIMALLOC_HPP
#define SSMEM_BENCH_PEERS_MIMALLOC_HPP

#include <cstdlib>
#include <string>

#include "bench/peers/common.hpp"
#include "bench/peers/dynlib.hpp"

namespace bench::peers {

template <bool Hold>
struct mimalloc_allocator : malloc_peer<mimalloc_allocator<Hold>> {
  static constexpr bool hold_one = Hold;
  using malloc_fn = void* (*)(std::size_t);
  using free_size_fn = void (*)(void*, std::size_t);
  static inline malloc_fn mi_malloc = nullptr;
  static inline free_size_fn mi_free_size = nullptr;

  static bool load(std::string& error) {
    if (mi_malloc != nullptr) return true;
    void* m = local_symbol("libmimalloc.so.2", "mi_malloc", error);
    void* f = m ? local_symbol("libmimalloc.so.2", "mi_free_size", error) : nullptr;
    if (m == nullptr || f == nullptr) return false;
    mi_malloc = reinterpret_cast<malloc_fn>(m);
    mi_free_size = reinterpret_cast<free_size_fn>(f);
    return true;
  }

  [[gnu::always_inline]] static void* alloc(std::size_t n) { return mi_malloc(n); }
  [[gnu::always_inline]] static void release(void* p, std::size_t n) { mi_free_size(p, n); }
};

}  // namespace bench::peers

#endif
