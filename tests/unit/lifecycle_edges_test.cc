// Lifecycle edges off the beaten path (issue 20): fork() from a thread that holds a
// separate_record scope and nested scopes besides its main record; a thread registered only
// for collection (ssmem_gc_thread_init) that terminates with ssmem_term and lives on, or that
// exits without it. Each is observed where it matters: the default domain's records (online,
// offline, free) and whether another thread's frees are still collected, at the default option
// sets (free sets of 507, stamp_batch 32).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

namespace {

ssmem::domain_stats now() { return ssmem::default_domain().stats(); }

// Frees through `a` (default options: a stamp every 16,224 frees) until its sets are collected
// or `ops` frees are done; its owner bumps with every free (ts_policy::both), and `other`, a
// second record of the same thread, every thousand. True when something was collected.
bool frees_are_collected(ssmem::allocator& a, std::size_t ops, ssmem::thread_scope* other = nullptr) {
  const std::uint64_t before = a.stats().collected;
  for (std::size_t i = 0; i < ops && a.stats().collected == before; ++i) {
    if (other != nullptr && i % 1000 == 0) other->safe_to_reclaim();
    a.deallocate(a.allocate());
  }
  return a.stats().collected > before;
}

}  // namespace

TEST_CASE("after fork() the child keeps every record of the forking thread: its scope, a nested one, a separate_record one") {
  ssmem::thread_scope outer;                                           // the thread's record
  ssmem::thread_scope separate(ssmem::default_domain(), ssmem::separate_record);  // a second one
  ssmem::thread_scope nested;                                          // shares `separate`'s
  REQUIRE(&nested.get_record() == &separate.get_record());
  REQUIRE(&outer.get_record() != &separate.get_record());
  std::atomic<bool> registered{false}, stop{false};
  std::thread other([&] {
    ssmem::thread_scope s;  // online, never moves on: gone in the child
    registered = true;
    while (!stop.load()) std::this_thread::yield();
  });
  while (!registered.load()) std::this_thread::yield();
  const ssmem::domain_stats parent = now();
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Both records of this thread stay registered and online; the other thread's is free.
    const ssmem::domain_stats child = now();
    int failed = 0;
    failed |= (child.online != 2) << 0;
    failed |= (child.offline != 0) << 1;
    failed |= (child.free != parent.free + parent.online - 2) << 2;
    failed |= (!outer.is_online() || !separate.is_online()) << 3;
    // Collection goes on in the child (nothing waits for the dead thread), for an allocator
    // on either record, while the other record keeps moving.
    {
      ssmem::allocator a(nested, 16);
      ssmem::allocator b(outer, 16);
      failed |= !frees_are_collected(a, 20000, &outer) << 4;
      failed |= !frees_are_collected(b, 20000, &separate) << 5;
    }
    // A new thread of the child adopts a free record: never one this thread still holds.
    std::thread([&] {
      ssmem::thread_scope s;
      failed |= (&s.get_record() == &outer.get_record() || &s.get_record() == &separate.get_record()) << 6;
    }).join();
    failed |= (now().online != 2) << 7;
    if (failed != 0) std::fprintf(stderr, "fork child: failed checks, bit mask %#x\n", failed);
    _exit(failed);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  stop = true;
  other.join();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a thread registered only for collection holds nothing back once it calls ssmem_term, though it lives on") {
  ssmem::domain_stats s0 = now();
  std::atomic<int> stage{0};
  std::thread gc([&] {
    ssmem_gc_thread_init(nullptr, 41);
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
    ssmem_term();  // unregisters: no allocator of its own to terminate
    stage = 3;
    while (stage.load() != 4) std::this_thread::yield();
  });
  while (stage.load() != 1) std::this_thread::yield();
  CHECK(now().online == s0.online + 1);
  {
    ssmem::thread_scope me;
    ssmem::allocator a(me, 16);
    CHECK_FALSE(frees_are_collected(a, 20000));  // the GC thread is online and never moves
    stage = 2;
    while (stage.load() != 3) std::this_thread::yield();
    CHECK(now().online == s0.online + 1);  // me; the GC thread's record is free
    CHECK(frees_are_collected(a, 20000));
  }
  stage = 4;
  gc.join();
  CHECK(now().online == s0.online);
}

TEST_CASE("a thread registered only for collection that exits without ssmem_term holds nothing back") {
  ssmem::domain_stats s0 = now();
  std::thread([&] { ssmem_gc_thread_init(nullptr, 42); }).join();  // the exit hook unregisters
  CHECK(now().online == s0.online);
  ssmem::thread_scope me;
  ssmem::allocator a(me, 16);
  CHECK(frees_are_collected(a, 20000));
}
