// The allocator at the sizes users run (issue 20). Every test here runs over a table of option
// sets -- the defaults (free sets of 507, release sets of 64, stamp_batch 32, stamp_backlog 4),
// small (5) and large (2048) free sets, release sets of 1, 3 and 64, stamp_batch 0, 1 and 32 --
// where a count in objects and a count in sets give different numbers, free sets keep objects
// after a pop (so allocate() and deallocate() take their fast paths), and a give-back has many
// entries to hand out. The expected figures come from the rules of docs/design.md §3, in
// objects: a batch is B = max(stamp_batch, 1) x free_set_size objects of full sets (a release
// entry counts as two objects); after a put-off stamp the next try comes one free set's worth
// later (stamp_batch 0: at the next full set); past stamp_backlog batches waiting, each try
// yields; collected releases are kept as many as the releases since the last stamp, the rest go
// back at once; nothing released or freed is held back while the program only frees (or only
// releases). As in allocator_test.cc, the other thread is a second record of the domain whose
// version the test moves, so every run is deterministic.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ssmem/allocator.hpp"
#include "ssmem/native_policy.hpp"

#if SSMEM_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

using domain = ssmem::basic_domain<ssmem::native_policy>;
using record = ssmem::thread_record<ssmem::native_policy>;
using allocator = ssmem::basic_allocator<ssmem::native_policy>;

namespace {

struct fixture {
  domain d;
  record* me = d.register_thread();
  record* other = d.register_thread();
  ~fixture() {
    d.unregister_thread(me);
    d.unregister_thread(other);
  }
};

// One option set of the table.
struct option_set {
  std::size_t free_set, release_set, stamp_batch;
  std::string name() const {
    return "free_set_size " + std::to_string(free_set) + ", release_set_size " +
           std::to_string(release_set) + ", stamp_batch " + std::to_string(stamp_batch);
  }
  ssmem::options options() const {
    ssmem::options o;
    o.free_set_size = free_set;
    o.release_set_size = release_set;
    o.stamp_batch = stamp_batch;
    o.chunk_size = std::size_t{1} << 20;
    // The memory bound off: these tests check the batch rules alone (with a thread held back
    // the bound's waits add probes and stamps of their own; tests/unit/memory_bound_test.cc).
    o.pending_budget = 0;
    return o;
  }
  // B: the objects of full sets that make a batch.
  std::size_t batch() const { return (stamp_batch != 0 ? stamp_batch : 1) * free_set; }
};

// Small (5), default (507) and large (2048) free sets, release sets of 1, 3 and 64, stamp_batch
// 0, 1 and 32: nine sets in which every pair of values of two options appears once (an
// orthogonal array of strength 2, instead of all 27 combinations), the defaults among them.
std::vector<option_set> option_sets() {
  return {
      {5, 1, 32},   {5, 3, 0},    {5, 64, 1},     //
      {507, 1, 0},  {507, 3, 1},  {507, 64, 32},  // the defaults
      {2048, 1, 1}, {2048, 3, 32}, {2048, 64, 0}, //
  };
}

TEST_CASE("the option table covers every pair of values") {
  const std::size_t fs[] = {5, 507, 2048}, rs[] = {1, 3, 64}, bs[] = {0, 1, 32};
  for (std::size_t f : fs) {
    for (std::size_t r : rs) {
      for (std::size_t b : bs) {
        int fr = 0, fb = 0, rb = 0;
        for (const option_set& s : option_sets()) {
          fr += s.free_set == f && s.release_set == r;
          fb += s.free_set == f && s.stamp_batch == b;
          rb += s.release_set == r && s.stamp_batch == b;
        }
        CHECK(fr == 1);
        CHECK(fb == 1);
        CHECK(rb == 1);
      }
    }
  }
}

// The defaults of ssmem::options are one of the sets above.
TEST_CASE("the option table holds the defaults") {
  ssmem::options o;
  bool found = false;
  for (const option_set& s : option_sets()) {
    found = found || (s.free_set == o.free_set_size && s.release_set == o.release_set_size &&
                      s.stamp_batch == o.stamp_batch);
  }
  CHECK(found);
  CHECK(o.stamp_backlog == 4);
}

// A source of objects for deallocate(): allocated up front from the same allocator.
struct objects {
  allocator& a;
  std::vector<void*> v;
  std::size_t next = 0;
  objects(allocator& al, std::size_t n) : a(al) {
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(a.allocate());
  }
  void free_one() {
    REQUIRE(next < v.size());
    a.deallocate(v[next++]);
  }
};

void* system_object() {
  void* p = std::malloc(24);
  REQUIRE(p != nullptr);
  return p;
}

// The stamping decision of docs/design.md §3 while an online thread never moves on, in
// objects: a seal adds its set's objects to the unstamped count (allocator_stats::unstamped)
// and to the batch rule's count U, a release entry counting two there; when U reaches `due`,
// the first time it stamps (both back to 0, due = stamp_batch x free_set_size); afterwards
// the stamped set stays held back, so it probes and puts the stamp off (due = U + one free
// set's worth, or U + 1 with stamp_batch 0), and yields once U is at least stamp_backlog
// batches.
// A stamp takes the release set that is not full yet along (its entries never counted in U).
struct held_back_model {
  option_set o;
  std::size_t backlog;
  std::size_t unstamped = 0, count = 0, due = 0, free_filling = 0, release_filling = 0;
  std::uint64_t stamps = 0, probes = 0, deferred = 0, yields = 0;
  held_back_model(option_set s, std::size_t bl) : o(s), backlog(bl), due(s.stamp_batch * s.free_set) {}
  void free_one() {
    if (++free_filling < o.free_set) return;
    free_filling = 0;
    seal(o.free_set, o.free_set);
  }
  void release_one() {
    if (++release_filling < o.release_set) return;
    release_filling = 0;
    seal(o.release_set, 2 * o.release_set);
  }
  void seal(std::size_t objects, std::size_t weight) {
    unstamped += objects;
    count += weight;
    if (count < due) return;
    if (stamps == 0) {
      ++stamps;
      unstamped = 0;
      count = 0;
      release_filling = 0;
      due = o.stamp_batch * o.free_set;
      return;
    }
    ++probes;
    ++deferred;
    due = count + (o.stamp_batch != 0 ? o.free_set : 1);
    if (count >= backlog * o.batch()) ++yields;
  }
};

// After every step (doctest's assertions only when a counter differs: millions of steps).
void check_counters(const allocator& a, const held_back_model& m) {
  const ssmem::allocator_stats s = a.stats();
  if (s.stamps == m.stamps && s.probes == m.probes && s.deferred == m.deferred &&
      s.yields == m.yields && s.unstamped == m.unstamped) {
    return;
  }
  CHECK(s.stamps == m.stamps);
  CHECK(s.probes == m.probes);
  CHECK(s.deferred == m.deferred);
  CHECK(s.yields == m.yields);
  REQUIRE(s.unstamped == m.unstamped);
}

}  // namespace

TEST_CASE("a stamp is due after stamp_batch free sets' worth of frees, counted in objects") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    objects pool(a, os.batch() + os.free_set);
    std::size_t frees = 0;
    while (a.stats().stamps == 0) {
      pool.free_one();
      ++frees;
    }
    CHECK(frees == os.batch());  // stamp_batch 0: the first full set
    CHECK(a.stats().unstamped == 0);
    CHECK(a.stats().pending_sets == os.batch() / os.free_set);
  }
}

TEST_CASE("with a thread held back, stamps are put off, retried a free set's worth later, and yield past the backlog") {
  for (const option_set& os : option_sets()) {
    for (std::size_t backlog : {std::size_t{1}, std::size_t{4}}) {
      INFO(os.name() << ", stamp_backlog " << backlog);
      fixture f;
      ssmem::options o = os.options();
      o.stamp_backlog = backlog;
      allocator a(f.d, *f.me, 16, o);
      held_back_model m(os, backlog);
      // Frees and releases interleaved (`other` never moves: the first stamp stays pending),
      // until well past the backlog: every seal is checked against the model.
      const std::size_t total = (backlog + 2) * os.batch() + 3 * os.free_set;
      objects pool(a, total);
      for (std::size_t i = 0; i < total; ++i) {
        pool.free_one();
        m.free_one();
        check_counters(a, m);
        if (i % 7 == 3) {  // a release now and then: its entries count two objects each
          a.release(system_object());
          m.release_one();
          check_counters(a, m);
        }
      }
      CHECK(m.deferred > 0);
      CHECK(m.yields > 0);
      CHECK(a.stats().returned == 0);  // nothing collected while `other` holds the stamp back
      CHECK(a.stats().collected == 0);
      // (blocking_slot looks at stamped free sets only: none when the first stamp took a
      // release set alone.)
      if (a.stats().pending_sets != 0) {
        CHECK(a.stats().blocking_slot == static_cast<long long>(f.other->index()));
      }
    }
  }
}

TEST_CASE("release entries count two objects each towards a batch, and a stamp takes the partial release set") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    objects pool(a, 2 * os.batch() + os.free_set);
    // Releases first: k full release sets and one partial entry.
    const std::size_t k = os.batch() / os.release_set / 4;
    std::size_t released = 0;
    for (std::size_t i = 0; i < k * os.release_set; ++i) {
      a.release(system_object());
      ++released;
    }
    const std::size_t due = os.stamp_batch * os.free_set;
    if (k > 0 && 2 * k * os.release_set >= due) {
      CHECK(a.stats().stamps == 1);  // stamp_batch 0: the first full release set
      continue;
    }
    CHECK(a.stats().stamps == 0);
    CHECK(a.stats().unstamped == k * os.release_set);
    if (os.release_set > 1) {
      a.release(system_object());  // stays in the filling release set
      ++released;
    }
    // Frees until the stamp: the free sets fill what the release sets leave of the batch.
    std::size_t frees = 0;
    while (a.stats().stamps == 0) {
      pool.free_one();
      ++frees;
    }
    // stamp_batch 0: the first full free set; else the free sets that complete the batch.
    const std::size_t missing = due - 2 * k * os.release_set;
    const std::size_t sets = missing == 0 ? 1 : (missing + os.free_set - 1) / os.free_set;
    CHECK(frees == sets * os.free_set);
    CHECK(a.stats().unstamped == 0);
    // The partial release set went with the stamp: the next batch's probe gives everything
    // back (nothing was released since the stamp, so nothing is kept).
    f.other->bump();
    while (a.stats().stamps == 1) pool.free_one();
    CHECK(a.stats().returned == released);
    CHECK(a.stats().release_pending == 0);
  }
}

TEST_CASE("a collection keeps as many collected releases as releases since the last stamp, and gives back the rest at once") {
  int ran = 0;
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    // n1 entries, all stamped by the first stamp, which a batch of frees brings: only where
    // their full release sets stay below a batch (else they bring the stamp themselves).
    const std::size_t n1 = os.release_set < 8 ? 8 : os.release_set + 5;
    if (2 * (n1 / os.release_set * os.release_set) + 2 >= os.stamp_batch * os.free_set) continue;
    ++ran;
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    objects pool(a, 3 * os.batch() + 2 * os.free_set);
    for (std::size_t i = 0; i < n1; ++i) a.release(system_object());
    CHECK(a.stats().stamps == 0);
    while (a.stats().stamps == 0) pool.free_one();
    REQUIRE(a.stats().release_pending == n1);
    REQUIRE(a.stats().unstamped == 0);
    // k releases after the stamp (fewer than a release set: they wait in the filling set,
    // unless a set of 1 seals them: then they wait unstamped, which a batch may not reach).
    f.other->bump();
    const std::size_t k = 2;
    for (std::size_t i = 0; i < k; ++i) a.release(system_object());
    const std::uint64_t probes = a.stats().probes;
    const std::uint64_t before = a.stats().returned;
    CHECK(before == 0);  // no probe yet (a release set of 1 may seal, but no batch is due)
    while (a.stats().probes == probes) pool.free_one();
    // The probe collected the n1 entries: k are kept (releases since the last stamp), the
    // rest went back at once.
    CHECK(a.stats().returned == n1 - k);
    // Then one per release.
    a.release(system_object());
    CHECK(a.stats().returned == n1 - k + 1);
  }
  CHECK(ran >= 5);  // the sets where the scenario fits (counted, so that the test has teeth)
}

TEST_CASE("released memory all goes back while the program only frees (release_pending reaches 0)") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    objects pool(a, 8 * os.batch() + 4 * os.free_set);
    // A mix: frees and releases, `other` moving on all the time.
    std::uint64_t rng = 12345;
    for (std::size_t i = 0; i < 2 * os.batch() + os.free_set / 2 + 1; ++i) {
      f.other->bump();
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      if ((rng >> 33) % 3 == 0) {
        a.release(system_object());
      } else {
        pool.free_one();
      }
    }
    // Some releases after the last stamp, so that the next collection keeps some back.
    for (std::size_t i = 0; i < 2; ++i) a.release(system_object());
    REQUIRE(a.stats().release_pending > 0);
    // Now only frees: within three batches every released object is back.
    std::size_t frees = 0;
    while (a.stats().release_pending != 0 && frees < 3 * os.batch() + os.free_set) {
      f.other->bump();
      pool.free_one();
      ++frees;
    }
    CHECK(a.stats().release_pending == 0);
    CHECK(a.stats().returned == a.stats().released);
    CHECK(frees <= 3 * os.batch());
  }
}

TEST_CASE("freed objects all become reusable while the program only releases (only the filling set waits)") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    objects pool(a, 2 * os.batch() + os.free_set + 3);
    for (std::size_t i = 0; i < os.batch() + os.free_set + 3; ++i) {
      f.other->bump();
      pool.free_one();
      if (i % 5 == 0) a.release(system_object());
    }
    const std::size_t filling = a.filling_set() != nullptr ? a.filling_set()->count() : 0;
    std::size_t releases = 0;
    const std::size_t limit = 3 * os.batch() + 3 * os.release_set;
    while (a.stats().collected + filling != a.stats().freed && releases < limit) {
      f.other->bump();
      a.release(system_object());
      ++releases;
    }
    CHECK(a.stats().collected + filling == a.stats().freed);
    CHECK(a.stats().pending == filling);
  }
}

TEST_CASE("while every thread moves on, pending objects stay below 2B + 3f and releases below r + 3(B + r)") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 16, os.options());
    const std::size_t B = os.batch(), fs = os.free_set, r = os.release_set;
    std::vector<void*> live;
    std::uint64_t rng = 99;
    std::size_t max_pending = 0, max_release_pending = 0;
    for (std::size_t i = 0; i < 6 * B + 4 * fs; ++i) {
      f.other->bump();
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      const unsigned op = static_cast<unsigned>((rng >> 33) % 8);
      if (op < 4 || live.empty()) {
        live.push_back(a.allocate());
      } else if (op < 7) {
        a.deallocate(live.back());
        live.pop_back();
      } else {
        a.release(system_object());
      }
      const ssmem::allocator_stats s = a.stats();
      if (s.pending > max_pending) max_pending = s.pending;
      if (s.release_pending > max_release_pending) max_release_pending = s.release_pending;
    }
    CHECK(max_pending < 2 * B + 3 * fs);
    CHECK(max_release_pending < r + 3 * (B + r));
    for (void* p : live) a.deallocate(p);
  }
}

TEST_CASE("a reused object is zeroed with zero_memory, from every position of a collected set") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    ssmem::options o = os.options();
    o.zero_memory = true;
    allocator a(f.d, *f.me, 32, o);
    const std::size_t n = os.batch() + os.free_set;
    std::vector<void*> v;
    for (std::size_t i = 0; i < n; ++i) {
      v.push_back(a.allocate());
      std::memset(v.back(), 0x5a, 32);
    }
    for (void* p : v) a.deallocate(p);  // the first batch is stamped
    f.other->bump();
    std::vector<void*> w;
    while (a.stats().collected == 0) {  // the next batch's probe collects the first
      w.push_back(a.allocate());
      std::memset(w.back(), 0x5a, 32);
      a.deallocate(w.back());
    }
    const std::uint64_t reusable = a.stats().reusable;
    REQUIRE(reusable >= os.batch());
    for (std::uint64_t i = 0; i < reusable; ++i) {
      auto* p = static_cast<unsigned char*>(a.allocate());
      bool zero = true;
      for (int j = 0; j < 32; ++j) zero = zero && p[j] == 0;
      REQUIRE_MESSAGE(zero, "reused object " << i << " of " << reusable << " is not zeroed");
    }
    CHECK(a.stats().reused == reusable);
  }
}

TEST_CASE("a reused object is writable at once from every position of a collected set (poisoned until handed out)") {
  for (const option_set& os : option_sets()) {
    INFO(os.name());
    fixture f;
    allocator a(f.d, *f.me, 48, os.options());
    std::vector<void*> v;
    for (std::size_t i = 0; i < os.batch() + os.free_set; ++i) v.push_back(a.allocate());
    for (void* p : v) a.deallocate(p);
    f.other->bump();
    while (a.stats().collected == 0) a.deallocate(a.allocate());
    const std::uint64_t reusable = a.stats().reusable;
    REQUIRE(reusable >= os.batch());
#if SSMEM_HAS_ASAN
    CHECK(__asan_address_is_poisoned(v.front()));
#endif
    for (std::uint64_t i = 0; i < reusable; ++i) {
      void* p = a.allocate();
#if SSMEM_HAS_ASAN
      REQUIRE_MESSAGE(__asan_region_is_poisoned(p, 48) == nullptr,
                      "reused object " << i << " of " << reusable << " is still poisoned");
#endif
      std::memset(p, 0x77, 48);  // under ASan, a poisoned byte would be reported here
    }
  }
}

TEST_CASE("every allocation and free bumps as the timestamp policy says, on the fast and the slow paths") {
  struct row {
    ssmem::ts_policy p;
    int on_alloc, on_free;
  };
  for (const option_set& os : option_sets()) {
    for (row w : {row{ssmem::ts_policy::none, 0, 0}, row{ssmem::ts_policy::both, 2, 2},
                  row{ssmem::ts_policy::on_alloc, 2, 0}, row{ssmem::ts_policy::on_free, 0, 2}}) {
      INFO(os.name() << ", policy " << static_cast<int>(w.p));
      fixture f;
      ssmem::options o = os.options();
      o.bump_on = w.p;
      allocator a(f.d, *f.me, 16, o);
      // Fresh objects, frees that fill sets, reuse of collected sets (from their tops to their
      // last objects) and releases: every path of allocate(), deallocate() and release().
      std::vector<void*> live;
      for (std::size_t round = 0; round < 3; ++round) {
        std::size_t wrong = 0;  // steps that bumped otherwise (one assertion per round)
        for (std::size_t i = 0; i < os.batch() + os.free_set; ++i) {
          const ssmem::version_t v = f.me->own_version();
          live.push_back(a.allocate());
          wrong += f.me->own_version() != v + w.on_alloc;
        }
        while (!live.empty()) {
          // Every thread moves on before each free (outside the measured step), so that each
          // due batch collects the last one and the next round reuses it.
          f.other->bump();
          if (w.on_free == 0) f.me->bump();
          const ssmem::version_t v = f.me->own_version();
          a.deallocate(live.back());
          live.pop_back();
          wrong += f.me->own_version() != v + w.on_free;
          if (live.size() % 97 == 0) {
            const ssmem::version_t u = f.me->own_version();
            a.release(system_object());  // a release is a free step
            wrong += f.me->own_version() != u + w.on_free;
          }
        }
        CHECK_MESSAGE(wrong == 0, "round " << round);
      }
      CHECK(a.stats().reused > 0);
    }
  }
}
