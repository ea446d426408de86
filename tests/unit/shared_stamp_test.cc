// Shared stamps (docs/design.md §3, "Shared stamps"; issue 18): a ticket, the publication of
// a stamp's clock and its copy by a thread whose ticket it covers (basic_domain), and the wait
// at the memory bound that borrows such a clock instead of taking a heavy fence of its own
// (basic_allocator::stamp_for_wait). Deterministic on one OS thread: the other threads are
// records of the same domain, and "another thread's stamp during the wait's pause" is a hook
// of the policy's backoff(). Plus 16 real threads at the bound, which borrow.
#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "ssmem/allocator.hpp"
#include "ssmem/native_policy.hpp"
#include "ssmem/ssmem.hpp"

namespace {

// The native policy, whose backoff() (the pauses of a wait at the bound) first runs a hook:
// what another thread does while the waiting thread is descheduled.
struct hook_policy : ssmem::native_policy {
  static inline std::function<void()> during_pause;
  static inline unsigned pauses = 0;
  static void backoff(unsigned round) noexcept {
    ++pauses;
    if (during_pause) during_pause();
    ssmem::native_policy::backoff(round);
  }
};

using domain = ssmem::basic_domain<hook_policy>;
using record = ssmem::thread_record<hook_policy>;
using allocator = ssmem::basic_allocator<hook_policy>;
using clock_t_ = ssmem::vector_clock<hook_policy>;

struct hook_reset {
  ~hook_reset() {
    hook_policy::during_pause = nullptr;
    hook_policy::pauses = 0;
  }
};

bool same_clock(const clock_t_& a, const clock_t_& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a published stamp is borrowed only by tickets taken before it, as the clock it was") {
  domain d;
  record* a = d.register_thread();
  record* b = d.register_thread();
  record* c = d.register_thread();
  clock_t_ borrowed;

  const std::uint64_t t0 = d.request_stamp();
  CHECK_FALSE(d.borrow_stamp(borrowed, t0));  // nothing published yet
  CHECK(d.requests_waiting(t0) == t0 + 1);    // every ticket so far waits (cover 0)

  b->bump();
  clock_t_ lent;  // b's stamp: its ticket is later than t0, so its fence follows t0
  REQUIRE(d.shared_snapshot(lent));
  REQUIRE(lent.size() == 3);
  CHECK(lent[b->index()] == b->own_version());

  a->bump();  // moves after the stamp: the copy keeps the stamp's entry, not the version now
  c->go_offline();
  REQUIRE(d.borrow_stamp(borrowed, t0));
  CHECK(borrowed.stamped());
  CHECK(same_clock(borrowed, lent));
  CHECK(borrowed[a->index()] < a->own_version());
  CHECK(d.requests_waiting(t0) == 0);  // served

  // A ticket taken after the stamp is not served by it; a record registered after it is not
  // in the copy.
  const std::uint64_t t1 = d.request_stamp();
  CHECK_FALSE(d.borrow_stamp(borrowed, t1));
  CHECK(d.requests_waiting(t1) == 1);
  record* late = d.register_thread();
  clock_t_ next;
  REQUIRE(d.shared_snapshot(next));  // serves t1; four entries now
  REQUIRE(d.borrow_stamp(borrowed, t1));
  CHECK(borrowed.size() == 4);
  CHECK(same_clock(borrowed, next));
  CHECK(ssmem::version_is_offline(borrowed[c->index()]));

  // Without a half-written publication, the fork child's reset changes nothing.
  d.reset_shared_stamp_after_fork();
  CHECK(d.borrow_stamp(borrowed, t1));

  // A plain snapshot (stamp_share 0) takes no ticket and publishes nothing.
  const std::uint64_t t2 = d.request_stamp();
  clock_t_ own;
  REQUIRE(d.snapshot(own));
  CHECK_FALSE(d.borrow_stamp(borrowed, t2));
  CHECK(d.request_stamp() == t2 + 1);

  for (record* r : {a, b, c, late}) d.unregister_thread(r);
}

namespace {

// An allocator at the bound with nothing stamped: `others` other records of its domain, online
// and never moving (on one OS thread they cannot), except as the test moves them. Free sets of
// 2, a budget of 1 (the floor: 4 objects) and a batch that is never due, so that only the
// bound stamps. The first stamp (at the floor) is collected while the others are offline.
struct at_the_bound {
  static constexpr std::size_t others = 3;
  domain d;
  record* me = d.register_thread();
  std::vector<record*> rec;
  ssmem::options o;
  std::optional<allocator> a;
  hook_reset reset;

  explicit at_the_bound(std::size_t stamp_share) {
    for (std::size_t i = 0; i < others; ++i) rec.push_back(d.register_thread());
    o.free_set_size = 2;
    o.pending_budget = 1;
    o.stamp_batch = 1000;
    o.bound_wait_ns = 5'000'000;  // 5 ms: a wait that cannot collect gives up quickly
    o.stamp_share = stamp_share;
    a.emplace(d, *me, 64, o);
    for (record* r : rec) r->go_offline();
    // The floor (4 objects pending) and the first stamp, collected at once (others offline).
    std::vector<void*> objs;
    for (int i = 0; i < 4; ++i) objs.push_back(a->allocate());
    for (void* p : objs) a->deallocate(p);
    a->deallocate(a->allocate());  // the first clock; one object reused, one reusable left
    REQUIRE(a->stats().stamps == 1);
    for (record* r : rec) r->go_online();
    // Reuse what is left, then free until the limit: four objects wait, nothing stamped.
    objs.clear();
    while (a->stats().reusable != 0) objs.push_back(a->allocate());
    while (a->stats().pending < 4) a->deallocate(objs.size() > 0 ? pop(objs) : a->allocate());
    REQUIRE(a->stats().pending == 4);
    REQUIRE(a->stats().pending_sets == 0);
    REQUIRE(a->stats().unstamped == 4);
    hook_policy::pauses = 0;
  }
  ~at_the_bound() {
    a.reset();
    d.unregister_thread(me);
    for (record* r : rec) d.unregister_thread(r);
  }
  static void* pop(std::vector<void*>& v) {
    void* p = v.back();
    v.pop_back();
    return p;
  }
  // The other threads move on: they hold no stamp back.
  void others_move() {
    for (record* r : rec) r->bump();
  }
};

}  // namespace

TEST_CASE("a wait at the bound borrows the stamp another thread took during its pause, and fences no more") {
  at_the_bound t(1);  // stamp_share 1: a wait stamps at once only when 4 requests wait
  clock_t_ lent;
  hook_policy::during_pause = [&] {
    if (hook_policy::pauses != 1) return;
    // Another thread (slot 1) stamps during the first pause; then everyone moves on.
    CHECK(t.d.shared_snapshot(lent));
    t.others_move();
  };
  const ssmem::allocator_stats before = t.a->stats();
  void* p = t.a->allocate();  // waits: a ticket, a pause, the borrowed clock; the probe collects
  REQUIRE(p != nullptr);
  const ssmem::allocator_stats after = t.a->stats();
  CHECK(after.shared_stamps == before.shared_stamps + 1);
  CHECK(after.stamps == before.stamps);  // no heavy fence of its own
  CHECK(after.bound_waits == before.bound_waits + 1);
  CHECK(after.bound_overruns == 0);
  CHECK(after.reused == before.reused + 1);  // collected through the borrowed stamp
  CHECK(after.pending == 0);
  CHECK(lent.size() == 4);
  t.a->deallocate(p);
}

TEST_CASE("a borrowed stamp that the others have not moved past yet: the sets wait under it, counted in their age") {
  at_the_bound t(1);
  clock_t_ lent;
  hook_policy::during_pause = [&] {
    if (hook_policy::pauses == 1) CHECK(t.d.shared_snapshot(lent));  // nobody moves afterwards
  };
  void* p = t.a->allocate();  // borrows, cannot collect, gives up after bound_wait_ns and carves
  REQUIRE(p != nullptr);
  const ssmem::allocator_stats s = t.a->stats();
  CHECK(s.shared_stamps == 1);
  CHECK(s.stamps == 1);  // the setup's first stamp only
  CHECK(s.bound_overruns == 1);
  CHECK(s.pending_sets == 2);
  CHECK(s.oldest_pending_age == 0);  // no stamp since the borrowed one
  CHECK(t.a->pending_front()->clock()[0] == lent[0]);
  t.others_move();
  t.a->deallocate(p);
}

TEST_CASE("a wait whose pause saw no stamp fences itself; with enough requests waiting, or sharing off, at once") {
  SUBCASE("nobody stamps during the pause: its own stamp after it") {
    at_the_bound t(1);
    hook_policy::during_pause = [&] { t.others_move(); };  // they move, but take no stamp
    const ssmem::allocator_stats before = t.a->stats();
    void* p = t.a->allocate();
    const ssmem::allocator_stats after = t.a->stats();
    CHECK(after.shared_stamps == before.shared_stamps);
    CHECK(after.stamps == before.stamps + 1);
    CHECK(hook_policy::pauses >= 1);
    t.a->deallocate(p);
  }
  SUBCASE("a stamp published before the request serves it not: its own stamp") {
    at_the_bound t(1);
    clock_t_ early;
    REQUIRE(t.d.shared_snapshot(early));  // its ticket is earlier than the wait's
    hook_policy::during_pause = [&] { t.others_move(); };
    const ssmem::allocator_stats before = t.a->stats();
    void* p = t.a->allocate();
    const ssmem::allocator_stats after = t.a->stats();
    CHECK(after.shared_stamps == before.shared_stamps);
    CHECK(after.stamps == before.stamps + 1);
    t.a->deallocate(p);
  }
  SUBCASE("stamp_share 8 with 4 slots: one request is enough, the stamp comes before any pause") {
    at_the_bound t(8);  // gather max(1, 4 / 8) = 1
    hook_policy::during_pause = [&] { t.others_move(); };
    const ssmem::allocator_stats before = t.a->stats();
    void* p = t.a->allocate();
    const ssmem::allocator_stats after = t.a->stats();
    CHECK(after.stamps == before.stamps + 1);
    CHECK(after.shared_stamps == before.shared_stamps);
    t.a->deallocate(p);
  }
  SUBCASE("stamp_share 0: no ticket, no publication") {
    at_the_bound t(0);
    hook_policy::during_pause = [&] { t.others_move(); };
    const std::uint64_t ticket = t.d.request_stamp();
    void* p = t.a->allocate();
    CHECK(t.a->stats().shared_stamps == 0);
    clock_t_ c;
    CHECK_FALSE(t.d.borrow_stamp(c, ticket));  // its stamps published nothing
    CHECK(t.d.request_stamp() == ticket + 1);  // and took no ticket
    t.a->deallocate(p);
  }
}

TEST_CASE("a thread paused in a wait at the bound is offline for the pause where it holds no reference") {
  // (Where it may hold one -- bump_on without allocations -- the pause leaves it online:
  // Relacy's bound__holder_moved_at_bound_2t, mutant 57.)
  // What the others read of the waiting thread during its pauses: its version, and its entry
  // in a stamp they take then.
  struct seen {
    ssmem::version_t version = 0;
    ssmem::version_t in_stamp = 0;
  };
  auto watch = [](at_the_bound& t, std::vector<seen>& log, bool move_at_second) {
    hook_policy::during_pause = [&t, &log, move_at_second] {
      clock_t_ c;
      REQUIRE(t.d.snapshot(c));
      log.push_back({t.me->load_version(), c[t.me->index()]});
      if (!move_at_second || hook_policy::pauses == 2) t.others_move();
    };
  };
  SUBCASE("bump_on both, sharing off: offline in each pause, online and moved on after it") {
    at_the_bound t(0);
    std::vector<seen> log;
    watch(t, log, true);  // the others move during the second pause: two pauses
    const ssmem::version_t before = t.me->own_version();
    void* p = t.a->allocate();
    REQUIRE(p != nullptr);
    REQUIRE(log.size() == 2);
    for (const seen& s : log) {
      CHECK(ssmem::version_is_offline(s.version));
      CHECK(ssmem::version_is_offline(s.in_stamp));  // a stamp taken meanwhile does not wait for it
    }
    CHECK(log[1].version > log[0].version);  // online in between, offline again
    CHECK(t.me->is_online());
    CHECK(t.me->own_version() > log[1].version);
    CHECK(t.me->own_version() > before);
    CHECK(t.a->stats().bound_overruns == 0);
    t.a->deallocate(p);
  }
  SUBCASE("bump_on both, shared stamps: offline in the pause before the borrow too") {
    at_the_bound t(1);
    std::vector<seen> log;
    watch(t, log, false);
    void* p = t.a->allocate();
    REQUIRE(p != nullptr);
    REQUIRE(log.size() >= 1);
    CHECK(ssmem::version_is_offline(log[0].version));
    CHECK(ssmem::version_is_offline(log[0].in_stamp));
    CHECK(t.me->is_online());
    t.a->deallocate(p);
  }
  SUBCASE("a thread offline already (between critical sections) stays offline") {
    at_the_bound t(0);
    t.me->go_offline();
    std::vector<seen> log;
    watch(t, log, false);
    void* p = t.a->allocate();
    REQUIRE(p != nullptr);
    REQUIRE(log.size() >= 1);
    for (const seen& s : log) CHECK(ssmem::version_is_offline(s.version));
    CHECK_FALSE(t.me->is_online());  // not taken online by the end of a pause
    t.me->go_online();
    t.a->deallocate(p);
  }
}

TEST_CASE("16 real threads at the bound share stamps, and stay within it") {
  // 16 threads on 2 cores, registered before any allocates (else the limit in force shrinks as
  // slots appear, and what was carved under a larger one stays pending), each allocating and
  // freeing its own objects at a small limit (65,536 / 17 slots: 3,855 objects), stamp_share 1 (a wait fences at once only when every
  // slot's request waits): waits pause and borrow. Any borrowed stamp that did not cover its
  // sets would let ASan see a reuse under a reader only in a real structure; here the bound's
  // arithmetic and the counters are checked (the safety of a borrowed clock is Relacy's,
  // share__borrowed_stamp_3t).
  constexpr std::size_t threads = 16;
  constexpr std::uint64_t pairs = 60'000;
  ssmem::domain d;
  ssmem::thread_scope main_scope(d);
  std::atomic<std::size_t> done{0};
  pthread_barrier_t start;
  pthread_barrier_init(&start, nullptr, static_cast<unsigned>(threads));
  std::vector<ssmem::allocator_stats> stats(threads);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ssmem::thread_scope me(d);
      ssmem::options o;
      o.pending_budget = 65536;
      o.bound_wait_ns = 5'000'000'000;  // 5 s: a time-out, not a pace (see memory_bound_test)
      o.stamp_share = 1;
      ssmem::allocator a(me, 64, o);
      pthread_barrier_wait(&start);  // all registered (online) before anyone allocates
      for (std::uint64_t i = 0; i < pairs; ++i) {
        a.deallocate(a.allocate());
        CHECK(a.stats().pending <= a.stats().pending_limit + o.free_set_size);
      }
      done.fetch_add(1);
      while (done.load() < threads) {  // keep moving: hold nobody back
        me.safe_to_reclaim();
        std::this_thread::yield();
      }
      stats[t] = a.stats();
      me.offline();
    });
  }
  main_scope.offline();  // the main thread holds nothing back while it waits
  for (auto& th : pool) th.join();
  pthread_barrier_destroy(&start);
  std::uint64_t shared = 0, own = 0, waits = 0, overruns = 0;
  for (const auto& s : stats) {
    shared += s.shared_stamps;
    own += s.stamps;
    waits += s.bound_waits;
    overruns += s.bound_overruns;
    CHECK(s.allocated == pairs);
    CHECK(s.freed == pairs);
    CHECK(s.dropped == 0);
  }
  MESSAGE("16 threads: " << waits << " waits at the bound, " << own << " stamps of their own, " << shared
                         << " borrowed, " << overruns << " overruns");
  CHECK(overruns == 0);
  CHECK(waits > 0);
  CHECK(shared > 0);  // some waits borrowed another thread's stamp
}
