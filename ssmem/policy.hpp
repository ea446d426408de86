/// \file
/// The atomics policy: everything the algorithm needs from the machine, in one place.
/// The algorithm headers (thread_record, domain, vector_clock, free_set, set_pipeline,
/// chunk_carver, release_queue, memory_bound, allocator, options) never name std::atomic,
/// fences, thread_local, malloc or the OS; they go through a Policy so that
/// the same code is the production library (native_policy.hpp) and the model that Relacy
/// checks (verification/relacy_policy.hpp).
///
/// A policy is a struct with:
///   `template <class T> class atomic`  -- load/store/exchange/compare_exchange_strong/fetch_add,
///                                        every one taking an explicit std::memory_order (no
///                                        defaults, no operators) and a trailing
///                                        detail::source_location that checkers report;
///   `template <class T> class var`     -- plain shared data a checker should watch for races:
///                                        load(loc) / store(v, loc); a plain T natively;
///   static void fence(std::memory_order, loc)            -- a stand-alone fence;
///   static void fence_light(loc) / fence_heavy(loc)
///                                     -- an asymmetric pair: together they order like two
///                                        seq_cst fences; light is on the fast path (bump),
///                                        heavy on the rare one (snapshot). Both may simply
///                                        be seq_cst fences (the Relacy policy's choice);
///   static void* allocate(size_t bytes) / deallocate(p, bytes)
///                                     -- small metadata (records, free sets, clocks);
///                                        nullptr on failure;
///   static void* map_chunk(size_t bytes, bool huge_pages) / unmap_chunk(p, bytes)
///                                     -- large, zero-filled, cache-line aligned chunks that
///                                        objects are carved from; nullptr on failure;
///   static void return_to_system(void* p)
///                                     -- what ssmem_release hands memory to (free());
///   optional: static void poison(p, bytes) / unpoison(p, bytes)
///                                     -- called when collected objects become reusable and
///                                        when one is handed out again (sanitizer hooks);
///   optional: static void yield()     -- gives up the processor (the allocator's
///                                        back-pressure; no memory effect);
///   optional: static void prefetch_for_return(const void* p)
///                                     -- a hint that p will soon go to return_to_system
///                                        or a deleter (no memory effect);
///   optional: static std::uint64_t clock_ns()
///                                     -- a monotonic clock, for the wait at the memory bound
///                                        (without it each round of the wait counts as one
///                                        millisecond);
///   optional: static void backoff(unsigned round)
///                                     -- pauses the wait at the memory bound, longer as
///                                        `round` grows (no memory effect; without it: yield()).
#ifndef SSMEM_POLICY_HPP
#define SSMEM_POLICY_HPP

#include <atomic>  // std::memory_order only: the enum, never std::atomic itself
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "ssmem/detail/source_location.hpp"

namespace ssmem {

using detail::source_location;

template <class P>
concept atomics_policy = requires(typename P::template atomic<std::uint64_t>& a,
                                  typename P::template var<std::size_t>& v, std::uint64_t x,
                                  void* p, std::size_t n) {
  { a.load(std::memory_order_relaxed, source_location::current()) } -> std::same_as<std::uint64_t>;
  a.store(x, std::memory_order_relaxed, source_location::current());
  { a.compare_exchange_strong(x, x, std::memory_order_relaxed, std::memory_order_relaxed,
                              source_location::current()) } -> std::same_as<bool>;
  { v.load(source_location::current()) } -> std::same_as<std::size_t>;
  v.store(n, source_location::current());
  P::fence(std::memory_order_seq_cst, source_location::current());
  P::fence_light(source_location::current());
  P::fence_heavy(source_location::current());
  { P::allocate(n) } -> std::same_as<void*>;
  P::deallocate(p, n);
  { P::map_chunk(n, false) } -> std::same_as<void*>;
  P::unmap_chunk(p, n);
  P::return_to_system(p);
};

}  // namespace ssmem

#endif
