/// \file
/// The C++ API: RAII over the policy-templated algorithm with the native policy.
///
///   ssmem::thread_scope t;                       // register this thread (default domain)
///   ssmem::object_pool<node> pool(t);            // one object size, owned by this thread
///   node* n = pool.create(args...);              // construct
///   pool.destroy(n);                             // ~node(), memory reused after a grace period
///   t.safe_to_reclaim();                         // explicit bump (ts_policy::none)
///
/// Threading contract: a thread_scope, and every allocator/object_pool built on it, belongs to
/// the thread that created it; only that thread calls their members. A thread may use a
/// reference it loaded from shared memory until its next version change (see options::bump_on).
#ifndef SSMEM_SSMEM_HPP
#define SSMEM_SSMEM_HPP

#include <cstddef>
#include <new>
#include <ostream>
#include <type_traits>
#include <utility>

#include "ssmem/allocator.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/native_policy.hpp"
#include "ssmem/options.hpp"

namespace ssmem {

/// A domain of the native policy.
using domain = basic_domain<native_policy>;
/// A thread record of the native policy.
using record = thread_record<native_policy>;

/// The process-wide domain that the C API uses; constant-initialised, never destroyed (so a
/// thread that outlives main() can still deregister safely).
domain& default_domain();

class thread_scope;

namespace detail {
// Defined in ssmem.cc, which is built without the C++ runtime (a C program links libssmem.a
// without libstdc++). What needs the runtime -- exceptions, thread_local objects with
// destructors, iostreams -- is inline here, compiled into the C++ program that uses it.
/// The calling thread's innermost-scope slot.
thread_scope*& innermost_scope_slot() noexcept;
/// One line of statistics, as operator<< prints it, into `buf` (snprintf's contract).
int format_stats(char* buf, std::size_t n, const allocator_stats& s) noexcept;
/// As above, for a domain.
int format_stats(char* buf, std::size_t n, const domain_stats& s) noexcept;
/// Throws std::bad_alloc from out of line, so that the callers' fast paths inline (without
/// exceptions, -fno-exceptions: aborts with a message).
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_bad_alloc() {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  throw std::bad_alloc();
#else
  fatal("ssmem", "out of memory (std::bad_alloc, built without exceptions)");
#endif
}
}  // namespace detail

/// Registration of the calling thread in a domain, for the scope's lifetime. Scopes nest:
/// ssmem::safe_to_reclaim() bumps the innermost one of the calling thread.
class thread_scope {
 public:
  /// Registers the calling thread. Throws std::bad_alloc when no record can be created.
  explicit thread_scope(domain& d = default_domain())
      : domain_(&d), rec_(d.register_thread()), outer_(detail::innermost_scope_slot()) {
    if (rec_ == nullptr) detail::throw_bad_alloc();
    detail::innermost_scope_slot() = this;
  }
  /// Deregisters: the record goes offline and is adopted by a later thread, never freed.
  ~thread_scope() {
    domain_->unregister_thread(rec_);
    detail::innermost_scope_slot() = outer_;
  }
  thread_scope(const thread_scope&) = delete;
  thread_scope& operator=(const thread_scope&) = delete;

  /// The calling thread holds no reference it loaded before this call.
  void safe_to_reclaim() noexcept { rec_->bump(); }

  /// Idle: the thread holds no references until online(), and blocks no collection
  /// meanwhile (like liburcu's rcu_thread_offline). It must not touch shared objects, nor
  /// allocate or free, while offline. Both are idempotent.
  void offline() noexcept {
    if (rec_->is_online()) rec_->go_offline();
  }
  /// Back online after offline(): may load shared references again.
  void online() noexcept {
    if (!rec_->is_online()) rec_->go_online();
  }
  /// Whether the thread is online in this scope's domain.
  bool is_online() const noexcept { return rec_->is_online(); }

  /// The domain the thread is registered in.
  domain& get_domain() const noexcept { return *domain_; }
  /// The thread's record.
  record& get_record() const noexcept { return *rec_; }
  /// The scope this one is nested in on the same thread, or nullptr.
  thread_scope* outer() const noexcept { return outer_; }

 private:
  domain* domain_;
  record* rec_;
  thread_scope* outer_;
};

/// The calling thread's own scope in default_domain(), created on first use and destroyed
/// (the thread deregistered) when the thread exits: the thread-exit hook for programs that
/// do not manage a thread_scope themselves. Throws std::bad_alloc like thread_scope.
inline thread_scope& this_thread() {
  thread_local thread_scope scope(default_domain());
  return scope;
}

/// The innermost thread_scope of the calling thread, or nullptr.
thread_scope* innermost_scope_of_this_thread() noexcept;

/// Bumps the innermost thread_scope of the calling thread; does nothing without one.
inline void safe_to_reclaim() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) s->safe_to_reclaim();
}
/// offline() of the innermost thread_scope of the calling thread (none: no-op).
inline void offline() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) s->offline();
}
/// online() of the innermost thread_scope of the calling thread (none: no-op).
inline void online() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) s->online();
}

/// Offline for the guard's lifetime, e.g. around a blocking call.
class offline_guard {
 public:
  /// Goes offline (if online).
  explicit offline_guard(thread_scope& s) noexcept : scope_(s), was_online_(s.is_online()) {
    scope_.offline();
  }
  ~offline_guard() {
    if (was_online_) scope_.online();
  }
  offline_guard(const offline_guard&) = delete;
  offline_guard& operator=(const offline_guard&) = delete;

 private:
  thread_scope& scope_;
  bool was_online_;
};

/// Human-readable allocator statistics, one line.
inline std::ostream& operator<<(std::ostream& os, const allocator_stats& s) {
  char line[640];
  detail::format_stats(line, sizeof line, s);
  return os << line;
}
/// Human-readable domain statistics, one line.
inline std::ostream& operator<<(std::ostream& os, const domain_stats& s) {
  char line[160];
  detail::format_stats(line, sizeof line, s);
  return os << line;
}

/// An allocator of one object size for the thread of `scope`.
class allocator {
 public:
  /// An allocator of `object_size`-byte objects for the thread of `scope`; no memory
  /// is mapped until the first allocation.
  allocator(thread_scope& scope, std::size_t object_size, const options& o = options{}) noexcept
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(object_size), o) {}

  /// An object of object_size() bytes. Throws std::bad_alloc when memory runs out.
  [[gnu::always_inline]] void* allocate() {
    void* p = impl_.allocate();
    if (p == nullptr) [[unlikely]] detail::throw_bad_alloc();
    return p;
  }
  /// Frees `p` (nullptr: no-op); it is reused once every thread has moved on.
  [[gnu::always_inline]] void deallocate(void* p) noexcept { impl_.deallocate(p); }
  /// Gives `p` (from malloc) back to the system once every thread has moved on.
  void release(void* p) noexcept { impl_.release(p); }

  /// Bytes per object (rounded for alignment).
  std::size_t object_size() const noexcept { return impl_.object_size(); }
  /// The counters (owner thread only).
  allocator_stats stats() const noexcept { return impl_.stats(); }
  /// The underlying policy-templated allocator.
  basic_allocator<native_policy>& impl() noexcept { return impl_; }

 private:
  basic_allocator<native_policy> impl_;
};

/// Typed objects on an ssmem allocator.
template <class T>
class object_pool {
  static_assert(alignof(T) <= 64, "ssmem objects are aligned to at most a cache line");

 public:
  /// A pool of T for the thread of `scope`.
  explicit object_pool(thread_scope& scope, const options& o = options{}) noexcept
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(sizeof(T), alignof(T) < 8 ? 8 : alignof(T)), o) {}

  /// Constructs a T. Throws std::bad_alloc, or what T's constructor throws (the memory is
  /// then reusable at once: no other thread has seen it).
  template <class... Args>
  T* create(Args&&... args) {
    void* p = impl_.allocate();
    if (p == nullptr) [[unlikely]] detail::throw_bad_alloc();
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    try {
      return ::new (p) T(std::forward<Args>(args)...);
    } catch (...) {
      impl_.deallocate(p);
      throw;
    }
#else
    return ::new (p) T(std::forward<Args>(args)...);
#endif
  }

  /// Runs ~T() now and frees the memory for reuse after the grace period. Readers that still
  /// hold `p` read what ~T() left: prefer trivially destructible nodes in lock-free code.
  void destroy(T* p) noexcept {
    if (p == nullptr) return;
    p->~T();
    impl_.deallocate(p);
  }

  /// The counters (owner thread only).
  allocator_stats stats() const noexcept { return impl_.stats(); }

 private:
  basic_allocator<native_policy> impl_;
};

}  // namespace ssmem

#endif
