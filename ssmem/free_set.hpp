/// \file
/// A free set: a fixed-capacity array of freed objects and the vector clock of the stamp that
/// covered it (a stamp may come later than the moment the set filled: sets are stamped in
/// batches, and a stamp may be put off). Invariant I4: a free set is collected only after it
/// was stamped (a snapshot taken after a heavy fence that follows the unlinks of its objects)
/// and a clock the allocator read later is newer than its stamp; all older stamped sets go
/// with it; no set is collected by its own stamp. Older sets can go with it because the clocks
/// that one thread reads only grow entrywise (docs/design.md §3, step 5).
/// Free sets are owner-only data of one allocator: no atomics here.
#ifndef SSMEM_FREE_SET_HPP
#define SSMEM_FREE_SET_HPP

#include <cstddef>
#include <cstdint>
#include <new>

#include "ssmem/vector_clock.hpp"

namespace ssmem {

/// A fixed-capacity array of freed objects and the clock stamped on it (I4). Owner-only.
template <class Policy>
class free_set {
 public:
  /// One allocation holds the header and `capacity` slots. nullptr when memory runs out.
  static free_set* create(std::size_t capacity) noexcept {
    void* mem = Policy::allocate(bytes_for(capacity));
    if (mem == nullptr) return nullptr;
    return new (mem) free_set(capacity);
  }
  /// Frees a set made by create() (its objects are not touched).
  static void destroy(free_set* s) noexcept {
    std::size_t cap = s->capacity_;
    s->~free_set();
    Policy::deallocate(s, bytes_for(cap));
  }

  /// Slots in the set.
  std::size_t capacity() const noexcept { return capacity_; }
  /// Objects in the set.
  std::size_t count() const noexcept { return count_; }
  /// No free slot left: time to stamp.
  bool full() const noexcept { return count_ == capacity_; }
  /// No object left.
  bool empty() const noexcept { return count_ == 0; }

  /// Adds an object. Precondition: !full().
  void push(void* obj) noexcept { slots()[count_++] = obj; }
  /// Removes the last object added. Precondition: !empty().
  void* pop() noexcept { return slots()[--count_]; }
  /// The i-th object, for diagnostics.
  void* at(std::size_t i) const noexcept { return slots()[i]; }

  /// Back to an empty, unstamped set (the clock's buffer is kept for the next stamp).
  void recycle() noexcept {
    count_ = 0;
    clock_.mark_stamped(false);
    next_ = nullptr;
  }

  /// The owner's stamp counter when this set was stamped (for the age in statistics).
  std::uint64_t stamp_seq() const noexcept { return stamp_seq_; }
  /// Records the owner's stamp counter at this set's stamp.
  void set_stamp_seq(std::uint64_t s) noexcept { stamp_seq_ = s; }

  /// The clock stamped on this set (stamped() false until then).
  vector_clock<Policy>& clock() noexcept { return clock_; }
  /// The clock stamped on this set.
  const vector_clock<Policy>& clock() const noexcept { return clock_; }
  /// Link in the list that holds the set.
  free_set* next() const noexcept { return next_; }
  /// Sets the link in the list that holds the set.
  void set_next(free_set* n) noexcept { next_ = n; }

 private:
  explicit free_set(std::size_t capacity) noexcept : capacity_(capacity) {}
  static std::size_t bytes_for(std::size_t capacity) noexcept {
    return sizeof(free_set) + capacity * sizeof(void*);
  }
  void** slots() const noexcept {
    return reinterpret_cast<void**>(const_cast<free_set*>(this) + 1);
  }

  std::size_t capacity_;
  std::size_t count_ = 0;
  free_set* next_ = nullptr;
  std::uint64_t stamp_seq_ = 0;
  vector_clock<Policy> clock_;
};

/// A FIFO of free sets, oldest first: stamped sets wait here for a newer clock.
template <class Policy>
class set_queue {
 public:
  /// The element type.
  using set = free_set<Policy>;
  /// No set queued.
  bool empty() const noexcept { return head_ == nullptr; }
  /// The oldest set, or nullptr.
  set* front() const noexcept { return head_; }
  /// Sets queued.
  std::size_t size() const noexcept { return size_; }
  /// Objects in the queued sets.
  std::size_t objects() const noexcept { return objects_; }
  /// Queues a set as the newest.
  void push_back(set* s) noexcept {
    s->set_next(nullptr);
    if (tail_ != nullptr) tail_->set_next(s); else head_ = s;
    tail_ = s;
    ++size_;
    objects_ += s->count();
  }
  /// Removes and returns the oldest set. Precondition: !empty().
  set* pop_front() noexcept {
    set* s = head_;
    head_ = s->next();
    if (head_ == nullptr) tail_ = nullptr;
    s->set_next(nullptr);
    --size_;
    objects_ -= s->count();
    return s;
  }

 private:
  set* head_ = nullptr;
  set* tail_ = nullptr;
  std::size_t size_ = 0;
  std::size_t objects_ = 0;
};

/// A LIFO of free sets linked through next(): collected sets and recycled (available) ones.
template <class Policy>
class set_stack {
 public:
  /// The element type.
  using set = free_set<Policy>;
  /// No set held.
  bool empty() const noexcept { return head_ == nullptr; }
  /// The last set pushed, or nullptr.
  set* top() const noexcept { return head_; }
  /// Sets held.
  std::size_t size() const noexcept { return size_; }
  /// Pushes a set.
  void push(set* s) noexcept {
    s->set_next(head_);
    head_ = s;
    ++size_;
  }
  /// Removes and returns the top set. Precondition: !empty().
  set* pop() noexcept {
    set* s = head_;
    head_ = s->next();
    s->set_next(nullptr);
    --size_;
    return s;
  }

 private:
  set* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ssmem

#endif
