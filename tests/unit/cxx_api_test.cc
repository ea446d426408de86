// Unit tests of the C++ API (ssmem.hpp): scoped registration, typed pools, safe_to_reclaim,
// statistics and errors.
#include <doctest/doctest.h>

#include <atomic>
#include <new>
#include <stdexcept>
#include <thread>

#include "ssmem/ssmem.hpp"

namespace {
struct node {
  static inline int live = 0;
  int key;
  node* next = nullptr;
  explicit node(int k) : key(k) { ++live; }
  ~node() { --live; }
};
struct throws_on_build {
  explicit throws_on_build(bool t) {
    if (t) throw std::runtime_error("no");
  }
};
}  // namespace

TEST_CASE("a thread scope registers the thread for its lifetime and frees the record after") {
  ssmem::domain d;
  {
    ssmem::thread_scope t(d);
    CHECK(d.slot_count() == 1);
    CHECK(t.get_record().is_online());
  }
  ssmem::thread_scope again(d);  // adopts the record the first scope left
  CHECK(d.slot_count() == 1);
}

TEST_CASE("object pools construct and destroy objects and reuse memory after a grace period") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::options o;
  o.free_set_size = 1;
  ssmem::object_pool<node> pool(t, o);
  node* a = pool.create(1);
  node* b = pool.create(2);
  CHECK(a->key == 1);
  CHECK(node::live == 2);
  pool.destroy(a);
  CHECK(node::live == 1);
  pool.destroy(b);  // second stamp: our own bumps made it newer, a's set is collected
  CHECK(pool.stats().collected == 1);
  node* c = pool.create(3);
  CHECK(static_cast<void*>(c) == static_cast<void*>(a));
  pool.destroy(c);
  pool.destroy(nullptr);
}

TEST_CASE("a constructor that throws leaves no object behind") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::object_pool<throws_on_build> pool(t);
  CHECK_THROWS_AS(pool.create(true), std::runtime_error);
  CHECK(pool.stats().freed == 1);
  CHECK_NOTHROW(pool.destroy(pool.create(false)));
}

TEST_CASE("allocation failure throws std::bad_alloc") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::options o;
  o.chunk_size = std::size_t{1} << 62;
  o.chunk_doubling = false;
  ssmem::allocator a(t, 64, o);
  CHECK_THROWS_AS(a.allocate(), std::bad_alloc);
}

TEST_CASE("safe_to_reclaim bumps the innermost scope of the calling thread") {
  ssmem::domain d1, d2;
  ssmem::thread_scope outer(d1);
  auto v1 = outer.get_record().own_version();
  {
    ssmem::thread_scope inner(d2);
    auto v2 = inner.get_record().own_version();
    ssmem::safe_to_reclaim();
    CHECK(inner.get_record().own_version() == v2 + 2);
    CHECK(outer.get_record().own_version() == v1);
  }
  ssmem::safe_to_reclaim();
  CHECK(outer.get_record().own_version() == v1 + 2);
}

TEST_CASE("another thread that keeps bumping lets the owner's frees be collected") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  std::atomic<bool> stop{false};
  std::thread other([&] {
    ssmem::thread_scope s(d);
    while (!stop.load()) s.safe_to_reclaim();
  });
  ssmem::options o;
  o.free_set_size = 4;
  ssmem::allocator a(t, 32, o);
  for (int i = 0; i < 10000 && a.stats().collected == 0; ++i) a.deallocate(a.allocate());
  stop = true;
  other.join();
  CHECK(a.stats().collected > 0);
}

TEST_CASE("the default domain is the one the C API registers in") {
  ssmem::domain& d = ssmem::default_domain();
  CHECK(&d == &ssmem::default_domain());
  std::size_t before = d.slot_count();
  {
    ssmem::thread_scope t;  // default domain
    CHECK(d.slot_count() >= 1);
  }
  CHECK(d.slot_count() >= before);
}
