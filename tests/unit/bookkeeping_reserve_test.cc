// The bookkeeping of the first free and the first release is taken when the allocator is made
// (issue 19.2, "reserve the bookkeeping ahead"): an allocator whose memory for sets and
// clocks runs out before its first free or release still frees, releases and reuses, and
// loses nothing. Before, the first free set and the first release set were allocated at the
// first free and release; when memory had run out by then, there was no set to recycle and no
// collection to wait for, so every free and release from then on was kept out of reuse for
// good (stats().dropped); oom_recovery_test passed only while glibc still had a few bytes
// left for them. Shown here with a policy whose allocate() fails on demand, at the default
// sizes and at small sets, in a domain of one thread and of two (the second offline while
// memory is out: on one OS thread it could not move on during a wait, and a wait that cannot
// end keeps what it waited for out of reuse, as documented).
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "ssmem/allocator.hpp"
#include "ssmem/native_policy.hpp"

namespace {

// The native policy, but Policy::allocate (sets, clocks, the domain's bookkeeping; not the
// chunks, which come from map_chunk) fails while `out_of_memory` is set.
struct failing_policy : ssmem::native_policy {
  static inline bool out_of_memory = false;
  static void* allocate(std::size_t bytes) noexcept {
    return out_of_memory ? nullptr : ssmem::native_policy::allocate(bytes);
  }
};

using domain = ssmem::basic_domain<failing_policy>;
using record = ssmem::thread_record<failing_policy>;
using allocator = ssmem::basic_allocator<failing_policy>;

struct sizes {
  const char* name;
  std::size_t free_set, release_set;
};
const sizes cases[] = {{"defaults (507, 64)", 507, 64}, {"small sets (2, 1)", 2, 1}};

struct memory_runs_out {
  memory_runs_out() { failing_policy::out_of_memory = true; }
  ~memory_runs_out() { failing_policy::out_of_memory = false; }
};

int deleted = 0;
void count_and_free(void* p, void*) noexcept {
  ++deleted;
  std::free(p);
}

}  // namespace

TEST_CASE("frees and releases made after memory ran out keep nothing out of reuse") {
  for (const sizes& c : cases) {
    for (int threads : {1, 2}) {
      CAPTURE(c.name);
      CAPTURE(threads);
      domain d;
      record* me = d.register_thread();
      record* other = threads == 2 ? d.register_thread() : nullptr;
      ssmem::options o;
      o.free_set_size = c.free_set;
      o.release_set_size = c.release_set;
      o.chunk_size = 1 << 16;
      {
        allocator a(d, *me, 64, o);
        // Objects carved while memory is there, and objects from malloc to release and retire.
        const std::size_t n = 4 * c.free_set + 3;
        std::vector<void*> objs;
        for (std::size_t i = 0; i < n; ++i) objs.push_back(a.allocate());
        std::vector<void*> mallocd;
        for (int i = 0; i < 6; ++i) mallocd.push_back(std::malloc(48));
        deleted = 0;
        if (other != nullptr) other->go_offline();
        {
          memory_runs_out oom;
          // Every free, release and retire from here on finds no memory for a new set.
          for (std::size_t i = 0; i < n; ++i) {
            a.deallocate(objs[i]);
          }
          for (int i = 0; i < 6; ++i) {
            if (i % 2 == 0) {
              a.release(mallocd[i]);
            } else {
              a.retire(mallocd[i], count_and_free, nullptr);
            }
          }
          CHECK(a.stats().dropped == 0);
          // The freed objects come back: allocate as many as were freed, count the old ones.
          std::set<void*> freed(objs.begin(), objs.end());
          std::size_t again = 0;
          std::vector<void*> second;
          for (std::size_t i = 0; i < n; ++i) {
            void* p = a.allocate();
            REQUIRE(p != nullptr);
            again += freed.count(p);
            second.push_back(p);
          }
          CHECK(again > 0);
          for (void* p : second) a.deallocate(p);
          CHECK(a.stats().dropped == 0);
        }
        if (other != nullptr) other->go_online();
        // The allocator's teardown gives back what waits; every retired object meets its deleter.
      }
      CHECK(deleted == 3);
      if (other != nullptr) d.unregister_thread(other);
      d.unregister_thread(me);
    }
  }
}
