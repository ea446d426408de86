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
struct mimalloc_allocator {
  static constexpr bool tracks_pending = false;
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

  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t size) : size_(size) {
      if constexpr (Hold) held_ = allocate();
    }
    ~thread() {
      if constexpr (Hold) deallocate(held_);
    }
    [[gnu::always_inline]] void* allocate() {
      void* p = mi_malloc(size_);
      if (p == nullptr) std::abort();
      return p;
    }
    [[gnu::always_inline]] void deallocate(void* p) { mi_free_size(p, size_); }
    long long pending() const { return -1; }

   private:
    std::size_t size_;
    void* held_ = nullptr;
  };
};

}  // namespace bench::peers

#endif
