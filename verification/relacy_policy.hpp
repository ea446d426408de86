// The Relacy atomics policy: the algorithm headers of ssmem/, unchanged, instantiated over
// Relacy's atomics, variables, fences and allocator, so that the checker explores the code the
// library ships rather than a model of it. Every operation forwards the caller's
// source_location as rl::debug_info, so a Relacy history names the algorithm's line.
//
// Include order matters: relacy.hpp #defines new, delete, malloc, free, assert and the
// memory_order_* names. This header therefore pulls in every standard header and every ssmem
// header the tests use *before* relacy.hpp, and code after it spells orders as
// std::memory_order::relaxed (the scoped enumerators, which the macros do not touch).
// Shipped headers never include this file.
#ifndef SSMEM_VERIFICATION_RELACY_POLICY_HPP
#define SSMEM_VERIFICATION_RELACY_POLICY_HPP

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ssmem/allocator.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/free_set.hpp"
#include "ssmem/options.hpp"
#include "ssmem/policy.hpp"
#include "ssmem/thread_record.hpp"
#include "ssmem/vector_clock.hpp"

#include <relacy/relacy.hpp>  // last: see the file comment

// `= delete` below must not expand to Relacy's delete proxy.
#pragma push_macro("delete")
#undef delete

namespace ssmem::verification {

/// The algorithm's source location as Relacy's debug info.
inline rl::debug_info to_rl(source_location loc) noexcept {
  return rl::debug_info(loc.function, loc.file, loc.line);
}

/// std::memory_order -> rl::memory_order (one to one).
inline rl::memory_order to_rl(std::memory_order mo) noexcept {
  switch (mo) {
    case std::memory_order::relaxed: return rl::mo_relaxed;
    case std::memory_order::consume: return rl::mo_consume;
    case std::memory_order::acquire: return rl::mo_acquire;
    case std::memory_order::release: return rl::mo_release;
    case std::memory_order::acq_rel: return rl::mo_acq_rel;
    case std::memory_order::seq_cst: return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

/// The policy (contract in ssmem/policy.hpp).
struct relacy_policy {
  /// rl::atomic<T>; no operators, no default orders, like the native wrapper.
  template <class T>
  class atomic {
   public:
    /// Uninitialised: Relacy reports a load before the first store.
    atomic() = default;
    /// Initialises the value with a relaxed store (publication is the algorithm's job).
    explicit atomic(T v, source_location loc = source_location::current()) {
      a_.store(v, rl::mo_relaxed, to_rl(loc));
    }
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    T load(std::memory_order mo, source_location loc = source_location::current()) const {
      return a_.load(to_rl(mo), to_rl(loc));
    }
    void store(T v, std::memory_order mo, source_location loc = source_location::current()) {
      a_.store(v, to_rl(mo), to_rl(loc));
    }
    T exchange(T v, std::memory_order mo, source_location loc = source_location::current()) {
      return a_.exchange(v, to_rl(mo), to_rl(loc));
    }
    // Relacy's two-order form takes the debug info between the orders.
    bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                                 std::memory_order failure,
                                 source_location loc = source_location::current()) {
      rl::debug_info info = to_rl(loc);
      return a_.compare_exchange_strong(expected, desired, to_rl(success), info, to_rl(failure),
                                        info);
    }
    T fetch_add(T v, std::memory_order mo, source_location loc = source_location::current()) {
      return a_.fetch_add(v, to_rl(mo), to_rl(loc));
    }

   private:
    rl::atomic<T> a_;
  };

  /// rl::var<T>: plain shared data; Relacy reports every unordered conflicting access.
  template <class T>
  class var {
   public:
    /// Uninitialised: Relacy reports a load before the first store.
    var() = default;
    /// Initialised by the constructing thread.
    explicit var(T v) : v_(v) {}
    var(const var&) = delete;
    var& operator=(const var&) = delete;

    T load(source_location loc = source_location::current()) const { return v_(to_rl(loc)).load(); }
    void store(T v, source_location loc = source_location::current()) { v_(to_rl(loc)).store(v); }

   private:
    rl::var<T> v_;
  };

  static void fence(std::memory_order mo, source_location loc = source_location::current()) {
    rl::atomic_thread_fence(to_rl(mo), to_rl(loc));
  }
  // The asymmetric pair is modelled conservatively: each side is a seq_cst fence, and seq_cst
  // fences order store->load only when both sides have one (which is what [S2]/[S5] claim).
  static void fence_light(source_location loc = source_location::current()) {
    rl::atomic_thread_fence(rl::mo_seq_cst, to_rl(loc));
  }
  static void fence_heavy(source_location loc = source_location::current()) {
    rl::atomic_thread_fence(rl::mo_seq_cst, to_rl(loc));
  }

  // Memory. Relacy's own allocator makes every free a two-way branch of the search (whether
  // the block's address may be reused at once, sched_type_mem_realloc): with the ~15 frees of
  // a teardown that multiplies a full search by ~2^15 and made exhaustive search infeasible
  // (docs/verification.md). The policy therefore keeps its own per-execution heap with the
  // same checks: a free of a block that is not live is a reported double/foreign free; a
  // freed block is scribbled and quarantined until the execution ends (never reused, so a
  // stale rl::var/rl::atomic in it fails Relacy's signature check as "access to freed
  // memory"); a block still live at the end of an execution is a reported memory leak.
  // rl::var and rl::atomic objects stay under Relacy's own leak checks.
  struct block {
    void* p;
    std::size_t bytes;
    const char* kind;
    bool live;
  };
  static constexpr std::size_t heap_capacity = 256;
  struct heap {
    block blocks[heap_capacity];
    std::size_t count = 0;
  };
  static heap& the_heap() {
    static heap h;
    return h;
  }
  /// Starts an execution: really frees the previous execution's quarantined blocks.
  static void begin_execution() {
    heap& h = the_heap();
    for (std::size_t i = 0; i < h.count; ++i) (::free)(h.blocks[i].p);
    h.count = 0;
  }
  /// Ends an execution: every block must have been given back.
  static void end_execution(source_location loc = source_location::current()) {
    heap& h = the_heap();
    for (std::size_t i = 0; i < h.count; ++i) {
      if (h.blocks[i].live) {
        std::fprintf(stderr, "leaked %s block of %zu bytes\n", h.blocks[i].kind, h.blocks[i].bytes);
        rl::ctx().fail_test("memory leak: a block was not given back", rl::test_result_memory_leak,
                            to_rl(loc));
      }
    }
  }
  static void* take(std::size_t bytes, const char* kind) {
    heap& h = the_heap();
    if (h.count == heap_capacity) {
      rl::ctx().fail_test("relacy_policy heap full (scenario too large)",
                          rl::test_result_user_assert_failed, rl::debug_info(kind, __FILE__, __LINE__));
    }
    // Cache-line aligned, like the native policy: records and free sets are alignas(64).
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes == 0 ? 64 : 0));
    if (p == nullptr) std::abort();
    h.blocks[h.count++] = block{p, bytes, kind, true};
    return p;
  }
  static void give(void* p, const char* kind) {
    heap& h = the_heap();
    for (std::size_t i = 0; i < h.count; ++i) {
      if (h.blocks[i].p == p && h.blocks[i].live) {
        h.blocks[i].live = false;
        std::memset(p, 0xdd, h.blocks[i].bytes);
        return;
      }
    }
    rl::ctx().fail_test("double free or foreign pointer", rl::test_result_double_free,
                        rl::debug_info(kind, __FILE__, __LINE__));
  }

  static void* allocate(std::size_t bytes) { return take(bytes, "allocate"); }
  static void deallocate(void* p, std::size_t) { give(p, "deallocate"); }
  static void* map_chunk(std::size_t bytes, bool) {
    void* p = take(bytes, "map_chunk");
    std::memset(p, 0, bytes);  // the contract: zero-filled
    return p;
  }
  static void unmap_chunk(void* p, std::size_t) { give(p, "unmap_chunk"); }

  // Objects given to release() must come from system_new<T>() (the model's malloc): a header
  // in front of the object remembers how to end its lifetime. return_to_system() writes the
  // object (T::retire(), if any: a read that is not ordered before it is a data race),
  // destroys it (any later access through a stale pointer fails Relacy's signature check as
  // "access to freed memory") and frees the block.
  struct system_header {
    void (*destroy)(void*);
    std::size_t pad;  // keeps the object 16-byte aligned
  };
  template <class T>
  static T* system_new() {
    auto* h = static_cast<system_header*>(take(sizeof(system_header) + sizeof(T), "system_new"));
    h->destroy = [](void* p) {
      T* obj = static_cast<T*>(p);
      // free() is a write to the memory: an object may say how to model it (retire() writes
      // every rl::var), so that a read not ordered before the give-back is a data race.
      if constexpr (requires { obj->retire(); }) obj->retire();
      std::destroy_at(obj);
    };
    h->pad = 0;
    return std::construct_at(reinterpret_cast<T*>(h + 1));
  }
  static void return_to_system(void* p) {
    auto* h = static_cast<system_header*>(p) - 1;
    h->destroy(p);
    give(h, "return_to_system");
  }

  /// Scenario checks (not part of atomics_policy): a failed check fails the execution.
  static void check(bool ok, const char* what, source_location loc = source_location::current()) {
    if (!ok) rl::ctx().fail_test(what, rl::test_result_user_assert_failed, to_rl(loc));
  }
};

static_assert(atomics_policy<relacy_policy>);

}  // namespace ssmem::verification

#pragma pop_macro("delete")

#endif
