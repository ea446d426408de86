// Unit tests of the allocator: collection rule, reuse, chunks, release path, timestamp
// policies and statistics. "Other threads" are extra records of the same domain whose
// versions the test moves by hand, so every interleaving here is deterministic.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "ssmem/allocator.hpp"
#include "ssmem/native_policy.hpp"

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

ssmem::options small(std::size_t fs = 2) {
  ssmem::options o;
  o.free_set_size = fs;
  o.stamp_batch = 0;  // every full set is due for a stamp at once, as in the original (batches: below)
  o.chunk_size = 4096;
  return o;
}
}  // namespace

TEST_CASE("a free set is collected only when every online thread has moved on") {
  fixture f;
  allocator a(f.d, *f.me, 16, small(2));
  std::vector<void*> objs;
  for (int i = 0; i < 6; ++i) objs.push_back(a.allocate());
  a.deallocate(objs[0]);
  a.deallocate(objs[1]);  // set 1 full: stamped with other's version v
  a.deallocate(objs[2]);
  a.deallocate(objs[3]);  // set 2 full; a probe finds set 1 held back: its stamp is put off
  CHECK(a.stats().collected == 0);
  CHECK(a.stats().pending_sets == 1);
  CHECK(a.stats().unstamped == 2);
  CHECK(a.stats().deferred == 1);
  CHECK(a.stats().stamps == 1);
  f.other->bump();        // the other thread moves on
  a.deallocate(objs[4]);
  a.deallocate(objs[5]);  // set 3 full: the probe collects set 1, then sets 2 and 3 are stamped
  CHECK(a.stats().collected == 2);
  CHECK(a.stats().probes == 2);
  CHECK(a.stats().stamps == 2);
  CHECK(a.stats().pending_sets == 2);  // a set is never collected by its own stamp
  CHECK(a.stats().unstamped == 0);
  std::set<void*> first2(objs.begin(), objs.begin() + 2);
  for (int i = 0; i < 2; ++i) CHECK(first2.count(a.allocate()) == 1);  // reused
  CHECK(a.stats().reused == 2);
  f.other->bump();
  for (int i = 0; i < 2; ++i) a.deallocate(a.allocate());  // set 4 full: probe collects 2 and 3
  CHECK(a.stats().collected == 6);
}

TEST_CASE("full sets wait for a batch, and one heavy fence and snapshot stamp them all") {
  fixture f;
  ssmem::options o = small(2);
  o.stamp_batch = 3;  // 3 sets' worth: 6 objects
  allocator a(f.d, *f.me, 16, o);
  std::vector<void*> objs;
  for (int i = 0; i < 12; ++i) objs.push_back(a.allocate());
  for (int i = 0; i < 4; ++i) a.deallocate(objs[i]);
  CHECK(a.stats().stamps == 0);  // two full sets, 4 objects < 6: they wait
  CHECK(a.stats().unstamped == 4);
  CHECK(a.stats().pending == 4);
  for (int i = 4; i < 6; ++i) a.deallocate(objs[i]);
  CHECK(a.stats().stamps == 1);  // the third set completes the batch: one stamp for three
  CHECK(a.stats().pending_sets == 3);
  CHECK(a.stats().unstamped == 0);
  const auto* s = a.pending_front();
  REQUIRE(s != nullptr);
  for (const auto* t = s->next(); t != nullptr; t = t->next()) {
    REQUIRE(t->clock().size() == s->clock().size());
    for (std::size_t i = 0; i < s->clock().size(); ++i) CHECK(t->clock()[i] == s->clock()[i]);
    CHECK(t->stamp_seq() == s->stamp_seq());
  }
  f.other->bump();
  for (int i = 6; i < 12; ++i) a.deallocate(objs[i]);  // next batch: the probe collects all three
  CHECK(a.stats().collected == 6);
  CHECK(a.stats().stamps == 2);
}

TEST_CASE("an idle online thread defers stamps (no heavy fence) until it moves on") {
  fixture f;
  ssmem::options o = small(1);
  allocator a(f.d, *f.me, 16, o);
  std::vector<void*> objs;
  for (int i = 0; i < 40; ++i) objs.push_back(a.allocate());
  for (int i = 0; i < 39; ++i) a.deallocate(objs[i]);
  CHECK(a.stats().stamps == 1);  // only the first set; the other 38 wait unstamped
  CHECK(a.stats().deferred == 38);
  // From 4 waiting sets on (stamp_backlog 4 batches of one set), each deferral yields once.
  CHECK(a.stats().yields == 35);
  CHECK(a.stats().collected == 0);
  CHECK(a.stats().blocking_slot == static_cast<long long>(f.other->index()));
  f.other->bump();
  a.deallocate(objs[39]);  // collects the first set, stamps the 39 others with one snapshot
  CHECK(a.stats().collected == 1);
  CHECK(a.stats().stamps == 2);
  CHECK(a.stats().pending_sets == 39);
}

TEST_CASE("free and release sets of one batch share its stamp, and its collection") {
  fixture f;
  ssmem::options o = small(1);
  o.release_set_size = 1;
  o.stamp_batch = 3;  // a batch: 3 objects, a release entry counting as two
  allocator a(f.d, *f.me, 16, o);
  void* p = a.allocate();
  void* q = a.allocate();
  void* r = a.allocate();
  void* t = a.allocate();
  a.release(std::malloc(8));
  CHECK(a.stats().stamps == 0);
  a.deallocate(p);  // one free set + one release set: the batch is complete
  CHECK(a.stats().stamps == 1);
  CHECK(a.stats().pending_sets == 1);
  CHECK(a.stats().release_pending == 1);
  f.other->bump();
  a.deallocate(q);
  a.deallocate(r);
  CHECK(a.stats().collected == 0);
  a.deallocate(t);  // the next batch's probe collects both
  CHECK(a.stats().collected == 1);
  CHECK(a.stats().returned == 1);
  CHECK(a.stats().stamps == 2);
}

TEST_CASE("by default a stamp covers 32 free sets' worth of objects, or 16 of released ones") {
  fixture f;
  ssmem::options o;
  CHECK(o.stamp_batch == 32);
  o.chunk_size = 1 << 20;
  allocator a(f.d, *f.me, 16, o);
  std::vector<void*> objs;
  for (int i = 0; i < 6 * 4096; ++i) objs.push_back(a.allocate());
  std::size_t freed = 0;
  while (a.stats().stamps == 0 && freed < objs.size()) a.deallocate(objs[freed++]);
  CHECK(freed == 32 * o.free_set_size);  // the 32nd full set brings the first stamp
  // Releases: an entry counts as two objects, so 16 free sets' worth of entries (in full
  // release sets of 64) make the next batch.
  allocator r(f.d, *f.me, 16, o);
  std::size_t released = 0;
  while (r.stats().stamps == 0 && released < 64 * o.free_set_size) {
    r.release(std::malloc(16));
    ++released;
  }
  const std::size_t due = 16 * o.free_set_size;  // 8,112 entries
  CHECK(released == (due + o.release_set_size - 1) / o.release_set_size * o.release_set_size);
}

TEST_CASE("an offline thread does not block collection") {
  fixture f;
  allocator a(f.d, *f.me, 16, small(1));
  f.other->go_offline();
  void* p = a.allocate();
  void* q = a.allocate();
  a.deallocate(p);
  a.deallocate(q);
  CHECK(a.stats().collected == 1);
  CHECK(a.allocate() == p);
  f.other->go_online();
}

TEST_CASE("a thread that comes online after a stamp does not block that set") {
  fixture f;
  f.other->go_offline();
  allocator a(f.d, *f.me, 16, small(1));
  void* p = a.allocate();
  void* q = a.allocate();
  a.deallocate(p);        // stamped with other offline
  f.other->go_online();   // comes back, never bumps
  a.deallocate(q);
  CHECK(a.stats().collected == 1);
}

TEST_CASE("the owner's own version must move too (explicit-only policy)") {
  fixture f;
  ssmem::options o = small(1);
  o.bump_on = ssmem::ts_policy::none;
  allocator a(f.d, *f.me, 16, o);
  void* p = a.allocate();
  void* q = a.allocate();
  void* r = a.allocate();
  f.other->bump();
  a.deallocate(p);
  f.other->bump();
  a.deallocate(q);
  CHECK(a.stats().collected == 0);  // we never said we hold no references
  f.me->bump();                     // SSMEM_SAFE_TO_RECLAIM()
  f.other->bump();
  a.deallocate(r);
  CHECK(a.stats().collected == 1);  // p's set; q's stamp was put off, it is stamped with r's
  f.me->bump();
  f.other->bump();
  void* s = a.allocate();
  a.deallocate(s);
  CHECK(a.stats().collected == 3);
}

TEST_CASE("timestamp policies bump on the documented operations only") {
  struct row {
    ssmem::ts_policy p;
    int on_alloc, on_free;
  };
  for (row w : {row{ssmem::ts_policy::none, 0, 0}, row{ssmem::ts_policy::both, 2, 2},
                row{ssmem::ts_policy::on_alloc, 2, 0}, row{ssmem::ts_policy::on_free, 0, 2}}) {
    fixture f;
    ssmem::options o = small(4);
    o.bump_on = w.p;
    allocator a(f.d, *f.me, 16, o);
    ssmem::version_t v0 = f.me->own_version();
    void* p = a.allocate();
    CHECK(f.me->own_version() == v0 + w.on_alloc);
    a.deallocate(p);
    CHECK(f.me->own_version() == v0 + w.on_alloc + w.on_free);
  }
}

TEST_CASE("chunks double up to the cap, and stay fixed without doubling") {
  fixture f;
  ssmem::options o;
  o.chunk_size = 4096;
  o.chunk_size_max = 16384;
  o.chunk_doubling = true;
  {
    allocator a(f.d, *f.me, 64, o);
    std::size_t expect_bytes = 0, sizes[] = {4096, 8192, 16384, 16384, 16384};
    for (std::size_t c = 0; c < 5; ++c) {
      while (a.stats().chunks == c) (void)a.allocate();
      expect_bytes += sizes[c];
      CHECK(a.stats().bytes_reserved == expect_bytes);
    }
  }
  o.chunk_doubling = false;
  {
    allocator a(f.d, *f.me, 64, o);
    while (a.stats().chunks < 3) (void)a.allocate();
    CHECK(a.stats().bytes_reserved == 3 * 4096);
  }
}

TEST_CASE("an object larger than a chunk still gets a chunk that fits it") {
  fixture f;
  allocator a(f.d, *f.me, 10000, small());
  void* p = a.allocate();
  REQUIRE(p != nullptr);
  std::memset(p, 0xab, 10000);
  CHECK(a.stats().bytes_reserved >= 10000);
}

TEST_CASE("allocation failure returns nullptr and leaves the allocator usable") {
  fixture f;
  ssmem::options o;
  o.chunk_size = 4096;
  o.chunk_doubling = false;
  allocator a(f.d, *f.me, std::size_t{1} << 62, o);  // no system can map one such object
  CHECK(a.allocate() == nullptr);
  CHECK(a.stats().allocated == 0);
  CHECK(a.stats().chunks == 0);
}

// The native policy, except that chunks above `map_limit` bytes cannot be mapped (as when
// the address space runs out); counts the attempts.
struct limited_policy : ssmem::native_policy {
  static inline std::size_t map_limit = 0;
  static inline int map_attempts = 0;
  static void* map_chunk(std::size_t bytes, bool huge_pages) noexcept {
    ++map_attempts;
    return bytes > map_limit ? nullptr : ssmem::native_policy::map_chunk(bytes, huge_pages);
  }
};

TEST_CASE("a chunk that cannot be mapped falls back to smaller ones, down to one object") {
  ssmem::basic_domain<limited_policy> d;
  auto* me = d.register_thread();
  {
    limited_policy::map_limit = std::size_t{1} << 20;
    limited_policy::map_attempts = 0;
    ssmem::options o;
    o.chunk_size = std::size_t{64} << 20;
    ssmem::basic_allocator<limited_policy> a(d, *me, 64, o);
    REQUIRE(a.allocate() != nullptr);
    CHECK(limited_policy::map_attempts == 7);  // 64, 32, 16, 8, 4, 2, 1 MiB
    CHECK(a.stats().bytes_reserved == std::size_t{1} << 20);
    // The next chunk starts from the size that worked (one attempt, not seven).
    std::size_t per_chunk = ((std::size_t{1} << 20) - 64) / 64;
    for (std::size_t i = 1; i < per_chunk; ++i) REQUIRE(a.allocate() != nullptr);
    CHECK(a.stats().chunks == 1);
    limited_policy::map_attempts = 0;
    REQUIRE(a.allocate() != nullptr);
    CHECK(limited_policy::map_attempts == 1);
    CHECK(a.stats().chunks == 2);
    // Down to what one object needs (64 B header + 64 B object), and no further.
    limited_policy::map_limit = 128;
    std::size_t left = ((std::size_t{1} << 20) - 64) / 64 - 1;
    for (std::size_t i = 0; i < left; ++i) REQUIRE(a.allocate() != nullptr);
    REQUIRE(a.allocate() != nullptr);
    CHECK(a.stats().bytes_reserved == (std::size_t{2} << 20) + 128);
    limited_policy::map_limit = 127;
    CHECK(a.allocate() == nullptr);
  }
  d.unregister_thread(me);
}

TEST_CASE("fresh objects are zero, and reused ones too with zero_memory") {
  fixture f;
  for (bool zero : {false, true}) {
    ssmem::options o = small(1);
    o.zero_memory = zero;
    allocator a(f.d, *f.me, 32, o);
    auto* p = static_cast<unsigned char*>(a.allocate());
    for (int i = 0; i < 32; ++i) CHECK(p[i] == 0);
    std::memset(p, 0x5a, 32);
    void* q = a.allocate();
    a.deallocate(p);
    f.other->bump();
    a.deallocate(q);  // collects p
    REQUIRE(a.stats().collected == 1);
    auto* r = static_cast<unsigned char*>(a.allocate());
    REQUIRE(r == p);
    CHECK((r[0] == 0) == zero);
  }
}

TEST_CASE("released memory goes back to the system only after every thread moved on") {
  fixture f;
  ssmem::options o = small(4);
  o.release_set_size = 1;
  allocator a(f.d, *f.me, 16, o);
  a.release(std::malloc(100));  // release set 1 stamped
  a.release(std::malloc(100));  // other has not moved: nothing returned
  CHECK(a.stats().returned == 0);
  CHECK(a.stats().release_pending == 2);
  f.other->bump();
  a.release(std::malloc(100));  // probe: set 1 returned; sets 2 and 3 stamped together
  CHECK(a.stats().returned == 1);
  CHECK(a.stats().release_pending == 2);
  f.other->bump();
  a.release(std::malloc(100));  // probe: sets 2 and 3 returned
  CHECK(a.stats().returned == 3);
  a.release(nullptr);           // no-op
  CHECK(a.stats().released == 4);
}  // the destructor returns the last one (LeakSanitizer checks it in sanitizer builds)

namespace {
// A deleter that records what it was given, in order.
struct deleter_log {
  std::vector<std::pair<void*, int>> calls;
  static void note(void* obj, void* ctx) noexcept {
    auto* self = static_cast<deleter_log*>(ctx);
    self->calls.emplace_back(obj, *static_cast<int*>(obj));
    std::free(obj);
  }
};
int* make_int(int v) {
  auto* p = static_cast<int*>(std::malloc(sizeof(int)));
  *p = v;
  return p;
}
}  // namespace

TEST_CASE("a retired object's deleter runs only after every thread moved on") {
  fixture f;
  ssmem::options o = small(4);
  o.release_set_size = 1;
  allocator a(f.d, *f.me, 16, o);
  deleter_log log;
  int* x = make_int(1);
  a.retire(x, &deleter_log::note, &log);  // release set 1 stamped
  a.retire(make_int(2), &deleter_log::note, &log);  // other has not moved: nothing runs
  CHECK(log.calls.empty());
  CHECK(a.stats().release_pending == 2);
  f.other->bump();
  a.release(std::malloc(8));  // probe: set 1 given back, its deleter runs; a plain release mixes in
  REQUIRE(log.calls.size() == 1);
  CHECK(log.calls[0].first == x);
  CHECK(log.calls[0].second == 1);  // the object was intact when the deleter got it
  CHECK(a.stats().returned == 1);
  a.retire(nullptr, &deleter_log::note, &log);  // no-op
  a.retire(make_int(3), nullptr, nullptr);      // no deleter: released to the system
  CHECK(a.stats().released == 4);
  f.other->bump();
  a.release(std::malloc(8));
  CHECK(log.calls.size() == 2);
  CHECK(log.calls[1].second == 2);
}  // the destructor runs the rest (LeakSanitizer checks that nothing is lost)

TEST_CASE("the destructor runs the deleters of objects still waiting") {
  deleter_log log;
  {
    fixture f;
    ssmem::options o = small(4);
    o.release_set_size = 2;
    allocator a(f.d, *f.me, 16, o);
    a.retire(make_int(5), &deleter_log::note, &log);  // still in the filling release set
    CHECK(log.calls.empty());
  }
  REQUIRE(log.calls.size() == 1);
  CHECK(log.calls[0].second == 5);
}

namespace {
struct own_retire_ctx {
  allocator* a;
  int runs = 0;
  static void run(void* obj, void* ctx) noexcept {
    auto* self = static_cast<own_retire_ctx*>(ctx);
    ++self->runs;
    self->a->reuse_retired(obj);
  }
};
}  // namespace

TEST_CASE("an own object retired with a deleter is reusable right after its deleter ran") {
  fixture f;
  ssmem::options o = small(4);
  o.release_set_size = 1;
  own_retire_ctx ctx{nullptr};  // outlives the allocator, whose destructor runs q's deleter
  allocator a(f.d, *f.me, 16, o);
  ctx.a = &a;
  void* p = a.allocate();
  a.retire_own(p, &own_retire_ctx::run, &ctx);
  CHECK(ctx.runs == 0);
  void* q = a.allocate();
  CHECK(q != p);  // not reusable before the grace period
  f.other->bump();
  a.retire_own(q, &own_retire_ctx::run, &ctx);  // probe: p's set given back
  CHECK(ctx.runs == 1);
  CHECK(a.stats().collected == 1);
  CHECK(a.allocate() == p);  // reused at once, no second grace period
}

TEST_CASE("a full free set also returns released memory that its stamp dominates") {
  fixture f;
  ssmem::options o = small(1);
  o.release_set_size = 1;
  allocator a(f.d, *f.me, 16, o);
  void* p = a.allocate();
  a.release(std::malloc(8));
  f.other->bump();
  a.deallocate(p);  // free-set stamp newer than the release stamp
  CHECK(a.stats().returned == 1);
}

TEST_CASE("statistics count allocations, frees, pending and reusable objects") {
  fixture f;
  allocator a(f.d, *f.me, 20, small(3));
  std::vector<void*> v;
  for (int i = 0; i < 7; ++i) v.push_back(a.allocate());
  auto s = a.stats();
  CHECK(s.object_size == 24);  // rounded up to a multiple of 8
  CHECK(s.allocated == 7);
  for (int i = 0; i < 4; ++i) a.deallocate(v[i]);
  s = a.stats();
  CHECK(s.freed == 4);
  CHECK(s.pending == 4);
  CHECK(s.pending_sets == 1);
  f.other->bump();
  for (int i = 4; i < 7; ++i) a.deallocate(v[i]);
  s = a.stats();
  CHECK(s.collected == 3);
  CHECK(s.reusable == 3);
  CHECK(s.pending == 4);
  a.deallocate(nullptr);  // no-op
  CHECK(a.stats().freed == 7);
}

TEST_CASE("the C API's sized form fixes the object size on first use") {
  fixture f;
  allocator a(f.d, *f.me, 0, small());
  void* p = a.allocate(std::size_t{12});
  CHECK(p != nullptr);
  CHECK(a.object_size() == 16);
  if constexpr (!ssmem::detail::checked) {  // the checked build aborts instead (checked_test)
    CHECK(a.allocate(std::size_t{16}) != nullptr);
    CHECK(a.allocate(std::size_t{17}) == nullptr);  // larger than the objects it holds
  }
}

#if SSMEM_HAS_ASAN
TEST_CASE("under ASan a collected object is poisoned until it is handed out again") {
  fixture f;
  allocator a(f.d, *f.me, 32, small(1));
  void* p = a.allocate();
  void* q = a.allocate();
  CHECK_FALSE(__asan_address_is_poisoned(p));
  a.deallocate(p);
  CHECK_FALSE(__asan_address_is_poisoned(p));  // freed: other threads may still read it
  f.other->bump();
  a.deallocate(q);  // p's set is collected: nobody may read p any more
  REQUIRE(a.stats().collected == 1);
  CHECK(__asan_address_is_poisoned(p));
  CHECK(__asan_address_is_poisoned(static_cast<char*>(p) + 31));
  CHECK(a.allocate() == p);
  CHECK_FALSE(__asan_address_is_poisoned(p));
}
#endif

TEST_CASE("after a put-off stamp the next try waits for one more free set's worth of objects") {
  fixture f;
  ssmem::options o = small(4);
  o.stamp_batch = 1;       // a batch: 4 objects, i.e. 2 release entries (each counts as two)
  o.release_set_size = 1;  // small release sets: a seal at every release
  allocator a(f.d, *f.me, 16, o);
  a.release(std::malloc(8));
  CHECK(a.stats().stamps == 0);
  a.release(std::malloc(8));
  CHECK(a.stats().stamps == 1);
  for (int i = 0; i < 2; ++i) a.release(std::malloc(8));  // due: the probe finds `other` idle
  CHECK(a.stats().probes == 1);
  CHECK(a.stats().deferred == 1);
  a.release(std::malloc(8));  // not yet due again (6 of 8): no probe
  CHECK(a.stats().probes == 1);
  a.release(std::malloc(8));  // a free set's worth more: due again
  CHECK(a.stats().probes == 2);
  CHECK(a.stats().deferred == 2);
  f.other->bump();
  a.release(std::malloc(8));
  CHECK(a.stats().probes == 2);
  a.release(std::malloc(8));  // due: the probe collects, then one stamp
  CHECK(a.stats().stamps == 2);
  // Releases keep coming, so the 2 collected go back one per release (the next test).
  CHECK(a.stats().returned == 1);
  a.release(std::malloc(8));
  CHECK(a.stats().returned == 2);
}

TEST_CASE("collected releases go back one per release while releases come, the rest at the next collection") {
  fixture f;
  ssmem::options o = small(8);
  o.stamp_batch = 1;       // a batch: 8 objects, i.e. 4 release entries
  o.release_set_size = 2;
  allocator a(f.d, *f.me, 16, o);
  for (int i = 0; i < 4; ++i) a.release(std::malloc(8));  // two release sets, stamped
  CHECK(a.stats().stamps == 1);
  f.other->bump();
  for (int i = 0; i < 4; ++i) a.release(std::malloc(8));  // the 4th: the probe collects 4
  CHECK(a.stats().stamps == 2);
  CHECK(a.stats().returned == 1);         // one at the collecting release...
  CHECK(a.stats().release_pending == 7);  // ...3 collected still held, 4 stamped
  a.release(std::malloc(8));
  a.release(std::malloc(8));
  CHECK(a.stats().returned == 3);  // ...and one per release after it
  f.other->bump();
  a.release(std::malloc(8));
  a.release(std::malloc(8));  // due: the probe gives back what is left, then collects 4 more
  CHECK(a.stats().stamps == 3);
  CHECK(a.stats().returned == 5);
  CHECK(a.stats().release_pending == 7);
}  // the destructor gives back the rest (LeakSanitizer checks it)

TEST_CASE("a stamp takes the release set that is not full yet: a rare release waits for no more") {
  fixture f;
  ssmem::options o = small(2);
  o.stamp_batch = 1;  // a batch: 2 objects
  CHECK(o.release_set_size == 64);  // the default
  allocator a(f.d, *f.me, 16, o);
  a.release(std::malloc(8));  // one release: its set is far from full
  a.deallocate(a.allocate());
  a.deallocate(a.allocate());  // a free set fills: the batch is due and is stamped
  CHECK(a.stats().stamps == 1);
  CHECK(a.stats().unstamped == 0);
  f.other->bump();
  a.deallocate(a.allocate());
  a.deallocate(a.allocate());  // the next batch's probe collects the release with the free set
  CHECK(a.stats().returned == 1);
  CHECK(a.stats().release_pending == 0);
}

TEST_CASE("the thread holding back a stamped release set is named when no free set waits") {
  fixture f;
  ssmem::options o = small(1);
  o.release_set_size = 1;
  allocator a(f.d, *f.me, 16, o);
  f.other->set_label(42);
  a.release(std::malloc(16));  // a full release set: stamped at once
  CHECK(a.stats().pending_sets == 0);  // no free set waits
  CHECK(a.stats().release_pending == 1);
  CHECK(a.stats().blocking_slot == static_cast<long long>(f.other->index()));
  CHECK(a.stats().blocking_label == 42);
  f.other->bump();
  f.me->bump();
  a.release(std::malloc(16));  // the probe collects the first one
  CHECK(a.stats().returned == 1);
  f.other->set_label(-1);
}
