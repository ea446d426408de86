/// \file
/// A vector clock: one version per thread-record slot, read by a snapshot of the domain (a
/// stamp, or a probe). Invariant I3: clock N is newer than clock O iff every online (even)
/// entry of O is strictly smaller in N; offline entries of O, and slots registered after O was
/// taken, are ignored. Such threads went online after the snapshot and, by [S2]/[S5], cannot
/// have loaded what was unlinked before it.
/// Clocks are owner-only data of one allocator: no atomics here.
#ifndef SSMEM_VECTOR_CLOCK_HPP
#define SSMEM_VECTOR_CLOCK_HPP

#include <cstddef>
#include <cstring>

#include "ssmem/thread_record.hpp"

namespace ssmem {

/// One version per record slot (see the file comment). Owner-only data of one allocator.
template <class Policy>
class vector_clock {
 public:
  vector_clock() = default;
  vector_clock(const vector_clock&) = delete;
  vector_clock& operator=(const vector_clock&) = delete;
  ~vector_clock() { reset(); }

  /// Number of entries.
  std::size_t size() const noexcept { return size_; }
  /// Whether a snapshot has been written since the last reset or recycle.
  bool stamped() const noexcept { return stamped_; }
  /// Entry i. Precondition: i < size().
  version_t operator[](std::size_t i) const noexcept { return entries_[i]; }

  /// Makes room for n entries; false (clock unchanged) when memory runs out.
  bool resize(std::size_t n) noexcept {
    if (n > capacity_) {
      std::size_t cap = capacity_ ? capacity_ : 4;
      while (cap < n) cap *= 2;
      auto* e = static_cast<version_t*>(Policy::allocate(cap * sizeof(version_t)));
      if (e == nullptr) return false;
      if (entries_ != nullptr) Policy::deallocate(entries_, capacity_ * sizeof(version_t));
      entries_ = e;
      capacity_ = cap;
    }
    size_ = n;
    return true;
  }
  /// Makes room for n entries without changing the size; false when memory runs out.
  bool reserve(std::size_t n) noexcept {
    const std::size_t size = size_;
    if (!resize(n)) return false;
    size_ = size;
    return true;
  }
  /// Writes entry i. Precondition: i < size().
  void set(std::size_t i, version_t v) noexcept { entries_[i] = v; }
  /// Copies `other` (entries and stamped flag); false (clock unchanged) when memory runs out.
  bool assign(const vector_clock& other) noexcept {
    if (!resize(other.size_)) return false;
    if (other.size_ != 0) std::memcpy(entries_, other.entries_, other.size_ * sizeof(version_t));
    stamped_ = other.stamped_;
    return true;
  }
  /// Marks the clock as holding a snapshot (or not).
  void mark_stamped(bool s) noexcept { stamped_ = s; }

  /// I3: every online entry of `old` is strictly smaller here.
  bool newer_than(const vector_clock& old) const noexcept {
    // Records are never removed, so a later snapshot is never shorter (I2); a shorter one
    // would not be a later snapshot of the same domain.
    if (size_ < old.size_) return false;
    for (std::size_t i = 0; i < old.size_; ++i) {
      version_t o = old.entries_[i];
      if (version_is_offline(o)) continue;
      if (entries_[i] <= o) return false;
    }
    return true;
  }

  /// Frees the entries.
  void reset() noexcept {
    if (entries_ != nullptr) Policy::deallocate(entries_, capacity_ * sizeof(version_t));
    entries_ = nullptr;
    size_ = capacity_ = 0;
    stamped_ = false;
  }

 private:
  version_t* entries_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool stamped_ = false;
};

}  // namespace ssmem

#endif
