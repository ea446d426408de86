// The checked build (SSMEM_CHECKED=1, `--config=checked`): misuse detection outside the
// algorithm. A process-wide registry maps every chunk to its object size and a bitmap of
// objects currently handed out. deallocate() of a pointer inside a chunk of another object
// size is a wrong size; not at an object boundary, a bad pointer; whose bit is clear, a
// double free. Each aborts with a message naming the misuse.
//
// A pointer in no chunk is a foreign object (from malloc, a static, another allocator): as
// with the original, freeing it through ssmem_free adopts it -- it joins the free set and
// becomes an object of that allocator, handed out again later. The registry then tracks it
// like a chunk object (freed / handed out), so freeing it twice is still a double free.
// Releasing it (ssmem_release) while handed out gives it back to the system and ends the
// tracking; releasing it while it sits in a free set is a double free.
//
// No C++ runtime (libssmem.a links into C programs without libstdc++): a pthread mutex,
// malloc'd tables, a constant-initialised instance that is never destroyed. The mutex is
// taken around fork() by the library's atfork handlers (ssmem.cc). Native builds only.
#ifndef SSMEM_DETAIL_CHECKED_HPP
#define SSMEM_DETAIL_CHECKED_HPP

#ifndef SSMEM_CHECKED
#define SSMEM_CHECKED 0
#endif

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ssmem/detail/report.hpp"

namespace ssmem::detail {

inline constexpr bool checked = SSMEM_CHECKED != 0;

class checked_registry {
 public:
  static checked_registry& instance() noexcept;

  void add_chunk(const void* begin, std::size_t bytes, std::size_t first, std::size_t object_size) {
    chunk c;
    c.begin = reinterpret_cast<std::uintptr_t>(begin);
    c.end = c.begin + bytes;
    c.first = c.begin + first;
    c.object_size = object_size;
    std::size_t words = ((bytes - first) / object_size + 63) / 64;
    c.live = static_cast<std::uint64_t*>(std::calloc(words ? words : 1, sizeof(std::uint64_t)));
    if (c.live == nullptr) fatal("ssmem_alloc", "checked build: out of memory for the registry");
    lock g(mu_);
    if (nchunks_ == chunk_cap_) {
      std::size_t cap = chunk_cap_ ? 2 * chunk_cap_ : 16;
      auto* grown = static_cast<chunk*>(std::realloc(chunks_, cap * sizeof(chunk)));
      if (grown == nullptr) fatal("ssmem_alloc", "checked build: out of memory for the registry");
      chunks_ = grown;
      chunk_cap_ = cap;
    }
    std::size_t i = upper_bound(c.begin);
    std::memmove(chunks_ + i + 1, chunks_ + i, (nchunks_ - i) * sizeof(chunk));
    chunks_[i] = c;
    ++nchunks_;
  }

  void remove_chunk(const void* begin) {
    lock g(mu_);
    auto a = reinterpret_cast<std::uintptr_t>(begin);
    std::size_t i = upper_bound(a);
    if (i == 0 || chunks_[i - 1].begin != a) return;
    --i;
    std::free(chunks_[i].live);
    std::memmove(chunks_ + i, chunks_ + i + 1, (nchunks_ - i - 1) * sizeof(chunk));
    --nchunks_;
  }

  void on_allocate(const void* p, const char* api) {
    lock g(mu_);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    if (chunk* c = find(a); c != nullptr) {
      std::size_t bit = check_object(c, a, 0, api);
      std::uint64_t m = std::uint64_t{1} << (bit % 64);
      if (c->live[bit / 64] & m) fatal(api, "internal error: object handed out twice", p);
      c->live[bit / 64] |= m;
      return;
    }
    adopted* e = lookup(a);
    if (e == nullptr || e->state != adopted_free) {
      fatal(api, "internal error: handed out an object the registry does not hold as free", p);
    }
    e->state = adopted_live;
  }

  void on_free(const void* p, std::size_t object_size, const char* api) {
    lock g(mu_);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    if (chunk* c = find(a); c != nullptr) {
      std::size_t bit = check_object(c, a, object_size, api);
      std::uint64_t m = std::uint64_t{1} << (bit % 64);
      if ((c->live[bit / 64] & m) == 0) {
        fatal(api, "double free: object is not allocated (freed before and not reallocated)", p);
      }
      c->live[bit / 64] &= ~m;
      return;
    }
    adopted* e = lookup(a);
    if (e == nullptr) {
      adopt(a, api);  // a foreign object joins the allocator, as with the original
    } else if (e->state == adopted_live) {
      e->state = adopted_free;
    } else {
      fatal(api, "double free: object is not allocated (freed before and not reallocated)", p);
    }
  }

  void on_release(const void* p, const char* api) {
    lock g(mu_);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    if (find(a) != nullptr) {
      fatal(api, "release of an object that came from ssmem_alloc: use ssmem_free for it", p);
    }
    adopted* e = lookup(a);
    if (e == nullptr) return;
    if (e->state != adopted_live) {
      fatal(api, "release of an object that sits in a free set (freed with ssmem_free, not reallocated)", p);
    }
    e->state = adopted_gone;  // back to the system: no longer an ssmem object
    --adopted_count_;
  }

  // fork(): the library's atfork handlers (ssmem.cc) hold the lock across fork() and
  // release it after, in the parent and in the child (the forking thread owns it there).
  void lock_for_fork() noexcept { pthread_mutex_lock(&mu_); }
  void unlock_after_fork() noexcept { pthread_mutex_unlock(&mu_); }
  // In the child the forking thread, which took the lock in lock_for_fork(), still owns it.
  void unlock_in_child() noexcept { pthread_mutex_unlock(&mu_); }

 private:
  struct lock {
    explicit lock(pthread_mutex_t& m) noexcept : m_(m) { pthread_mutex_lock(&m_); }
    ~lock() { pthread_mutex_unlock(&m_); }
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    pthread_mutex_t& m_;
  };

  struct chunk {
    std::uintptr_t begin, end, first;
    std::size_t object_size;
    std::uint64_t* live;  // one bit per object: handed out
  };

  // Adopted objects: an open-addressing hash table (linear probing; a released entry stays
  // as a tombstone until the next growth).
  static constexpr unsigned char adopted_empty = 0, adopted_free = 1, adopted_live = 2,
                                 adopted_gone = 3;
  struct adopted {
    std::uintptr_t addr;
    unsigned char state;
  };

  // The first chunk beginning above `a`.
  std::size_t upper_bound(std::uintptr_t a) const noexcept {
    std::size_t lo = 0, hi = nchunks_;
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (chunks_[mid].begin <= a) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  chunk* find(std::uintptr_t a) const noexcept {
    std::size_t i = upper_bound(a);
    if (i == 0) return nullptr;
    return a < chunks_[i - 1].end ? &chunks_[i - 1] : nullptr;
  }

  // The object index of `a` in chunk `c`, after the size and boundary checks.
  static std::size_t check_object(const chunk* c, std::uintptr_t a, std::size_t object_size,
                                  const char* api) {
    const void* p = reinterpret_cast<const void*>(a);
    if (object_size != 0 && c->object_size != object_size) {
      fatal(api, "wrong size: object belongs to an allocator of another object size", p);
    }
    if (a < c->first || (a - c->first) % c->object_size != 0) {
      fatal(api, "foreign pointer: inside an ssmem chunk but not the start of an ssmem object", p);
    }
    return (a - c->first) / c->object_size;
  }

  std::size_t slot_of(std::uintptr_t a) const noexcept {
    std::uint64_t h = (static_cast<std::uint64_t>(a) >> 3) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h ^ (h >> 32)) & (table_cap_ - 1);
  }

  adopted* lookup(std::uintptr_t a) noexcept {
    if (table_cap_ == 0) return nullptr;
    for (std::size_t i = slot_of(a);; i = (i + 1) & (table_cap_ - 1)) {
      adopted& e = table_[i];
      if (e.state == adopted_empty) return nullptr;
      if (e.addr == a && e.state != adopted_gone) return &e;
    }
  }

  void adopt(std::uintptr_t a, const char* api) {
    if (2 * (table_used_ + 1) > table_cap_) grow(api);
    std::size_t i = slot_of(a);
    while (table_[i].state != adopted_empty) i = (i + 1) & (table_cap_ - 1);
    table_[i] = adopted{a, adopted_free};
    ++table_used_;
    ++adopted_count_;
  }

  void grow(const char* api) {
    // Room for twice the live entries (tombstones are dropped), at least 64 slots.
    std::size_t cap = 64;
    while (cap < 4 * (adopted_count_ + 1)) cap *= 2;
    auto* t = static_cast<adopted*>(std::calloc(cap, sizeof(adopted)));
    if (t == nullptr) fatal(api, "checked build: out of memory for the registry");
    adopted* old = table_;
    std::size_t old_cap = table_cap_;
    table_ = t;
    table_cap_ = cap;
    table_used_ = 0;
    for (std::size_t j = 0; j < old_cap; ++j) {
      if (old[j].state != adopted_free && old[j].state != adopted_live) continue;
      std::size_t i = slot_of(old[j].addr);
      while (table_[i].state != adopted_empty) i = (i + 1) & (table_cap_ - 1);
      table_[i] = old[j];
      ++table_used_;
    }
    std::free(old);
  }

  pthread_mutex_t mu_ = PTHREAD_MUTEX_INITIALIZER;
  chunk* chunks_ = nullptr;  // sorted by begin
  std::size_t nchunks_ = 0;
  std::size_t chunk_cap_ = 0;
  adopted* table_ = nullptr;
  std::size_t table_cap_ = 0;      // a power of two, or 0
  std::size_t table_used_ = 0;     // slots not empty (tombstones included)
  std::size_t adopted_count_ = 0;  // entries free or live
};

/// The registry: constant-initialised (usable from any static initialiser, no guard) and
/// never destroyed (static allocators may terminate after it would be).
inline constinit checked_registry the_checked_registry{};

inline checked_registry& checked_registry::instance() noexcept { return the_checked_registry; }

}  // namespace ssmem::detail

#endif
