// A C++20 program against an installed ssmem: thread_scope + object_pool, two threads
// exchanging nodes through a shared atomic pointer; every node read must hold its key. A
// thread destroys the other's nodes into its own pool, so no pool may go (and unmap its
// memory) while the other still runs: both wait at a latch first (the contract of
// ssmem_alloc_term, as in the original).
#include <ssmem.hpp>

#include <atomic>
#include <cstdio>
#include <latch>
#include <thread>

namespace {

struct node {
  explicit node(long k) : key(k), check(~k) {}
  long key;
  long check;
};

std::atomic<node*> shared{nullptr};
std::atomic<long> bad{0};
std::latch both_done{2};

void run(long base) {
  ssmem::thread_scope me;
  ssmem::object_pool<node> pool(me);
  for (long i = 0; i < 100000; ++i) {
    node* n = pool.create(base + i);
    node* old = shared.exchange(n, std::memory_order_acq_rel);
    if (old != nullptr) {
      if (old->check != ~old->key) bad.fetch_add(1, std::memory_order_relaxed);
      pool.destroy(old);
    }
  }
  both_done.arrive_and_wait();
}

}  // namespace

int main() {
  std::thread a(run, 0), b(run, 1L << 40);
  a.join();
  b.join();
  // The last node belongs to a pool that is gone; only its address is left (not read).
  if (bad.load() != 0) {
    std::fprintf(stderr, "%ld corrupted node(s)\n", bad.load());
    return 1;
  }
  std::printf("C++ program: 2 threads x 100000 create/destroy, no corrupted node\n");
  return 0;
}
