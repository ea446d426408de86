// The C API's own record transitions (ssmem.cc): registration by id, ssmem_thread_offline /
// ssmem_thread_online, ssmem_term, ssmem_alloc_term of the last allocator, a thread that
// exits without ssmem_term, and the fork child handler. Each is observed on the default
// domain's records (online / offline / free counts, slots), so a call that used the wrong
// transition -- unregistering instead of going offline, going offline instead of
// unregistering, a non-idempotent offline, a new slot instead of an adoption, a fork child
// that keeps the parent's other threads online -- fails here.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

namespace {
ssmem::domain_stats now() { return ssmem::default_domain().stats(); }
}  // namespace

TEST_CASE("C API: init registers, offline/online are idempotent, term frees the record") {
  const ssmem::domain_stats s0 = now();
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 3);
  const ssmem::domain_stats s1 = now();
  CHECK(s1.online == s0.online + 1);
  CHECK(s1.free == s0.free - 1 + (s1.slots - s0.slots));  // a free record adopted, or a new slot

  ssmem_thread_offline();
  CHECK(now().online == s0.online);        // offline...
  CHECK(now().offline == s0.offline + 1);  // ...and still registered, not unregistered
  CHECK(now().free == s1.free);
  ssmem_thread_offline();  // idempotent: a second call must not make the version even again
  CHECK(now().offline == s0.offline + 1);
  CHECK(now().online == s0.online);
  ssmem_thread_online();
  CHECK(now().online == s0.online + 1);
  ssmem_thread_online();  // idempotent
  CHECK(now().online == s0.online + 1);
  CHECK(now().offline == s0.offline);

  ssmem_term();
  const ssmem::domain_stats s2 = now();
  CHECK(s2.online == s0.online);
  CHECK(s2.offline == s0.offline);  // unregistered (free), not merely offline
  CHECK(s2.free == s1.free + 1);
  CHECK(s2.slots == s1.slots);      // records are never unlinked (I2)
}

TEST_CASE("C API: the last ssmem_alloc_term unregisters; a new registration adopts the free record") {
  ssmem_allocator_t a, b;
  ssmem_alloc_init(&a, 1 << 20, 4);
  ssmem_alloc_init(&b, 1 << 20, 4);  // same thread, same id: one record
  const ssmem::domain_stats s1 = now();
  ssmem_alloc_term(&a);
  CHECK(now().online == s1.online);  // b still lives: the thread stays registered
  CHECK(now().free == s1.free);
  ssmem_alloc_term(&b);
  const ssmem::domain_stats s2 = now();
  CHECK(s2.online == s1.online - 1);
  CHECK(s2.free == s1.free + 1);
  std::thread([&] {
    ssmem_gc_thread_init(nullptr, 5);  // another thread registers by id: adopts, no new slot
    CHECK(now().slots == s2.slots);
    CHECK(now().free == s2.free - 1);
    CHECK(now().online == s2.online + 1);
    ssmem_term();
  }).join();
  CHECK(now().free == s2.free);
}

TEST_CASE("C API: a thread that exits without ssmem_term leaves its record free") {
  const ssmem::domain_stats s0 = now();
  std::size_t slots_inside = 0;
  std::thread([&] {
    // Never terminated, on purpose: static, so that what it holds (its free set) stays
    // reachable and LeakSanitizer (--config=asan) does not report it.
    static ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 6);
    ssmem_free(&a, ssmem_alloc(&a, 16));
    slots_inside = now().slots;
  }).join();  // no ssmem_term: the thread-exit hook unregisters
  const ssmem::domain_stats s1 = now();
  CHECK(s1.online == s0.online);
  CHECK(s1.offline == s0.offline);
  CHECK(s1.free == s0.free + (slots_inside - s0.slots));
}

TEST_CASE("C API: after fork() the child abandons the parent's other threads, keeps its own") {
  ssmem_allocator_t mine;
  ssmem_alloc_init(&mine, 1 << 20, 7);
  std::atomic<bool> registered{false}, stop{false};
  std::thread other([&] {
    ssmem_gc_thread_init(nullptr, 8);
    registered = true;
    while (!stop.load()) std::this_thread::yield();
    ssmem_term();
  });
  while (!registered.load()) std::this_thread::yield();
  const ssmem::domain_stats parent = now();
  REQUIRE(parent.online >= 2);
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const ssmem::domain_stats child = now();
    // Only the forking thread survives: it stays online (its allocator keeps working); every
    // other registered record is offline and free in the child.
    int ok = child.online == 1 && child.offline == 0 && child.free == parent.free + parent.online - 1 &&
             ssmem_alloc(&mine, 16) != nullptr;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  other.join();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ssmem_term();
}
