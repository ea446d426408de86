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
// Per thread (checked_thread below): the calls of the API in progress, so that a call that
// arrives while another one of the same thread is in progress -- from a signal handler that
// interrupted it -- aborts naming that, instead of waiting for a lock its own thread holds or
// changing an allocator in the middle of an update; a deleter (user code that ssmem calls)
// may call ssmem again, on other allocators. And the thread's identity (a number unique for
// the process's lifetime, and its kernel id for messages), for the owner-only checks.
//
// No C++ runtime (libssmem.a links into C programs without libstdc++): a pthread mutex,
// malloc'd tables, a constant-initialised instance that is never destroyed, a trivial
// thread_local. The mutex is taken around fork() by the library's atfork handlers
// (ssmem.cc). Native builds only.
#ifndef SSMEM_DETAIL_CHECKED_HPP
#define SSMEM_DETAIL_CHECKED_HPP

#ifndef SSMEM_CHECKED
#define SSMEM_CHECKED 0
#endif

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "ssmem/detail/report.hpp"

namespace ssmem::detail {

inline constexpr bool checked = SSMEM_CHECKED != 0;

/// What the checked build knows about the calling thread (constant-initialised and trivial:
/// no C++ runtime, see the file comment). Every member is the thread's own.
struct checked_thread_state {
  /// How many allocators of calls in progress are remembered (deeper nesting is not checked).
  static constexpr unsigned tracked = 8;
  const void* allocators[tracked];  ///< the allocator of each call in progress, outermost first
  unsigned calls;                   ///< API calls in progress on this thread
  unsigned deleters;                ///< deleters (user code called from inside a call) running
  unsigned locks;                   ///< one bit per library lock this thread holds or is taking
  int tid;                          ///< the kernel's thread id, 0 until read (reset in a fork child)
  std::uint64_t serial;             ///< this thread's number, 0 until given (never reused)
};
inline constinit thread_local checked_thread_state checked_thread{};
inline constinit std::uint64_t checked_last_serial = 0;

/// fatal() for a call made from a signal handler: the message goes out with write(2), which
/// is async-signal-safe (stdio is not: the interrupted code may hold stderr's lock).
[[noreturn]] inline void fatal_in_handler(const char* api, const char* what) noexcept {
  const char* parts[] = {"ssmem: ", api, ": ", what, "\n"};
  for (const char* p : parts) {
    for (std::size_t n = std::strlen(p); n > 0;) {
      ssize_t w = ::write(2, p, n);
      if (w <= 0) break;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  std::abort();
}

/// The calling thread's kernel id (for messages).
inline int checked_tid() noexcept {
  checked_thread_state& t = checked_thread;
  if (t.tid == 0) t.tid = static_cast<int>(::syscall(SYS_gettid));
  return t.tid;
}

/// The calling thread's number: unique for the lifetime of the process (a kernel id or a
/// pthread_t is reused by later threads), the identity of owner-only checks.
inline std::uint64_t checked_serial() noexcept {
  checked_thread_state& t = checked_thread;
  if (t.serial == 0) t.serial = __atomic_add_fetch(&checked_last_serial, 1, __ATOMIC_RELAXED);
  return t.serial;
}

/// One call of the API in progress on this thread (the checked build wraps each entry point
/// in one; `allocator` is the allocator it works on, or nullptr). A call that starts while
/// another call of the thread is inside the library -- not inside a deleter that call runs --
/// came from a signal handler that interrupted it: it aborts, naming that, rather than wait
/// for a lock its own thread holds (a hang) or change an allocator in the middle of an update.
/// A call on an allocator whose call is in progress (a deleter that uses the allocator it
/// runs in) aborts too.
class checked_call {
 public:
  checked_call(const char* api, const void* allocator) noexcept {
    checked_thread_state& t = checked_thread;
    if (t.calls > t.deleters) {
      fatal_in_handler(api, "called while another ssmem call of this thread is in progress: from a signal "
                 "handler that interrupted it? ssmem functions are not async-signal-safe (ssmem.h, "
                 "\"Signals\")");
    }
    for (unsigned i = 0; allocator != nullptr && i < t.calls && i < checked_thread_state::tracked; ++i) {
      if (t.allocators[i] == allocator) {
        fatal(api, "allocator re-entered while a call on it is in progress on this thread (a "
                   "deleter that uses the allocator it runs in?)", allocator);
      }
    }
    if (t.calls < checked_thread_state::tracked) t.allocators[t.calls] = allocator;
    ++t.calls;
  }
  ~checked_call() { --checked_thread.calls; }
  checked_call(const checked_call&) = delete;
  checked_call& operator=(const checked_call&) = delete;
};

/// A deleter (user code: ssmem_retire's function, ~T() of object_pool::retire) runs inside a
/// call: it may call the API again, on other allocators.
class checked_deleter {
 public:
  checked_deleter() noexcept { ++checked_thread.deleters; }
  ~checked_deleter() { --checked_thread.deleters; }
  checked_deleter(const checked_deleter&) = delete;
  checked_deleter& operator=(const checked_deleter&) = delete;
};

/// Nothing: what the plain build has in place of checked_call / checked_deleter.
struct unchecked_scope {
  constexpr unchecked_scope() noexcept = default;
  constexpr unchecked_scope(const char*, const void*) noexcept {}
};
/// The call guard of this build (see checked_call).
using call_guard = std::conditional_t<checked, checked_call, unchecked_scope>;
/// The deleter guard of this build (see checked_deleter).
using deleter_guard = std::conditional_t<checked, checked_deleter, unchecked_scope>;

/// Bits of checked_thread_state::locks.
inline constexpr unsigned registry_lock_bit = 1, registration_lock_bit = 2;

/// Takes a library mutex, unless the calling thread holds it already (or is taking it): that
/// can only be a signal handler that interrupted the thread inside the library, and waiting
/// would never end. The bit is set before the lock is taken, so a handler that runs between
/// the two aborts too.
inline void checked_lock(pthread_mutex_t& m, unsigned bit, const char* api) noexcept {
  checked_thread_state& t = checked_thread;
  if (t.locks & bit) {
    fatal_in_handler(api, "a lock of the library taken again by the thread that holds it: from a signal "
               "handler that interrupted an ssmem call? ssmem functions are not async-signal-safe");
  }
  t.locks |= bit;
  pthread_mutex_lock(&m);
}
/// Releases checked_lock()'s mutex.
inline void checked_unlock(pthread_mutex_t& m, unsigned bit) noexcept {
  pthread_mutex_unlock(&m);
  checked_thread.locks &= ~bit;
}

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
    lock g(mu_, "ssmem_alloc");
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
    lock g(mu_, "ssmem_alloc_term");
    auto a = reinterpret_cast<std::uintptr_t>(begin);
    std::size_t i = upper_bound(a);
    if (i == 0 || chunks_[i - 1].begin != a) return;
    --i;
    std::free(chunks_[i].live);
    std::memmove(chunks_ + i, chunks_ + i + 1, (nchunks_ - i - 1) * sizeof(chunk));
    --nchunks_;
  }

  void on_allocate(const void* p, const char* api) {
    lock g(mu_, api);
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
    lock g(mu_, api);
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
    lock g(mu_, api);
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

  // An allocator ends with `p` in one of its sets: a foreign object it adopted is forgotten
  // (ssmem never hands it out or gives it back again; the program may take its memory back).
  void on_dropped(const void* p, const char* api) {
    lock g(mu_, api);
    adopted* e = lookup(reinterpret_cast<std::uintptr_t>(p));
    if (e == nullptr) return;
    e->state = adopted_gone;
    --adopted_count_;
  }

  // fork(): the library's atfork handlers (ssmem.cc) hold the lock across fork() and
  // release it after, in the parent and in the child (the forking thread owns it there).
  void lock_for_fork() noexcept { checked_lock(mu_, registry_lock_bit, "fork"); }
  void unlock_after_fork() noexcept { checked_unlock(mu_, registry_lock_bit); }
  // In the child the forking thread, which took the lock in lock_for_fork(), still owns it.
  void unlock_in_child() noexcept { checked_unlock(mu_, registry_lock_bit); }

 private:
  struct lock {
    lock(pthread_mutex_t& m, const char* api) noexcept : m_(m) { checked_lock(m_, registry_lock_bit, api); }
    ~lock() { checked_unlock(m_, registry_lock_bit); }
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
