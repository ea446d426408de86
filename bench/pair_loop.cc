// //bench:pair_loop -- the W1 pair loop, single-threaded, for a fixed number of iterations:
// the program that bench/callgrind_pair.sh runs under `valgrind --tool=callgrind` to count
// instructions per allocate+free pair. The loop body is the same as run_pair's (write one
// byte, escape the pointer); "baseline" runs the loop with a static object and no allocator.
//
//   pair_loop PEER ITERATIONS [SIZE]    PEER: baseline ssmem ssmem-c ssmem-bump-none freelist
//                                             glibc jemalloc mimalloc mimalloc-hold1 tcmalloc
//                                             section section-c
// ssmem-c runs the same body in C through the C API (bench/peers/ssmem_c.c). section and
// section-c allocate nothing: each iteration enters and leaves one critical section of an
// offline thread (ssmem::critical_section inlined; the C pair ssmem_section_enter/exit) around
// the baseline's body: their cost per section is the difference from the baseline.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/harness.hpp"
#include "bench/peers/freelist.hpp"
#include "bench/peers/glibc.hpp"
#include "bench/peers/jemalloc.hpp"
#include "bench/peers/mimalloc.hpp"
#include "bench/peers/ssmem.hpp"
#include "bench/peers/ssmem_c.h"
#include "bench/peers/tcmalloc.hpp"
#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

namespace {

using namespace bench;

template <class A>
[[gnu::noinline]] void loop(typename A::thread& t, unsigned long long n) {
  for (unsigned long long k = 0; k < n; ++k) {
    void* o = t.allocate();
    static_cast<char*>(o)[0] = static_cast<char>(k);
    escape(o);
    t.deallocate(o);
  }
}

[[gnu::noinline]] void baseline(unsigned long long n) {
  alignas(64) static char obj[64];
  for (unsigned long long k = 0; k < n; ++k) {
    void* o = obj;
    escape(o);
    static_cast<char*>(o)[0] = static_cast<char>(k);
    escape(o);
  }
}

[[gnu::noinline]] void section_loop(ssmem::thread_scope& me, unsigned long long n) {
  alignas(64) static char obj[64];
  for (unsigned long long k = 0; k < n; ++k) {
    ssmem::critical_section cs(me);
    void* o = obj;
    escape(o);
    static_cast<char*>(o)[0] = static_cast<char>(k);
    escape(o);
  }
}

[[gnu::noinline]] void section_c_loop(unsigned long long n) {
  alignas(64) static char obj[64];
  for (unsigned long long k = 0; k < n; ++k) {
    ssmem_section_enter();
    void* o = obj;
    escape(o);
    static_cast<char*>(o)[0] = static_cast<char>(k);
    escape(o);
    ssmem_section_exit();
  }
}

template <class A>
int run(unsigned long long n, std::size_t size) {
  if constexpr (requires(std::string& e) { A::load(e); }) {
    std::string e;
    if (!A::load(e)) {
      std::fprintf(stderr, "pair_loop: %s\n", e.c_str());
      return 2;
    }
  }
  run_params p;
  typename A::global g(p);
  typename A::thread t(g, 0, size);
  loop<A>(t, n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: pair_loop PEER ITERATIONS [SIZE]\n");
    return 2;
  }
  std::string peer = argv[1];
  unsigned long long n = std::strtoull(argv[2], nullptr, 10);
  std::size_t size = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  using namespace bench::peers;
  if (peer == "baseline") {
    baseline(n);
    return 0;
  }
  if (peer == "ssmem") return run<bench::peers::ssmem_allocator<>>(n, size);
  if (peer == "section") {  // a thread offline outside its sections
    ssmem::domain d;
    ssmem::thread_scope me(d);
    me.offline();
    section_loop(me, n);
    return 0;
  }
  if (peer == "section-c") {
    ssmem_gc_thread_init(nullptr, 0);
    ssmem_thread_offline();
    section_c_loop(n);
    ssmem_term();
    return 0;
  }
  if (peer == "ssmem-c") {  // the C API, the loop compiled as C (bench/peers/ssmem_c.c)
    ssmem_allocator_t a;
    bench_ssmem_c_init(&a, 0);
    bench_ssmem_c_pair_loop(&a, size, n);
    bench_ssmem_c_term();
    return 0;
  }
  if (peer == "ssmem-bump-none") return run<bench::peers::ssmem_allocator<bench::peers::ssmem_bump_none>>(n, size);
  if (peer == "freelist") return run<freelist_allocator>(n, size);
  if (peer == "glibc") return run<glibc_allocator>(n, size);
  if (peer == "jemalloc") return run<jemalloc_allocator>(n, size);
  if (peer == "mimalloc") return run<mimalloc_allocator<false>>(n, size);
  if (peer == "mimalloc-hold1") return run<mimalloc_allocator<true>>(n, size);
  if (peer == "tcmalloc") return run<tcmalloc_allocator>(n, size);
  std::fprintf(stderr, "pair_loop: unknown peer '%s'\n", peer.c_str());
  return 2;
}
