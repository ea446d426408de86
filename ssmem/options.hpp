/// \file
/// Allocator options and statistics: plain values shared by the C and C++ APIs.
/// Defaults are the original ssmem's (the ssmem.h macro of the same meaning in brackets).
#ifndef SSMEM_OPTIONS_HPP
#define SSMEM_OPTIONS_HPP

#include <cstddef>
#include <cstdint>

namespace ssmem {

/// When an allocator bumps its thread's version [SSMEM_TS_INCR_ON]. Values match the C macros.
enum class ts_policy : int {
  none = 0,      ///< only explicit safe_to_reclaim() / ssmem_ts_next() [SSMEM_TS_INCR_ON_NONE]
  both = 1,      ///< on every allocation and every free or release     [SSMEM_TS_INCR_ON_BOTH]
  on_alloc = 2,  ///< on every allocation                                [SSMEM_TS_INCR_ON_ALLOC]
  on_free = 3,   ///< on every free or release                           [SSMEM_TS_INCR_ON_FREE]
};

/// The largest object size an allocator serves: larger sizes (up to SIZE_MAX) are refused
/// (allocation returns nullptr / throws std::bad_alloc), never rounded into a wrapped size.
inline constexpr std::size_t max_object_size = std::size_t(-1) / 4;
/// The largest free_set_size and release_set_size: a set of that many entries is 8 MiB (a
/// release set 24 MiB), allocated at once. Larger values are refused by the C and C++ APIs
/// (validate()) and clamped by basic_allocator.
inline constexpr std::size_t max_set_size = std::size_t{1} << 20;

/// What an allocator reports when an allocation at the memory bound stops waiting and carves
/// past it (options::on_stall; docs/design.md §3, "The memory bound").
struct stall_report {
  long long blocking_slot = -1;   ///< slot of a thread holding the oldest pending set back, or -1
  long long blocking_label = -1;  ///< that thread's label (the C API's id), or -1
  bool own_thread = false;        ///< the allocator's own thread holds it back (it cannot move on
                                  ///< inside an allocation: options::bump_on excludes allocations)
  std::uint64_t waited_ns = 0;    ///< how long this allocation waited
  std::size_t pending = 0;        ///< objects freed and not yet reusable
  std::size_t limit = 0;          ///< the bound in force, in objects
  /// true: the allocator waits no more until its next collection (own_thread, or the same
  /// thread held collection back through two waits in a row); false: it carves up to `limit`
  /// objects past `pending`, then waits again (docs/design.md §3, "An overrun").
  bool until_collection = false;
};

/// A stall hook: called on the owner thread, inside the allocation that gives up waiting.
/// It must not call the allocator. `context` is options::stall_context.
using stall_fn = void (*)(const stall_report& report, void* context);

/// How an allocator works. Values are read once, at construction.
struct options {
  std::size_t free_set_size = 507;                    ///< objects per free set [SSMEM_GC_FREE_SET_SIZE]; 0 means 1
  /// Objects (entries) per release set [SSMEM_GC_RLSE_SET_SIZE]; 0 means 1. The original's 3
  /// made every third release a stamp; with batches it only sets the bookkeeping grain (a
  /// stamp also takes the release set that is not full yet), so the default is 64.
  std::size_t release_set_size = 64;
  /// Full free and release sets wait, unstamped, until they hold stamp_batch * free_set_size
  /// objects together, a release set's entry counting as two (a program that only releases
  /// is stamped every stamp_batch / 2 free sets' worth of entries); then one heavy fence and
  /// one snapshot stamp them all (docs/design.md §3, "Stamping in batches"). 0: every full
  /// set is stamped at once, as in the original [SSMEM_STAMP_BATCH].
  std::size_t stamp_batch = 32;
  /// When full sets wait unstamped for stamp_backlog batches (of max(stamp_batch, 1) free
  /// sets' worth) or more because an online thread holds the oldest stamped sets back, each
  /// further free set's worth of full sets yields the processor once (Policy::yield), so that a
  /// descheduled thread can run (docs/design.md §3). 0: yield at every deferred stamp;
  /// SIZE_MAX: never [SSMEM_STAMP_BACKLOG].
  std::size_t stamp_backlog = 4;
  /// Stamps shared between the domain's threads (docs/design.md §3, "Shared stamps"): every
  /// stamp publishes its clock for the others, and a wait at the memory bound that needs a
  /// stamp takes one with its own heavy fence at once only when max(1, slots / stamp_share)
  /// requests wait for one (its own included; slots: in its latest clock). Otherwise it
  /// pauses once and stamps with the clock that another thread's stamp published meanwhile,
  /// if that stamp's fence came after its request (no heavy fence of its own), else fences
  /// itself. 0: no sharing, every stamp fences for its own allocator [SSMEM_STAMP_SHARE].
  std::size_t stamp_share = 2;
  std::size_t chunk_size = std::size_t{32} << 20;     ///< first chunk, bytes [SSMEM_DEFAULT_MEM_SIZE]
  bool chunk_doubling = true;                         ///< each new chunk doubles [SSMEM_MEM_SIZE_DOUBLE]
  std::size_t chunk_size_max = std::size_t{4} << 30;  ///< cap of the doubling [SSMEM_MEM_SIZE_MAX]
  /// Fresh objects are always zero (chunks are zero-filled); with zero_memory, reused ones
  /// are zeroed too, so every allocation reads as zeros, like calloc [SSMEM_ZERO_MEMORY].
  bool zero_memory = false;
  bool huge_pages = false;                            ///< madvise(MADV_HUGEPAGE) chunks [SSMEM_TRANSPARENT_HUGE_PAGES]
  ts_policy bump_on = ts_policy::both;                ///< when the owner's version moves [SSMEM_TS_INCR_ON]
  /// The memory bound (docs/design.md §3, "The memory bound"): how many freed objects not yet
  /// reusable (and released or retired entries not yet given back) the domain's threads may
  /// hold, shared evenly by its record slots: an allocator whose count reaches
  /// max(pending_budget / slots, 2 x free_set_size) (slots: in its latest clock) waits for a
  /// collection instead of carving new objects, and a free that fills a set past that limit by
  /// a free set's worth waits too. 0: no bound [SSMEM_PENDING_BUDGET].
  std::size_t pending_budget = 100'000;
  /// How long a wait at the bound lasts at most (nanoseconds) before the allocator goes on
  /// past the bound, counts an overrun and calls on_stall: it carves one limit's worth past
  /// the bound and waits again, or, when the same thread held collection back through two
  /// waits in a row (or it is the owner's own), waits no more until its next collection
  /// [SSMEM_BOUND_WAIT_NS].
  std::uint64_t bound_wait_ns = 100'000'000;
  /// Called when an allocation stops waiting at the bound (nullptr: none).
  stall_fn on_stall = nullptr;
  /// The context passed to on_stall.
  void* stall_context = nullptr;

  /// nullptr if every value can be served; else what is wrong (the C and C++ APIs refuse
  /// such options with this message; basic_allocator clamps them).
  constexpr const char* validate() const noexcept {
    if (free_set_size > max_set_size) return "free_set_size too large (at most 2^20 objects)";
    if (release_set_size > max_set_size) return "release_set_size too large (at most 2^20 entries)";
    if (static_cast<int>(bump_on) < 0 || static_cast<int>(bump_on) > 3) return "bump_on out of range";
    return nullptr;
  }
};

/// a + b, or SIZE_MAX when the sum does not fit.
constexpr std::size_t saturating_add(std::size_t a, std::size_t b) noexcept {
  return a > std::size_t(-1) - b ? std::size_t(-1) : a + b;
}

/// a x b, or SIZE_MAX when the product does not fit (thresholds never wrap to small values).
constexpr std::size_t saturating_mul(std::size_t a, std::size_t b) noexcept {
  return b != 0 && a > std::size_t(-1) / b ? std::size_t(-1) : a * b;
}

/// A snapshot of one allocator's counters. Read by its owner thread only.
struct allocator_stats {
  std::size_t object_size = 0;          ///< bytes per object (rounded for alignment)
  std::size_t bytes_reserved = 0;       ///< chunk memory mapped from the system
  std::size_t chunks = 0;               ///< chunks mapped
  std::uint64_t allocated = 0;          ///< allocations that returned an object
  std::uint64_t freed = 0;              ///< objects freed (deallocate / ssmem_free)
  std::uint64_t collected = 0;          ///< freed objects that became reusable
  std::uint64_t reused = 0;             ///< allocations served from collected objects
  std::size_t pending = 0;              ///< freed, not yet reusable (filling + stamped sets)
  std::size_t reusable = 0;             ///< collected, not yet handed out again
  std::size_t pending_sets = 0;         ///< stamped sets waiting for a newer clock
  std::uint64_t released = 0;           ///< objects released or retired (release, retire, ssmem_release, ssmem_retire)
  std::uint64_t returned = 0;           ///< of those, given back to the system or to their deleter
  std::size_t release_pending = 0;      ///< released or retired, not yet given back
  std::uint64_t stamps = 0;             ///< stamps taken (heavy fence + snapshot; one per batch of full sets)
  std::uint64_t shared_stamps = 0;      ///< stamps taken with another thread's published clock
                                        ///< (no heavy fence of this allocator: options::stamp_share)
  std::uint64_t probes = 0;             ///< versions read without a fence, to collect before a stamp
  std::uint64_t deferred = 0;           ///< stamps put off because a stamped set was still held back
  std::uint64_t yields = 0;             ///< processor yields for a thread holding collection back
  std::size_t pending_limit = 0;        ///< the memory bound now, in objects (SIZE_MAX: none)
  std::uint64_t bound_waits = 0;        ///< allocations that waited at the bound for a collection
  std::uint64_t bound_overruns = 0;     ///< of those, waits that gave up and carved past the bound
  std::uint64_t bound_wait_ns = 0;      ///< time spent waiting at the bound
  std::uint64_t dropped = 0;            ///< freed objects kept out of reuse for good (no memory
                                        ///< for bookkeeping: docs/design.md, "Bad input and faults")
  std::size_t unstamped = 0;            ///< objects in full sets waiting for the next stamp
  std::uint64_t oldest_pending_age = 0; ///< stamps taken, borrowed or put off since the oldest waiting set's stamp
  /// Slot of a thread holding the oldest waiting set back (online, version unchanged since
  /// that stamp), or -1 if none is now.
  long long blocking_slot = -1;
  /// Label (the C API's id) of the thread at blocking_slot, or -1.
  long long blocking_label = -1;
};

/// A snapshot of a domain's records (racy across records, each read atomic).
struct domain_stats {
  std::size_t slots = 0;    ///< records ever created
  std::size_t online = 0;   ///< registered and online
  std::size_t offline = 0;  ///< registered and offline
  std::size_t free = 0;     ///< left by their thread, waiting for adoption
};

}  // namespace ssmem

#endif
