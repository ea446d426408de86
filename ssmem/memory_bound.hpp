/// \file
/// The memory bound: how many freed objects an allocator may hold back (freed, not yet
/// reusable) before an allocation that would carve new memory waits for a collection instead
/// (and a free that fills a set a free set's worth past it), how long it waits, and what it
/// reports when it gives up (docs/design.md §3, "The memory bound"). The limit is a share of
/// options::pending_budget (objects) per record slot of the domain (the most threads
/// registered at once: records are adopted, never freed) as the allocator's latest clock
/// counts them, at least two free sets' worth:
///
///     limit = max(pending_budget / slots, 2 x free_set_size)
///
/// (before the allocator's first clock, the floor alone).
/// A wait gives up after options::bound_wait_ns (an *overrun*: counted, reported to
/// options::on_stall, and in the checked build a line on stderr). The overrun *grants* one
/// limit's worth: the allocator waits again once what the bound counts has grown by the limit
/// past the count at the give-up. A give-up that names the same holder as the one before it,
/// with no collection between (the holder did not move through two whole waits: it is
/// blocked, not descheduled), starts an overrun *until the next collection* instead: no more
/// waits until then. So is a give-up for the owner's own thread (it cannot move inside the
/// call). Every set that fills during an overrun probes for the collection that ends it
/// (docs/design.md §3, "An overrun"). This part only decides and counts; the wait
/// itself (stamp, probes, the owner's own bump) is the allocator's. Owner-only: no atomics.
#ifndef SSMEM_MEMORY_BOUND_HPP
#define SSMEM_MEMORY_BOUND_HPP

#include <cstddef>
#include <cstdint>
#include <concepts>
#include <cstdio>

#include "ssmem/detail/checked.hpp"
#include "ssmem/options.hpp"
#include "ssmem/vector_clock.hpp"

namespace ssmem {

/// The memory bound of one allocator (see the file comment). Owner-only.
template <class Policy>
class memory_bound {
 public:
  /// From the allocator's options.
  explicit memory_bound(const options& o) noexcept
      : budget_(o.pending_budget), wait_ns_(o.bound_wait_ns), on_stall_(o.on_stall),
        stall_context_(o.stall_context) {}

  /// The limit in objects, given the allocator's latest clock; SIZE_MAX when there is no
  /// bound (pending_budget 0).
  std::size_t limit(std::size_t free_set_size, const vector_clock<Policy>& latest) const noexcept {
    if (budget_ == 0) return std::size_t(-1);
    const std::size_t floor = saturating_mul(2, free_set_size);
    // No clock read yet: how many threads share the budget is not known, so the floor holds
    // until the first stamp, which the allocator takes as soon as the floor is reached: many
    // threads starting at once do not each carve a whole batch first.
    if (latest.size() == 0) return floor;
    // Slots, not online threads: a thread offline between its critical sections holds its
    // freed objects as much as an online one does, so the budget is shared by all of them.
    const std::size_t share = budget_ / latest.size();
    return share > floor ? share : floor;
  }

  /// How many objects the fast path may carve before the next check: what is left below the
  /// limit, at most one free set's worth (the grain of the check), at least one.
  static std::size_t allowance(std::size_t pending, std::size_t limit, std::size_t free_set_size) noexcept {
    const std::size_t left = pending < limit ? limit - pending : 1;
    return left < free_set_size ? left : free_set_size;
  }

  /// Whether an allocation at the mark should wait: not while an overrun until the next
  /// collection lasts (the thread that holds collection back did not move through two waits,
  /// or it is the owner's own: waiting again would only slow the owner down).
  bool should_wait() const noexcept { return !until_collection_; }
  /// The mark at which the owner waits, given the limit: the limit, or while a granted
  /// overrun lasts the count at its give-up plus one limit's worth (if that is higher).
  std::size_t mark(std::size_t limit) const noexcept {
    return overrun_ && grant_mark_ > limit ? grant_mark_ : limit;
  }
  /// A collection made objects reusable: the overrun (if any) is over. True when one was.
  bool collected() noexcept {
    const bool was = overrun_;
    overrun_ = false;
    until_collection_ = false;
    holder_ = -1;
    return was;
  }

  /// The clock of a wait: its start, and how many rounds it has made.
  struct wait_clock {
    std::uint64_t start = 0;  ///< Policy::clock_ns() at the start (0 without a clock)
    unsigned round = 0;       ///< rounds of probes made so far
  };
  /// Starts a wait.
  wait_clock start_wait() noexcept {
    ++waits_;
    return wait_clock{now(), 0};
  }
  /// Time waited so far (without a clock in the policy, each round counts as a millisecond).
  std::uint64_t waited(const wait_clock& w) const noexcept {
    if constexpr (has_clock) {
      return Policy::clock_ns() - w.start;
    } else {
      return std::uint64_t{w.round} * 1'000'000u;
    }
  }
  /// Whether the wait has lasted bound_wait_ns.
  bool expired(const wait_clock& w) const noexcept { return waited(w) >= wait_ns_; }
  /// Pauses between two rounds of a wait (Policy::backoff, or Policy::yield, or nothing).
  void pause(wait_clock& w) noexcept {
    if constexpr (has_backoff) {
      Policy::backoff(w.round);
    } else if constexpr (has_yield) {
      Policy::yield();
    }
    ++w.round;
  }
  /// A wait ended (collected or not): its time is counted.
  void end_wait(const wait_clock& w) noexcept { wait_ns_total_ += waited(w); }

  /// A wait gave up (`r`: the holder, the count and the limit): an overrun starts -- granted
  /// (one limit's worth past r.pending, then a new wait), or until the next collection when
  /// the owner's own thread holds the sets back or the holder is the one that the previous
  /// give-up named, with no collection since -- and the hook and (checked build) stderr hear
  /// of it.
  void give_up(const wait_clock& w, stall_report r, const char* api) noexcept {
    ++overruns_;
    const bool same_holder = overrun_ && r.blocking_slot >= 0 && r.blocking_slot == holder_;
    until_collection_ = r.own_thread || same_holder;
    grant_mark_ = saturating_add(r.pending, r.limit);
    holder_ = r.blocking_slot;
    overrun_ = true;
    r.waited_ns = waited(w);
    r.until_collection = until_collection_;
    if constexpr (detail::checked) {
      const char* who = r.own_thread ? "this thread, which cannot move on inside an allocation (bump_on)"
                        : same_holder ? "a thread that held collection back through two waits"
                                      : "a thread that holds collection back";
      char then[96];
      if (until_collection_) {
        std::snprintf(then, sizeof then, "carving past the bound until the next collection");
      } else {
        std::snprintf(then, sizeof then, "carving up to %zu objects past the bound, then waiting again", r.limit);
      }
      std::fprintf(stderr,
                   "ssmem: %s: waited %llu ms at the memory bound (%zu objects pending,"
                   " limit %zu) for %s (slot %lld, id %lld); %s\n",
                   api, static_cast<unsigned long long>(r.waited_ns / 1'000'000u), r.pending, r.limit, who,
                   r.blocking_slot, r.blocking_label, then);
    }
    if (on_stall_ != nullptr) on_stall_(r, stall_context_);
  }

  /// Waits started.
  std::uint64_t waits() const noexcept { return waits_; }
  /// Waits that gave up.
  std::uint64_t overruns() const noexcept { return overruns_; }
  /// Nanoseconds spent waiting.
  std::uint64_t wait_ns() const noexcept { return wait_ns_total_; }

 private:
  static constexpr bool has_clock = requires { { Policy::clock_ns() } -> std::same_as<std::uint64_t>; };
  static constexpr bool has_backoff = requires(unsigned r) { Policy::backoff(r); };
  static constexpr bool has_yield = requires { Policy::yield(); };
  static std::uint64_t now() noexcept {
    if constexpr (has_clock) {
      return Policy::clock_ns();
    } else {
      return 0;
    }
  }

  std::size_t budget_;
  std::uint64_t wait_ns_;
  stall_fn on_stall_;
  void* stall_context_;
  std::uint64_t waits_ = 0;
  std::uint64_t overruns_ = 0;
  std::uint64_t wait_ns_total_ = 0;
  std::size_t grant_mark_ = 0;     // a granted overrun: the owner waits again from here
  long long holder_ = -1;          // the slot that the last give-up named (-1: none, or moved)
  bool overrun_ = false;           // an overrun lasts (granted, or until the next collection)
  bool until_collection_ = false;  // ... and no wait until the next collection
};

}  // namespace ssmem

#endif
