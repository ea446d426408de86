// Destructors and deleters that touch the object (issue 20). The test types here check, in
// their destructor or deleter, that the object is as it was built (a tag and a payload) and
// then write it, as real destructors do (unlink fields, scrub keys, free buffers). So a
// destructor that runs twice, or on an object that was already handed out again, sees a bad
// tag; and one that runs on memory the allocator has already made reusable -- poisoned under
// AddressSanitizer, which this test is built with -- is reported as a use-after-poison. The
// option sets are the defaults and smaller ones (free sets of 507 and 5, release sets of 64, 3
// and 1, stamp_batch 8, 1 and 0), so that collected release sets hold many entries and
// collected free sets keep objects after a pop.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "ssmem/ssmem.hpp"

namespace {

// A checked object: its destructor counts an object that is not as built, then scrubs it.
struct tagged {
  static constexpr std::uint64_t alive = 0x5157'4ad6'1e5a'11feull;
  static constexpr std::uint64_t dead = 0xdeadull;
  static inline long destroyed = 0;
  static inline long bad = 0;  // destructors that found the object not as built
  static inline std::set<const void*>* watched = nullptr;  // retired, not destroyed yet
  std::uint64_t tag = alive;
  std::uint64_t payload[5];
  explicit tagged(std::uint64_t v) noexcept {
    for (std::uint64_t i = 0; i < 5; ++i) payload[i] = v * 7 + i;
  }
  bool intact() const noexcept {
    if (tag != alive) return false;
    for (std::uint64_t i = 1; i < 5; ++i) {
      if (payload[i] != payload[0] + i) return false;
    }
    return true;
  }
  ~tagged() {
    if (!intact()) ++bad;
    ++destroyed;
    if (watched != nullptr) watched->erase(this);
    tag = dead;
    std::memset(payload, 0xdd, sizeof payload);
  }
};

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
    return o;
  }
  std::size_t batch() const { return (stamp_batch != 0 ? stamp_batch : 1) * free_set; }
};

const option_set option_sets[] = {{507, 64, 16}, {5, 3, 1}, {5, 1, 0}, {507, 3, 0}};

}  // namespace

TEST_CASE("a retired pool object's destructor runs once, on the intact object, after the grace period; then the memory is reused") {
  for (const option_set& os : option_sets) {
    INFO(os.name());
    ssmem::domain d;
    ssmem::thread_scope me(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);  // stands for a reader thread
    const long destroyed0 = tagged::destroyed, bad0 = tagged::bad;
    {
      ssmem::object_pool<tagged> pool(me, os.options());
      // Three batches' worth of objects, retired while the reader holds them (it has not
      // moved on): none may be destroyed yet.
      const std::size_t n = 3 * os.batch() + os.release_set + 1;
      std::vector<tagged*> objs;
      std::set<const void*> retired, waiting;
      for (std::size_t i = 0; i < n; ++i) objs.push_back(pool.create(i));
      tagged::watched = &waiting;
      for (tagged* p : objs) {
        retired.insert(p);
        waiting.insert(p);
        pool.retire(p);
      }
      CHECK(tagged::destroyed == destroyed0);
      for (tagged* p : objs) REQUIRE(p->intact());  // what the reader still reads
      // The reader moves on: the next batches' collections destroy the retired objects (each
      // once, intact) and make their memory reusable at once; new objects may take it.
      reader.safe_to_reclaim();
      std::size_t reused = 0;
      for (std::size_t i = 0; i < 4 * os.batch() && !waiting.empty(); ++i) {
        tagged* q = pool.create(1000 + i);
        REQUIRE(waiting.count(q) == 0);  // not before its destructor ran
        reused += retired.count(q);
        REQUIRE(q->intact());
        pool.destroy(q);  // ~tagged() now: a free step that brings the batches
        reader.safe_to_reclaim();
      }
      tagged::watched = nullptr;
      CHECK(waiting.empty());  // every retired object destroyed while the program only frees
      tagged* q = pool.create(7);  // the memory of the last one destroyed: reusable at once
      reused += retired.count(q);
      REQUIRE(q->intact());
      pool.destroy(q);
      CHECK(tagged::bad == bad0);
      CHECK(reused > 0);
    }
    CHECK(tagged::bad == bad0);
  }
}

TEST_CASE("the pool's destructor destroys the objects still retired, intact, while their memory is mapped") {
  for (const option_set& os : option_sets) {
    INFO(os.name());
    ssmem::domain d;
    ssmem::thread_scope me(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);  // never moves on
    const long destroyed0 = tagged::destroyed, bad0 = tagged::bad;
    const std::size_t n = 2 * os.batch() + os.release_set + 2;
    {
      ssmem::object_pool<tagged> pool(me, os.options());
      for (std::size_t i = 0; i < n; ++i) pool.retire(pool.create(i));
      CHECK(tagged::destroyed == destroyed0);
    }  // the deleters run here, then the sets and chunks go (LeakSanitizer: nothing left)
    CHECK(tagged::destroyed - destroyed0 == static_cast<long>(n));
    CHECK(tagged::bad == bad0);
  }
}

TEST_CASE("a deleter of a retired object finds it intact, after the grace period, and may write and free it") {
  for (const option_set& os : option_sets) {
    INFO(os.name());
    ssmem::domain d;
    ssmem::thread_scope me(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);
    const long destroyed0 = tagged::destroyed, bad0 = tagged::bad;
    long deleted = 0;
    const std::size_t n = 2 * os.batch() + os.release_set + 1;
    {
      ssmem::allocator a(me, 64, os.options());
      std::vector<tagged*> objs;
      for (std::size_t i = 0; i < n; ++i) objs.push_back(new tagged(i));
      for (tagged* p : objs) {
        a.retire(p, [&deleted](tagged* t) noexcept {  // with state: boxed
          ++deleted;
          delete t;  // ~tagged() checks the tag, scrubs, then the memory goes back
        });
      }
      // Frees bring the batches; the reader holds everything back until it moves on.
      for (std::size_t i = 0; i < 3 * os.batch(); ++i) a.deallocate(a.allocate());
      CHECK(deleted == 0);
      for (tagged* p : objs) REQUIRE(p->intact());
      reader.safe_to_reclaim();
      for (std::size_t i = 0; i < 3 * os.batch() && deleted < static_cast<long>(n); ++i) {
        a.deallocate(a.allocate());
        reader.safe_to_reclaim();
      }
      CHECK(deleted == static_cast<long>(n));  // all of them while the program only frees
    }
    CHECK(deleted == static_cast<long>(n));
    CHECK(tagged::destroyed - destroyed0 == static_cast<long>(n));
    CHECK(tagged::bad == bad0);
  }
}

TEST_CASE("a destroyed pool object's memory is reused only after the grace period, and a new object there is intact") {
  for (const option_set& os : option_sets) {
    INFO(os.name());
    ssmem::domain d;
    ssmem::thread_scope me(d);
    ssmem::thread_scope reader(d, ssmem::separate_record);
    const long bad0 = tagged::bad;
    ssmem::object_pool<tagged> pool(me, os.options());
    std::set<void*> destroyed;
    for (std::size_t i = 0; i < 2 * os.batch() + os.free_set; ++i) {
      tagged* p = pool.create(i);
      destroyed.insert(p);
      pool.destroy(p);  // ~tagged() now; the memory waits for the reader
    }
    for (std::size_t i = 0; i < 2 * os.batch(); ++i) {
      tagged* q = pool.create(5000 + i);
      CHECK(destroyed.count(q) == 0);  // the reader has not moved on
      pool.destroy(q);
    }
    reader.safe_to_reclaim();
    std::size_t reused = 0;
    for (std::size_t i = 0; i < 3 * os.batch(); ++i) {
      tagged* q = pool.create(9000 + i);
      reused += destroyed.count(q);
      REQUIRE(q->intact());
      pool.destroy(q);
      reader.safe_to_reclaim();
    }
    CHECK(reused > 0);
    CHECK(tagged::bad == bad0);
  }
}
