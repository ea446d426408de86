// Unit tests of the C++ API (ssmem.hpp): scoped registration, typed pools, safe_to_reclaim,
// statistics and errors.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"
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
  o.stamp_batch = 0;  // every full set stamped at once
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
  o.chunk_size = 4096;
  o.chunk_doubling = false;
  ssmem::allocator a(t, std::size_t{1} << 62, o);  // no system can map one such object
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
  // Bounded by time, not by a count: on a loaded machine the other thread may not run for a
  // while, and until it bumps past our stamps nothing can be collected (that is the point).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (a.stats().collected == 0 && std::chrono::steady_clock::now() < deadline) {
    a.deallocate(a.allocate());
    std::this_thread::yield();
  }
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

TEST_CASE("an offline guard stops the thread from blocking collection, then restores it") {
  ssmem::domain d;
  ssmem::thread_scope owner(d);
  // A second record for this OS thread stands for an idle thread (a plain nested scope would
  // share owner's record: one thread, one record per domain).
  ssmem::thread_scope idle(d, ssmem::separate_record);
  ssmem::options o;
  o.free_set_size = 1;
  o.stamp_batch = 0;  // every full set stamped at once
  ssmem::allocator a(owner, 16, o);
  {
    ssmem::offline_guard g(idle);
    CHECK_FALSE(idle.is_online());
    void* p = a.allocate();
    void* q = a.allocate();
    a.deallocate(p);
    a.deallocate(q);
    CHECK(a.stats().collected == 1);
  }
  CHECK(idle.is_online());
  void* p = a.allocate();
  void* q = a.allocate();
  a.deallocate(p);
  a.deallocate(q);  // idle is online and never moves: its entry blocks from now on
  auto s = a.stats();
  CHECK(s.collected == 2);  // the set stamped while idle was offline still went
  CHECK(s.blocking_slot == static_cast<long long>(idle.get_record().index()));
  CHECK(s.oldest_pending_age == 1);
  CHECK(a.stats().deferred == 1);  // a stamp now would collect nothing: put off
  a.deallocate(a.allocate());
  CHECK(a.stats().oldest_pending_age == 2);  // one more stamp put off, still held back
  idle.safe_to_reclaim();
  a.deallocate(a.allocate());
  CHECK(a.stats().collected == 3);
  CHECK(a.stats().pending_sets == 3);  // the put-off sets, stamped together, wait for the next bump
  idle.safe_to_reclaim();
  a.deallocate(a.allocate());
  CHECK(a.stats().collected == 6);
}

TEST_CASE("statistics print for humans and count the domain's records") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::domain_stats ds;
  {
    ssmem::thread_scope u(d, ssmem::separate_record);  // a second record, as another thread's
    u.offline();
    ds = d.stats();
  }
  CHECK(ds.slots == 2);
  CHECK(ds.online == 1);
  CHECK(ds.offline == 1);
  CHECK(d.stats().free == 1);
  ssmem::allocator a(t, 8);
  a.deallocate(a.allocate());
  std::ostringstream os;
  os << a.stats() << "\n" << d.stats();
  CHECK(os.str().find("freed 1") != std::string::npos);
  CHECK(os.str().find("1 free") != std::string::npos);
}

TEST_CASE("after fork() the child's collection is not blocked by the parent's other threads") {
  std::atomic<bool> registered{false}, stop{false};
  std::thread other([&] {
    ssmem::thread_scope s;  // default domain, online, never bumps
    registered = true;
    while (!stop.load()) std::this_thread::yield();
  });
  while (!registered.load()) std::this_thread::yield();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ssmem::thread_scope t;
    ssmem::options o;
    o.free_set_size = 1;
    o.stamp_batch = 0;
    ssmem::allocator a(t, 16, o);
    for (int i = 0; i < 4; ++i) a.deallocate(a.allocate());
    _exit(a.stats().collected > 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  other.join();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a thread's implicit scope is registered on first use and leaves at thread exit") {
  ssmem::domain& d = ssmem::default_domain();
  ssmem::record* rec = nullptr;
  std::thread([&] {
    ssmem::thread_scope& s = ssmem::this_thread();
    CHECK(&s == &ssmem::this_thread());  // one per thread
    CHECK(s.is_online());
    rec = &s.get_record();
  }).join();
  // the record went offline and free at thread exit
  CHECK(ssmem::version_is_offline(rec->load_version()));
  CHECK(d.stats().free >= 1);
}

TEST_CASE("nested scopes of one thread in one domain share its record") {
  ssmem::domain d;
  ssmem::thread_scope outer(d);
  {
    ssmem::thread_scope inner(d);
    CHECK(&inner.get_record() == &outer.get_record());
    CHECK(inner.shares_outer_record());
    CHECK(d.slot_count() == 1);
    {
      ssmem::thread_scope innermost(d);
      CHECK(&innermost.get_record() == &outer.get_record());
      CHECK(ssmem::innermost_scope_of_this_thread() == &innermost);
    }
    CHECK(ssmem::innermost_scope_of_this_thread() == &inner);
  }
  CHECK(outer.is_online());  // the inner scopes' ends leave the outer registration alone
  CHECK(d.stats().online == 1);
  CHECK(d.stats().free == 0);
  ssmem::thread_scope separate(d, ssmem::separate_record);
  CHECK(&separate.get_record() != &outer.get_record());
  CHECK_FALSE(separate.shares_outer_record());
  CHECK(d.slot_count() == 2);
}

TEST_CASE("collection progresses while the owner works inside nested scopes") {
  // Before scopes were re-entrant, the inner scope registered a second record: the outer one
  // stayed online and never moved, and held back every collection in the domain.
  ssmem::domain d;
  ssmem::thread_scope outer(d);
  ssmem::thread_scope inner(d);
  ssmem::options o;
  o.free_set_size = 1;
  o.stamp_batch = 0;  // every full set stamped at once
  ssmem::allocator a(inner, 16, o);
  for (int i = 0; i < 8; ++i) {
    a.deallocate(a.allocate());
    ssmem::safe_to_reclaim();  // the innermost scope: the thread's only entry moves on
  }
  auto s = a.stats();
  CHECK(s.collected >= 6);
  CHECK(s.blocking_slot == -1);
  CHECK(d.stats().slots == 1);
}

TEST_CASE("offline and online act on the record that nested scopes share") {
  ssmem::domain d;
  ssmem::thread_scope outer(d);
  {
    ssmem::thread_scope inner(d);
    inner.offline();
    CHECK_FALSE(outer.is_online());  // one thread, one record: the thread is offline
    inner.online();
    CHECK(outer.is_online());
    ssmem::offline_guard g(inner);
    CHECK_FALSE(outer.is_online());
  }
  CHECK(outer.is_online());  // the guard restored what it found
  outer.offline();
  {
    ssmem::thread_scope inner(d);  // finds the thread offline: online for its lifetime
    CHECK(inner.is_online());
    CHECK(outer.is_online());
  }
  CHECK_FALSE(outer.is_online());  // and offline again as the outer scope left it
  outer.online();
}

TEST_CASE("scopes in other domains nest without sharing, and the inner one of a domain wins") {
  ssmem::domain d1, d2;
  ssmem::thread_scope a(d1);
  ssmem::thread_scope b(d2);
  ssmem::thread_scope c(d1);  // shares a's record, though b lies between them
  CHECK(&c.get_record() == &a.get_record());
  CHECK(&b.get_record() != &a.get_record());
  CHECK(d1.slot_count() == 1);
  CHECK(d2.slot_count() == 1);
}

TEST_CASE("default-domain scopes and this_thread() share the thread's record with the C API") {
  ssmem::domain& d = ssmem::default_domain();
  std::thread([&] {
    ssmem::record* rec = nullptr;
    {
      ssmem::thread_scope s;
      rec = &s.get_record();
      ssmem::thread_scope& implicit = ssmem::this_thread();  // not nested: held until exit
      CHECK(&implicit.get_record() == rec);
      CHECK(ssmem::innermost_scope_of_this_thread() == &s);
    }
    // s ended, this_thread() still holds the record
    CHECK(ssmem::innermost_scope_of_this_thread() == nullptr);
    CHECK(ssmem::this_thread().is_online());
    auto v = rec->own_version();
    ssmem::safe_to_reclaim();  // no scope on the chain: the default-domain record
    CHECK(rec->own_version() == v + 2);
    ssmem::thread_scope again;
    CHECK(&again.get_record() == rec);
  }).join();
  CHECK(d.stats().online == 0);
}

TEST_CASE("the C API registers the record a default-domain scope holds, and vice versa") {
  ssmem::domain& d = ssmem::default_domain();
  std::thread([&] {
    ssmem::record* rec = nullptr;
    {
      ssmem::thread_scope s;  // C++ first
      rec = &s.get_record();
      static ssmem_allocator_t a;
      ssmem_alloc_init(&a, 4096, 7);
      CHECK(rec->label() == 7);  // the same record: one thread, one record per domain
      ssmem_free(&a, ssmem_alloc(&a, 16));
      ssmem_thread_offline();
      CHECK_FALSE(s.is_online());  // the C API's offline is the thread's
      ssmem_thread_online();
      ssmem_term();  // the C registration ends; the scope still holds the record
      CHECK(s.is_online());
      CHECK(rec->label() == -1);
      CHECK_FALSE(ssmem::version_is_offline(rec->load_version()));
    }
    CHECK(ssmem::version_is_offline(rec->load_version()));  // last use gone: unregistered
    static ssmem_allocator_t b;
    ssmem_alloc_init(&b, 4096, 8);  // C first
    {
      ssmem::thread_scope s;
      CHECK(s.get_record().label() == 8);
      rec = &s.get_record();
    }
    CHECK_FALSE(ssmem::version_is_offline(rec->load_version()));  // the C API still holds it
    ssmem_term();
    CHECK(ssmem::version_is_offline(rec->load_version()));
  }).join();
  CHECK(d.stats().online == 0);
}

TEST_CASE("a retired pool object is destroyed after the grace period, then its memory reused") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::thread_scope reader(d, ssmem::separate_record);  // stands for a reader thread
  ssmem::options o;
  o.free_set_size = 1;
  o.release_set_size = 1;
  o.stamp_batch = 0;  // every full set stamped at once
  ssmem::object_pool<node> pool(t, o);
  const int live0 = node::live;
  node* a = pool.create(1);
  node* b = pool.create(2);
  pool.retire(a);  // stamped; the reader may still hold a
  CHECK(node::live == live0 + 2);  // ~node() has not run
  CHECK(a->key == 1);              // what a reader that holds a still reads
  pool.retire(b);  // the reader has not moved on: put off
  CHECK(node::live == live0 + 2);
  reader.safe_to_reclaim();
  pool.retire(nullptr);  // no-op
  node* c = pool.create(3);
  pool.retire(c);  // probe: a's set is given back: ~node(), memory reusable at once
  CHECK(node::live == live0 + 2);  // a destroyed, c created
  node* e = pool.create(4);
  CHECK(static_cast<void*>(e) == static_cast<void*>(a));
  pool.destroy(e);
}  // the pool's destructor destroys b and c (LeakSanitizer and the live count)

TEST_CASE("allocator::retire runs a callable deleter after the grace period") {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::thread_scope reader(d, ssmem::separate_record);
  ssmem::options o;
  o.free_set_size = 1;
  o.release_set_size = 1;
  o.stamp_batch = 0;
  ssmem::allocator a(t, 16, o);
  int deleted = 0;
  a.retire(new node(10), [&deleted](node* n) noexcept {  // with state: boxed
    deleted += n->key;
    delete n;
  });
  a.retire(new node(20), [](node* n) noexcept { delete n; });  // stateless: a function pointer
  CHECK(deleted == 0);
  reader.safe_to_reclaim();
  a.retire(static_cast<node*>(nullptr), [](node* n) noexcept { delete n; });  // no-op
  a.release(std::malloc(4));  // probe: the first set is given back
  CHECK(deleted == 10);
}
