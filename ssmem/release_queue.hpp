/// \file
/// The release queue: released and retired objects on their way back to the system or to
/// their deleters. An entry is three slots -- object, deleter, context; a null deleter means
/// Policy::return_to_system (ssmem_release) -- kept in release sets that go through a
/// set_pipeline exactly as free sets do (the same stamps, I4). Once collected, entries are
/// given back gradually, one per later release or retire (give_back_one), so that the caller's
/// next malloc finds the memory warm: as many are kept as releases were made since the last
/// stamp, the rest go back at once. Invariant: an entry is given back only after its set was
/// collected (I1 for released memory: the deleter's writes come after the grace period).
/// Owner-only data of one allocator: no atomics.
#ifndef SSMEM_RELEASE_QUEUE_HPP
#define SSMEM_RELEASE_QUEUE_HPP

#include <cstddef>
#include <cstdint>

#include "ssmem/set_pipeline.hpp"
#include "ssmem/vector_clock.hpp"

namespace ssmem {

/// What a retired object's deleter is: called as `fn(object, context)` on the owner thread once
/// every thread has moved on (see basic_allocator::retire). It must not throw (it runs inside
/// noexcept members). Not a noexcept type, so that a C function (ssmem_retire) is one as it is.
using retire_fn = void (*)(void* object, void* context);

/// Released and retired entries waiting for their grace period (see the file comment).
template <class Policy>
class release_queue {
 public:
  /// The set type.
  using set = free_set<Policy>;
  /// Slots per entry: object, deleter, context.
  static constexpr std::size_t slots_per_entry = 3;

  /// Release sets of `entries_per_set` entries (at least 1).
  explicit release_queue(std::size_t entries_per_set) noexcept
      : sets_(slots_per_entry * entries_per_set) {}
  release_queue(const release_queue&) = delete;
  release_queue& operator=(const release_queue&) = delete;
  /// Frees the collected sets' memory (drain() must have run: they are empty).
  ~release_queue() {
    while (!collected_.empty()) set::destroy(collected_.pop());
  }

  /// Whether push() has room: a set is being filled, or one could be taken (false only when
  /// memory for a new release set runs out and none is recycled).
  /// `clock_entries`: see set_pipeline::take_set().
  bool ready(std::size_t clock_entries) noexcept {
    return sets_.filling() != nullptr || sets_.start_filling(clock_entries) != nullptr;
  }

  /// Adds an entry; true when it filled its set, which now waits for a stamp.
  /// Precondition: ready(n).
  bool push(void* obj, retire_fn fn, void* context) noexcept {
    set* s = sets_.filling();
    s->push(obj);
    s->push(reinterpret_cast<void*>(fn));
    s->push(context);
    ++released_;
    if (!s->full()) return false;
    sets_.seal_filling();
    return true;
  }

  /// Entries in full sets waiting for a stamp (they count towards the stamp's batch).
  std::size_t unstamped_entries() const noexcept { return sets_.unstamped_slots() / slots_per_entry; }
  /// Whether an entry waits for a stamp (in a full set or in the one being filled).
  bool has_unstamped() const noexcept { return sets_.has_unstamped() || sets_.filling_slots() != 0; }
  /// Whether a stamped set waits for a newer clock.
  bool has_pending() const noexcept { return sets_.has_pending(); }
  /// Whether a collected entry waits to be given back.
  bool has_collected() const noexcept { return !collected_.empty(); }
  /// Entries released or retired.
  std::uint64_t released() const noexcept { return released_; }
  /// Entries given back (to the system or to their deleter).
  std::uint64_t returned() const noexcept { return returned_; }
  /// Entries not given back yet (filling, unstamped, pending, collected).
  std::size_t waiting_entries() const noexcept {
    // Every entry pushed is counted in released_ and, once given back, in returned_: no walk
    // over the collected sets (the memory bound asks at every release set that fills).
    return static_cast<std::size_t>(released_ - returned_);
  }

  /// A stamp: the release set that is not full yet goes with it too (released memory never
  /// waits for more releases to fill its set), then every waiting set gets the clock (I4).
  /// False when memory for a clock copy ran out (set_pipeline::stamp).
  bool stamp(const vector_clock<Policy>& c, std::uint64_t seq) noexcept {
    if (sets_.filling() != nullptr && !sets_.filling()->empty()) sets_.seal_filling();
    return sets_.stamp(c, seq);
  }

  /// A collection with clock `newest`: what an earlier collection left goes back now; the
  /// newly collected entries are given back one per release (give_back_one), as many as the
  /// releases made since the last stamp (the rate to expect until the next collection); the
  /// rest at once, so that an allocator that rarely releases holds nothing back. True when a
  /// set was collected.
  bool collect(const vector_clock<Policy>& newest) noexcept {
    while (!collected_.empty()) give_back(collected_.pop());
    std::size_t collected = 0;
    set_stack<Policy> newest_first;
    while (set* s = sets_.pop_collectable(newest)) {
      collected += s->count() / slots_per_entry;
      newest_first.push(s);
    }
    while (!newest_first.empty()) collected_.push(newest_first.pop());  // oldest on top
    const std::size_t releasing = (sets_.unstamped_slots() + sets_.filling_slots()) / slots_per_entry;
    const bool any = collected != 0;
    for (; collected > releasing; --collected) give_back_one();
    return any;
  }

  /// The oldest collected set gives back one entry; emptied, it is recycled. The entry
  /// `prefetch_distance` calls ahead is warmed first: it was retired a batch ago (cold).
  /// Precondition: has_collected().
  void give_back_one() noexcept {
    set* s = collected_.top();
    if constexpr (has_prefetch) {
      constexpr std::size_t prefetch_distance = 8;
      if (s->count() > slots_per_entry * (prefetch_distance + 1)) {
        Policy::prefetch_for_return(s->at(s->count() - slots_per_entry * (prefetch_distance + 1)));
      }
    }
    give_back_entry(s);
    if (s->empty()) sets_.recycle(collected_.pop());
  }

  /// Every collected entry goes back now (the release sets are recycled: room for more
  /// releases when memory for new sets runs out).
  void give_back_collected() noexcept {
    while (!collected_.empty()) give_back(collected_.pop());
  }

  /// Teardown: every entry goes back at once, collected or not (the allocator's destructor:
  /// its precondition is that no thread still uses them).
  void drain() noexcept {
    while (!collected_.empty()) give_back(collected_.pop());
    while (set* s = sets_.take_for_teardown()) give_back(s);
  }

  /// Diagnostics: the pipeline of release sets.
  const set_pipeline<Policy>& sets() const noexcept { return sets_; }

 private:
  static constexpr bool has_prefetch = requires(const void* p) { Policy::prefetch_for_return(p); };

  // An entry of a collected release set: its deleter runs (I1 holds for it as for a reuse:
  // the deleter's writes come after the heavy fence of the set's stamp and after every
  // version change it waited for), or the object goes back to the system. Any time after
  // the collection is as safe as the collection itself.
  void give_back_entry(set* s) noexcept {
    void* context = s->pop();
    auto fn = reinterpret_cast<retire_fn>(s->pop());
    void* obj = s->pop();
    ++returned_;
    if (fn == nullptr) {
      Policy::return_to_system(obj);
    } else {
      fn(obj, context);
    }
  }

  // A set's entries, all at once, then the set is recycled.
  void give_back(set* s) noexcept {
    while (!s->empty()) give_back_entry(s);
    sets_.recycle(s);
  }

  set_pipeline<Policy> sets_;
  set_stack<Policy> collected_;  // collected, oldest on top, given back an entry per release
                                 // (empty whenever collect() starts, which keeps the oldest on top)
  std::uint64_t released_ = 0;
  std::uint64_t returned_ = 0;
};

}  // namespace ssmem

#endif
