// glibc's malloc/free, called as the process's malloc. The other allocators are loaded with
// dlopen(RTLD_LOCAL) (see dynlib.hpp), so nothing interposes malloc: throughput.cc checks at
// start-up that `malloc` resolves into libc.so.6 and prints where it found it.
#ifndef SSMEM_BENCH_PEERS_GLIBC_HPP
#define SSMEM_BENCH_PEERS_GLIBC_HPP

#include <cstdlib>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct glibc_allocator : malloc_peer<glibc_allocator> {
  static constexpr bool hold_one = false;
  [[gnu::always_inline]] static void* alloc(std::size_t n) { return std::malloc(n); }
  [[gnu::always_inline]] static void release(void* p, std::size_t) { std::free(p); }
};

}  // namespace bench::peers

#endif
