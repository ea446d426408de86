// Allocator options and statistics: plain values shared by the C and C++ APIs.
// Defaults are the original ssmem's (ssmem.h macros of the same meaning in brackets).
#ifndef SSMEM_OPTIONS_HPP
#define SSMEM_OPTIONS_HPP

#include <cstddef>
#include <cstdint>

namespace ssmem {

/// When an allocator bumps its thread's version [SSMEM_TS_INCR_ON]. Values match the C macros.
enum class ts_policy : int {
  none = 0,      // only explicit safe_to_reclaim() / ssmem_ts_next() [SSMEM_TS_INCR_ON_NONE]
  both = 1,      // on every allocation and every free             [SSMEM_TS_INCR_ON_BOTH]
  on_alloc = 2,  // on every allocation                            [SSMEM_TS_INCR_ON_ALLOC]
  on_free = 3,   // on every free                                  [SSMEM_TS_INCR_ON_FREE]
};

struct options {
  std::size_t free_set_size = 507;                    // [SSMEM_GC_FREE_SET_SIZE]
  std::size_t release_set_size = 3;                   // [SSMEM_GC_RLSE_SET_SIZE]
  std::size_t chunk_size = std::size_t{32} << 20;     // [SSMEM_DEFAULT_MEM_SIZE]
  bool chunk_doubling = true;                         // [SSMEM_MEM_SIZE_DOUBLE]
  std::size_t chunk_size_max = std::size_t{4} << 30;  // [SSMEM_MEM_SIZE_MAX]
  // Fresh objects are always zero (chunks are zero-filled); with zero_memory, reused ones
  // are zeroed too, so every allocation reads as zeros, like calloc.
  bool zero_memory = false;                           // [SSMEM_ZERO_MEMORY]
  bool huge_pages = false;                            // [SSMEM_TRANSPARENT_HUGE_PAGES]
  ts_policy bump_on = ts_policy::both;                // [SSMEM_TS_INCR_ON]
};

/// A snapshot of one allocator's counters (owner thread only).
struct allocator_stats {
  std::size_t object_size = 0;
  std::size_t bytes_reserved = 0;     // chunk memory mapped from the system
  std::size_t chunks = 0;
  std::uint64_t allocated = 0;        // allocate() calls that returned an object
  std::uint64_t freed = 0;            // objects handed to deallocate()
  std::uint64_t collected = 0;        // freed objects that became reusable
  std::uint64_t reused = 0;           // allocations served from collected objects
  std::size_t pending = 0;            // freed, not yet reusable (filling + stamped sets)
  std::size_t reusable = 0;           // collected, not yet handed out again
  std::size_t pending_sets = 0;       // stamped sets waiting for a newer clock
  std::uint64_t released = 0;         // objects handed to release()
  std::uint64_t returned = 0;         // released objects given back to the system
  std::size_t release_pending = 0;    // released, not yet given back
  std::uint64_t stamps = 0;           // snapshots taken (one per full free or release set)
  // The oldest stamped set still waiting: how many stamps ago it was taken, and the slot of a
  // thread holding it back (online, version unchanged since that stamp), or -1 if none now.
  std::uint64_t oldest_pending_age = 0;
  long long blocking_slot = -1;
};

/// A snapshot of a domain's records.
struct domain_stats {
  std::size_t slots = 0;    // records ever created
  std::size_t online = 0;   // registered and online
  std::size_t offline = 0;  // registered and offline
  std::size_t free = 0;     // left by their thread, waiting for adoption
};

}  // namespace ssmem

#endif
