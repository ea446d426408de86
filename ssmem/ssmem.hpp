// The C++ API: RAII over the policy-templated algorithm with the native policy.
//
//   ssmem::thread_scope t;                       // register this thread (default domain)
//   ssmem::object_pool<node> pool(t);            // one object size, owned by this thread
//   node* n = pool.create(args...);              // construct
//   pool.destroy(n);                             // ~node(), memory reused after a grace period
//   t.safe_to_reclaim();                         // explicit bump (ts_policy::none)
//
// Threading contract: a thread_scope, and every allocator/object_pool built on it, belongs to
// the thread that created it; only that thread calls their members. A thread may use a
// reference it loaded from shared memory until its next version change (see options::bump_on).
#ifndef SSMEM_SSMEM_HPP
#define SSMEM_SSMEM_HPP

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "ssmem/allocator.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/native_policy.hpp"
#include "ssmem/options.hpp"

namespace ssmem {

using domain = basic_domain<native_policy>;
using record = thread_record<native_policy>;

/// The process-wide domain that the C API uses; created on first use, never destroyed (so a
/// thread that outlives main() can still deregister safely).
domain& default_domain();

/// Registration of the calling thread in a domain, for the scope's lifetime. Scopes nest:
/// ssmem::safe_to_reclaim() bumps the innermost one of the calling thread.
class thread_scope {
 public:
  /// Registers the calling thread. Throws std::bad_alloc when no record can be created.
  explicit thread_scope(domain& d = default_domain());
  /// Deregisters: the record goes offline and is adopted by a later thread, never freed.
  ~thread_scope();
  thread_scope(const thread_scope&) = delete;
  thread_scope& operator=(const thread_scope&) = delete;

  /// The calling thread holds no reference it loaded before this call.
  void safe_to_reclaim() noexcept { rec_->bump(); }

  domain& get_domain() const noexcept { return *domain_; }
  record& get_record() const noexcept { return *rec_; }

 private:
  domain* domain_;
  record* rec_;
  thread_scope* outer_;
};

/// Bumps the innermost thread_scope of the calling thread; does nothing without one.
void safe_to_reclaim() noexcept;

/// An allocator of one object size for the thread of `scope`.
class allocator {
 public:
  allocator(thread_scope& scope, std::size_t object_size, const options& o = options{}) noexcept
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(object_size), o) {}

  /// An object of object_size() bytes. Throws std::bad_alloc when memory runs out.
  void* allocate() {
    void* p = impl_.allocate();
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  /// Frees `p` (nullptr: no-op); it is reused once every thread has moved on.
  void deallocate(void* p) noexcept { impl_.deallocate(p); }
  /// Gives `p` (from malloc) back to the system once every thread has moved on.
  void release(void* p) noexcept { impl_.release(p); }

  std::size_t object_size() const noexcept { return impl_.object_size(); }
  allocator_stats stats() const noexcept { return impl_.stats(); }
  basic_allocator<native_policy>& impl() noexcept { return impl_; }

 private:
  basic_allocator<native_policy> impl_;
};

/// Typed objects on an ssmem allocator.
template <class T>
class object_pool {
  static_assert(alignof(T) <= 64, "ssmem objects are aligned to at most a cache line");

 public:
  explicit object_pool(thread_scope& scope, const options& o = options{}) noexcept
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(sizeof(T), alignof(T) < 8 ? 8 : alignof(T)), o) {}

  /// Constructs a T. Throws std::bad_alloc, or what T's constructor throws (the memory is
  /// then reusable at once: no other thread has seen it).
  template <class... Args>
  T* create(Args&&... args) {
    void* p = impl_.allocate();
    if (p == nullptr) throw std::bad_alloc();
    try {
      return ::new (p) T(std::forward<Args>(args)...);
    } catch (...) {
      impl_.deallocate(p);
      throw;
    }
  }

  /// Runs ~T() now and frees the memory for reuse after the grace period. Readers that still
  /// hold `p` read what ~T() left: prefer trivially destructible nodes in lock-free code.
  void destroy(T* p) noexcept {
    if (p == nullptr) return;
    p->~T();
    impl_.deallocate(p);
  }

  allocator_stats stats() const noexcept { return impl_.stats(); }

 private:
  basic_allocator<native_policy> impl_;
};

}  // namespace ssmem

#endif
