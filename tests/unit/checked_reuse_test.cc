// The checked build (SSMEM_CHECKED=1) and addresses that malloc hands out again (issue 20). A
// foreign object freed through ssmem_free is adopted (tracked as an object of the allocator);
// released while handed out, it goes back to the system after its grace period and the
// registry stops tracking it. malloc then hands the same address out again, and the program
// may free it through ssmem_free once more: a new foreign object, not a double free. The test
// drives one address through that cycle with glibc's malloc, whose per-thread cache returns the
// block freed last, so the address does come back.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdlib>
#include <vector>

#include "ssmem/ssmem.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZER_ALLOCATOR 1  // a quarantine or its own allocator: addresses do not come back soon
#endif
#endif
#ifndef SANITIZER_ALLOCATOR
#define SANITIZER_ALLOCATOR 0
#endif

namespace {

constexpr std::size_t object_size = 208;  // a multiple of 16: the allocator's object size too

// Allocates until `p` is handed out (the objects in between are kept in `held`).
bool allocate_until(ssmem_allocator_t* a, void* p, std::vector<void*>& held) {
  for (int i = 0; i < 2000; ++i) {
    void* q = ssmem_alloc(a, object_size);
    if (q == p) return true;
    held.push_back(q);
  }
  return false;
}

// Frees `held` (and further objects) until malloc hands `p` out again, which it does once the
// allocator has given `p` back to the system (free). Mallocs in between are kept in `kept`.
bool free_until_malloc_returns(ssmem_allocator_t* a, void* p, std::vector<void*>& held,
                               std::vector<void*>& kept) {
  for (int i = 0; i < 20000; ++i) {
    if (!held.empty()) {
      ssmem_free(a, held.back());
      held.pop_back();
    } else {
      ssmem_free(a, ssmem_alloc(a, object_size));
    }
    void* m = std::malloc(object_size);
    if (m == p) return true;
    kept.push_back(m);
  }
  return false;
}

}  // namespace

TEST_CASE("checked build: an address released, given back and handed out again by malloc is a new foreign object") {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 8, 5);  // free sets of 8: collections come quickly
  std::vector<void*> held, kept;
  void* p = std::malloc(object_size);
  REQUIRE(p != nullptr);
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    // Enough frees after it that its set is stamped and collected: three batches (of
    // SSMEM_STAMP_BATCH free sets of 8).
    while (held.size() < 3 * 8 * SSMEM_STAMP_BATCH) held.push_back(ssmem_alloc(&a, object_size));
    ssmem_free(&a, p);  // a foreign object: adopted (round 0), or adopted again (later rounds)
    while (!held.empty()) {
      ssmem_free(&a, held.back());
      held.pop_back();
    }
    REQUIRE(allocate_until(&a, p, held));  // the adopted object is handed out again
    ssmem_release(&a, p);                  // released while handed out: tracking ends
    const bool back = free_until_malloc_returns(&a, p, held, kept);
    if (!back && SANITIZER_ALLOCATOR) {
      MESSAGE("the sanitizer's allocator did not hand the address out again: nothing to check");
      p = nullptr;
      break;
    }
    REQUIRE_MESSAGE(back, "malloc never handed the released address out again");
  }
  if (p != nullptr) std::free(p);
  for (void* q : held) ssmem_free(&a, q);
  ssmem_term();
  for (void* m : kept) std::free(m);
}
