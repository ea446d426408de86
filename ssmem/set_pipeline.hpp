/// \file
/// The set pipeline: where freed (or released) objects wait for their grace period, a set at
/// a time. One allocator has two: freed objects (one slot per object) and released or
/// retired ones (three slots per entry: object, deleter, context).
///
///   filling ──full──► unstamped (FIFO) ──stamp──► pending (FIFO, oldest first) ──collect──►
///      ▲                                                                     (the allocator)
///      └────────── available (stack of empty sets, clock buffers kept) ◄── recycle
///
/// Invariant I4 lives here: a set leaves `pending` only when a clock read later dominates its
/// stamp (I3), oldest first, and a set reaches `pending` only with the clock of a stamp
/// (stamp(): a snapshot taken after the heavy fence [S5]). Owner-only data: no atomics.
#ifndef SSMEM_SET_PIPELINE_HPP
#define SSMEM_SET_PIPELINE_HPP

#include <cstddef>
#include <cstdint>

#include "ssmem/free_set.hpp"
#include "ssmem/vector_clock.hpp"

namespace ssmem {

/// Sets of one capacity on their way from filling to collected (see the file comment).
template <class Policy>
class set_pipeline {
 public:
  /// The set type.
  using set = free_set<Policy>;

  /// Sets of `capacity` slots (at least 1).
  explicit set_pipeline(std::size_t capacity) noexcept : capacity_(capacity) {}
  set_pipeline(const set_pipeline&) = delete;
  set_pipeline& operator=(const set_pipeline&) = delete;

  /// Frees every set it holds (the objects in them are not touched).
  ~set_pipeline() {
    if (filling_ != nullptr) set::destroy(filling_);
    while (!unstamped_.empty()) set::destroy(unstamped_.pop_front());
    while (!pending_.empty()) set::destroy(pending_.pop_front());
    while (!available_.empty()) set::destroy(available_.pop());
  }

  /// Slots per set.
  std::size_t capacity() const noexcept { return capacity_; }

  /// The set being filled, or nullptr (one is taken lazily, at the first push after a seal).
  [[gnu::always_inline]] set* filling() const noexcept { return filling_; }
  /// Takes an empty set to fill (a recycled one first); nullptr when memory for a new one
  /// runs out. `clock_entries`: see take_set(). Precondition: filling() is nullptr.
  set* start_filling(std::size_t clock_entries) noexcept { return filling_ = take_set(clock_entries); }
  /// The filling set, full or not (not empty), waits for a stamp from now on.
  void seal_filling() noexcept {
    unstamped_.push_back(filling_);
    filling_ = nullptr;
  }

  /// Slots in full sets waiting for a stamp.
  std::size_t unstamped_slots() const noexcept { return unstamped_.objects(); }
  /// Slots in stamped sets waiting for a newer clock.
  std::size_t pending_slots() const noexcept { return pending_.objects(); }
  /// Slots in the filling set.
  std::size_t filling_slots() const noexcept { return filling_ != nullptr ? filling_->count() : 0; }
  /// Whether a stamped set waits.
  bool has_pending() const noexcept { return !pending_.empty(); }
  /// Whether a full set waits for a stamp.
  bool has_unstamped() const noexcept { return !unstamped_.empty(); }
  /// Stamped sets waiting.
  std::size_t pending_sets() const noexcept { return pending_.size(); }
  /// The oldest stamped set (list continues through next()), or nullptr.
  const set* pending_front() const noexcept { return pending_.front(); }
  /// The oldest set waiting for a stamp (list continues through next()), or nullptr.
  const set* unstamped_front() const noexcept { return unstamped_.front(); }
  /// The top recycled empty set (list continues through next()), or nullptr.
  const set* available_top() const noexcept { return available_.top(); }

  /// I4: every waiting set gets the stamp's clock `c` before it is queued for collection;
  /// `seq` is the owner's stamp counter (for the age in statistics). False when memory for
  /// a set's copy of the clock ran out: that set and the later ones wait, unstamped, for the
  /// next stamp (never queued without the clock).
  bool stamp(const vector_clock<Policy>& c, std::uint64_t seq) noexcept {
    while (!unstamped_.empty()) {
      set* s = unstamped_.front();
      if (!s->clock().assign(c)) return false;
      s->set_stamp_seq(seq);
      pending_.push_back(unstamped_.pop_front());
    }
    return true;
  }

  /// The oldest stamped set if `newest` dominates its stamp (I3), taken out of the queue;
  /// else nullptr. Called in a loop, it collects a prefix of the queue: domination is
  /// monotone along it (free_set.hpp, I4), so the first set not dominated ends the prefix.
  set* pop_collectable(const vector_clock<Policy>& newest) noexcept {
    if (pending_.empty() || !newest.newer_than(pending_.front()->clock())) return nullptr;
    return pending_.pop_front();
  }

  /// An empty set, recycled or new; nullptr when memory for a new one runs out. A new set
  /// comes with room for a clock of `clock_entries` entries (the slots of the owner's latest
  /// clock), so that stamping it needs no memory unless the domain grows meanwhile: a set
  /// filled while memory runs out can still be stamped, collected and reused.
  [[gnu::noinline]] set* take_set(std::size_t clock_entries) noexcept {
    if (!available_.empty()) return available_.pop();
    set* s = set::create(capacity_);
    if (s != nullptr && !s->clock().reserve(clock_entries)) {
      set::destroy(s);
      return nullptr;
    }
    return s;
  }
  /// Whether an empty set is at hand without allocating.
  bool has_available() const noexcept { return !available_.empty(); }
  /// Teardown: the next set still waiting -- stamped ones oldest first, then unstamped ones,
  /// then the filling one -- taken out of the pipeline; nullptr when none is left.
  set* take_for_teardown() noexcept {
    if (!pending_.empty()) return pending_.pop_front();
    if (!unstamped_.empty()) return unstamped_.pop_front();
    set* s = filling_;
    filling_ = nullptr;
    return s;
  }

  /// Calls f(set) for every set that holds objects (filling, unstamped, pending).
  template <class F>
  void for_each_set(F f) const {
    if (filling_ != nullptr) f(*filling_);
    for (const set* x = unstamped_.front(); x != nullptr; x = x->next()) f(*x);
    for (const set* x = pending_.front(); x != nullptr; x = x->next()) f(*x);
  }

  /// An emptied set goes back to the available stack.
  void recycle(set* s) noexcept {
    s->recycle();
    available_.push(s);
  }

 private:
  std::size_t capacity_;
  set* filling_ = nullptr;
  set_queue<Policy> unstamped_;  // full, waiting for a stamp, oldest first
  set_queue<Policy> pending_;    // stamped, waiting for a newer clock, oldest first
  set_stack<Policy> available_;  // empty, for reuse
};

}  // namespace ssmem

#endif
