/// \file
/// The C++ API: RAII over the policy-templated algorithm with the native policy.
///
///   ssmem::thread_scope t;                       // register this thread (default domain)
///   ssmem::object_pool<node> pool(t);            // one object size, owned by this thread
///   node* n = pool.create(args...);              // construct
///   pool.destroy(n);                             // ~node(), memory reused after a grace period
///   pool.retire(m);                              // ~node() after the grace period, then reuse
///   t.safe_to_reclaim();                         // explicit bump (ts_policy::none)
///
/// Threading contract: a thread_scope, and every allocator/object_pool built on it, belongs to
/// the thread that created it; only that thread calls their members. A thread may use a
/// reference it loaded from shared memory until its next version change (see options::bump_on).
///
/// The checked build (docs/design.md, "Bad input and faults"): a program compiled with
/// SSMEM_CHECKED=1 -- which it is when it depends on //ssmem:ssmem_checked (the library target
/// passes the definition on to its dependents) or is built with --config=checked -- gets, besides
/// the allocator's checks of every object (double free, wrong size, foreign pointer), the
/// owner-only check of every member of thread_scope, allocator and object_pool (an abort names
/// the owner thread and the calling one) and the check against calls re-entered from a signal
/// handler. impl() gives the algorithm's allocator without these checks.
///
/// Threads that end: a scope that is never destroyed (say, created with new on a thread that
/// then returns, calls pthread_exit or is cancelled) is released when its thread exits, by the
/// library's thread-exit hook: its record goes offline and free, so that it never holds
/// collection back; the checked build prints what was left.
#ifndef SSMEM_SSMEM_HPP
#define SSMEM_SSMEM_HPP

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
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
/// The calling thread's record in default_domain(), shared by the C API's registration and
/// every C++ scope that takes it: registered (or adopted) by the first taker, counted, and
/// unregistered when the last one lets go. nullptr when no record can be created. A use that
/// is not this_thread()'s (`exit_scope`: ended by its thread_local destructor) and is never
/// dropped is dropped by the thread-exit hook.
record* take_default_record(bool exit_scope = false) noexcept;
/// Lets go of one use taken by take_default_record() (with the same `exit_scope`).
void drop_default_record(bool exit_scope = false) noexcept;
/// Notes a record that a scope registered on its own (a domain other than the default one, or
/// separate_record): if the scope is never destroyed, the thread-exit hook unregisters it.
/// False when memory runs out.
bool hold_record(domain& d, record* r) noexcept;
/// The scope that registered `r` in `d` ends: the thread-exit hook has nothing to do for it.
void drop_held_record(domain& d, record* r) noexcept;
/// The checked build's owner-only abort: `what` (a scope, an allocator, a pool) of the thread
/// with C id `owner_label` and kernel id `owner_tid` used by the calling thread.
[[noreturn]] void owner_misuse(const char* api, const char* what, long long owner_label, int owner_tid) noexcept;

/// The thread that a scope, an allocator or a pool belongs to, in the checked build: its
/// number (unique for the process's lifetime) and kernel id; check() aborts, naming both
/// threads, when another thread calls. Empty and free in the plain build.
struct checked_owner {
  std::uint64_t serial = checked_serial();  ///< the owner's number (checked_serial())
  int tid = checked_tid();                  ///< the owner's kernel thread id, for the message
  /// Aborts, naming `what` of the owner and the calling thread, unless the caller owns it.
  void check(const char* api, const char* what, const record& owner_record) const noexcept {
    if (serial != checked_serial()) [[unlikely]] owner_misuse(api, what, owner_record.label(), tid);
  }
};
/// What the plain build has in place of checked_owner.
struct unchecked_owner {
  /// Nothing.
  void check(const char*, const char*, const record&) const noexcept {}
};
/// The owner of this build (see checked_owner).
using owner_id = std::conditional_t<checked, checked_owner, unchecked_owner>;
/// The calling thread's record in default_domain() while some scope or the C API holds it,
/// else nullptr.
record* default_record_of_this_thread() noexcept;
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
/// `o` if options::validate() accepts it; else throws std::invalid_argument naming the option
/// (without exceptions: aborts with the message).
inline const options& validated(const options& o) {
  if (const char* problem = o.validate(); problem != nullptr) [[unlikely]] {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    throw std::invalid_argument(std::string("ssmem options: ") + problem);
#else
    fatal("ssmem options", problem);
#endif
  }
  return o;
}
/// The constructor tag of the scope that this_thread() keeps (see there).
struct thread_exit_scope_t {
  explicit thread_exit_scope_t() = default;
};
}  // namespace detail

/// The tag of thread_scope's constructor that registers a record of its own even when the
/// calling thread already has one in the domain (e.g. a test that lets one OS thread stand for
/// two threads, one of them idle).
struct separate_record_t {
  explicit separate_record_t() = default;
};
/// The value of separate_record_t.
inline constexpr separate_record_t separate_record{};

/// Registration of the calling thread in a domain, for the scope's lifetime.
///
/// Re-entrant: one thread has one record per domain. A scope nested in another scope of the
/// same thread and domain shares that scope's record (it registers nothing, and its bumps move
/// the one entry that collectors read), so nesting never holds collection back. In
/// default_domain() the record is also the one the C API registers (ssmem_alloc_init,
/// ssmem_gc_thread_init): both APIs take it, counted, and the last to let go unregisters it.
/// Scopes end in the reverse order of their construction (a scope destroyed while a scope
/// built after it on the same thread still lives aborts with a message).
///
/// Offline and online act on the record, that is on the thread in the domain: an inner scope's
/// offline() takes the outer scopes offline too. A scope that finds the thread offline in the
/// domain (an outer scope or the C API took it offline) brings it online for its lifetime and
/// takes it offline again when it ends, as offline_guard restores what it found.
///
/// ssmem::safe_to_reclaim() (and offline()/online()) act on the innermost scope of the calling
/// thread.
class thread_scope {
 public:
  /// Registers the calling thread in `d`, or takes the record it already has there (see the
  /// class comment). Throws std::bad_alloc when no record can be created.
  explicit thread_scope(domain& d = default_domain())
      : domain_(&d), outer_(detail::innermost_scope_slot()) {
    for (thread_scope* s = outer_; s != nullptr; s = s->outer_) {
      if (s->domain_ == &d) {
        rec_ = s->rec_;
        use_ = use::nested;
        break;
      }
    }
    if (rec_ == nullptr) {
      if (&d == &default_domain()) {
        rec_ = detail::take_default_record();
        use_ = use::shared_default;
      } else {
        rec_ = register_held(d);
        use_ = use::own;
      }
      if (rec_ == nullptr) detail::throw_bad_alloc();
    }
    if (!rec_->is_online()) {
      rec_->go_online();
      restore_offline_ = true;
    }
    detail::innermost_scope_slot() = this;
  }
  /// Registers a record of its own in `d` even when the calling thread has one there already:
  /// two entries for one OS thread, which collectors treat as two threads. Scopes nested in
  /// this one in `d` share this record.
  thread_scope(domain& d, separate_record_t)
      : domain_(&d), rec_(register_held(d)), outer_(detail::innermost_scope_slot()) {
    if (rec_ == nullptr) detail::throw_bad_alloc();
    detail::innermost_scope_slot() = this;
  }
  /// this_thread()'s scope: takes the default-domain record like a default-domain scope, but
  /// is not on the thread's chain of nested scopes (it ends at thread exit, out of any order).
  explicit thread_scope(detail::thread_exit_scope_t)
      : domain_(&default_domain()), rec_(detail::take_default_record(true)), outer_(nullptr),
        use_(use::shared_default), chained_(false) {
    if (rec_ == nullptr) detail::throw_bad_alloc();
    if (!rec_->is_online()) {
      rec_->go_online();
      restore_offline_ = true;
    }
  }
  /// Ends this scope's use of the record: a record of its own goes offline and is adopted by a
  /// later thread, never freed; a shared one is left to the scope or API that still holds it
  /// (taken offline again if this scope brought it online).
  ~thread_scope() {
    owner_.check("~thread_scope", "thread scope", *rec_);
    if (chained_) {
      if (detail::innermost_scope_slot() != this) {
        detail::fatal("~thread_scope", "scopes of one thread must end in the reverse order of their construction");
      }
      detail::innermost_scope_slot() = outer_;
    }
    if (restore_offline_ && rec_->is_online()) rec_->go_offline();
    switch (use_) {
      case use::own:
        detail::drop_held_record(*domain_, rec_);
        domain_->unregister_thread(rec_);
        break;
      case use::shared_default: detail::drop_default_record(!chained_); break;
      case use::nested: break;
    }
  }
  thread_scope(const thread_scope&) = delete;
  thread_scope& operator=(const thread_scope&) = delete;

  /// The calling thread holds no reference it loaded before this call.
  void safe_to_reclaim() noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::thread_scope::safe_to_reclaim", nullptr);
    owner_.check("ssmem::thread_scope::safe_to_reclaim", "thread scope", *rec_);
    rec_->bump();
  }

  /// Idle: the thread holds no references until online(), and blocks no collection
  /// meanwhile (like liburcu's rcu_thread_offline). It must not load shared references while
  /// offline; it may allocate and free (a bump keeps it offline). Both are idempotent, and act
  /// on the record that nested scopes share (see the class comment).
  void offline() noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::thread_scope::offline", nullptr);
    owner_.check("ssmem::thread_scope::offline", "thread scope", *rec_);
    if (rec_->is_online()) rec_->go_offline();
  }
  /// Back online after offline(): may load shared references again.
  void online() noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::thread_scope::online", nullptr);
    owner_.check("ssmem::thread_scope::online", "thread scope", *rec_);
    if (!rec_->is_online()) rec_->go_online();
  }
  /// Whether the thread is online in this scope's domain.
  bool is_online() const noexcept {
    owner_.check("ssmem::thread_scope::is_online", "thread scope", *rec_);
    return rec_->is_online();
  }

  /// The domain the thread is registered in.
  domain& get_domain() const noexcept { return *domain_; }
  /// The thread's record (shared with the scopes this one is nested in, in the same domain).
  record& get_record() const noexcept { return *rec_; }
  /// The scope this one is nested in on the same thread, or nullptr.
  thread_scope* outer() const noexcept { return outer_; }
  /// Whether this scope shares the record of a scope it is nested in (it registered nothing
  /// and took no count of the default-domain record).
  bool shares_outer_record() const noexcept { return use_ == use::nested; }

 private:
  friend class allocator;
  template <class>
  friend class object_pool;
  enum class use : unsigned char { own, shared_default, nested };

  // A record of its own in `d`, noted for the thread-exit hook; nullptr when memory runs out.
  static record* register_held(domain& d) noexcept {
    record* r = d.register_thread();
    if (r != nullptr && !detail::hold_record(d, r)) {
      d.unregister_thread(r);
      r = nullptr;
    }
    return r;
  }

  domain* domain_;
  record* rec_ = nullptr;
  thread_scope* outer_;
  use use_ = use::own;
  bool chained_ = true;
  bool restore_offline_ = false;
  [[no_unique_address]] detail::owner_id owner_;
};

/// The calling thread's own scope in default_domain(), created on first use and ended (its
/// use of the thread's default-domain record dropped) when the thread exits: the thread-exit
/// hook for programs that do not manage a thread_scope themselves. It shares the record with
/// the thread's other default-domain scopes and its C API registration, and is not on the
/// chain of nested scopes (innermost_scope_of_this_thread() does not return it; the free
/// functions below fall back to the record it holds). Throws std::bad_alloc like thread_scope.
inline thread_scope& this_thread() {
  thread_local thread_scope scope{detail::thread_exit_scope_t{}};
  return scope;
}

/// The innermost thread_scope of the calling thread, or nullptr.
thread_scope* innermost_scope_of_this_thread() noexcept;

/// Bumps the innermost thread_scope of the calling thread; without one, the thread's
/// default-domain record (this_thread(), the C API) if it has one; else does nothing.
inline void safe_to_reclaim() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) {
    s->safe_to_reclaim();
  } else if (record* r = detail::default_record_of_this_thread(); r != nullptr) {
    r->bump();
  }
}
/// offline() of the innermost thread_scope of the calling thread (none: of its
/// default-domain record, as above; none either: no-op).
inline void offline() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) {
    s->offline();
  } else if (record* r = detail::default_record_of_this_thread(); r != nullptr && r->is_online()) {
    r->go_offline();
  }
}
/// online() of the innermost thread_scope of the calling thread (none: of its
/// default-domain record, as above; none either: no-op).
inline void online() noexcept {
  if (thread_scope* s = innermost_scope_of_this_thread(); s != nullptr) {
    s->online();
  } else if (record* r = detail::default_record_of_this_thread(); r != nullptr && !r->is_online()) {
    r->go_online();
  }
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

/// A critical section of the calling thread in a scope's domain, for the guard's lifetime
/// (like ck_epoch_begin/ck_epoch_end, or a pin in crossbeam): a thread that is offline goes
/// online for the section and offline again when it ends, so that outside its sections it
/// holds no references and blocks no collection -- a thread that sleeps or blocks between
/// sections costs the others no memory. Sections nest (only the outermost one changes the
/// version). In a thread that is online anyway (one that does not use sections), a section
/// only counts. Typical use: the scope goes offline once, then every operation that loads
/// shared references runs in a section:
///
///   ssmem::thread_scope me;  me.offline();
///   ssmem::object_pool<node> pool(me, {.bump_on = ssmem::ts_policy::none});
///   { ssmem::critical_section cs(me);  /* load, read, unlink */ }
///   pool.retire(old);        // allocating and freeing are fine outside sections
///
/// Leaving the outermost section is a version change like a bump (I1): no reference loaded in
/// the section may be used after it, so bump_on = none is enough for such a thread.
/// Cost: enter and exit are a few instructions each (a release store, and on entry the light
/// fence: a compiler barrier where membarrier is available, docs/benchmarks.md).
class critical_section {
 public:
  /// Enters a section of the thread of `s`.
  explicit critical_section(thread_scope& s) noexcept : rec_(s.get_record()) { rec_.enter_section(); }
  /// Leaves it.
  ~critical_section() { rec_.exit_section(); }
  critical_section(const critical_section&) = delete;
  critical_section& operator=(const critical_section&) = delete;

 private:
  record& rec_;
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
  /// is mapped until the first allocation. Throws std::invalid_argument for options that
  /// options::validate() refuses. A size above max_object_size is never served (allocate()
  /// throws std::bad_alloc).
  allocator(thread_scope& scope, std::size_t object_size, const options& o = options{})
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(object_size), detail::validated(o)),
        owner_(scope.owner_) {}

  /// An object of object_size() bytes. Throws std::bad_alloc when memory runs out.
  [[gnu::always_inline]] void* allocate() {
    void* p;
    {
      [[maybe_unused]] detail::call_guard g("ssmem::allocator::allocate", &impl_);
      owner_.check("ssmem::allocator::allocate", "allocator", impl_.owner());
      p = impl_.allocate();
    }
    if (p == nullptr) [[unlikely]] detail::throw_bad_alloc();
    return p;
  }
  /// Frees `p` (nullptr: no-op); it is reused once every thread has moved on.
  [[gnu::always_inline]] void deallocate(void* p) noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::allocator::deallocate", &impl_);
    owner_.check("ssmem::allocator::deallocate", "allocator", impl_.owner());
    impl_.deallocate(p);
  }
  /// Gives `p` (from malloc) back to the system once every thread has moved on.
  void release(void* p) noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::allocator::release", &impl_);
    owner_.check("ssmem::allocator::release", "allocator", impl_.owner());
    impl_.release(p);
  }

  /// Teardown: every released or retired object still waiting goes back now (its deleter
  /// runs), with no grace period; the allocator stays usable. Precondition: no thread can
  /// still reach any of them (see basic_allocator::drain_retired).
  void drain_retired() noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::allocator::drain_retired", &impl_);
    owner_.check("ssmem::allocator::drain_retired", "allocator", impl_.owner());
    impl_.drain_retired();
  }

  /// Deferred destruction: calls `fn(p, context)` once every thread has moved on (no thread
  /// can still hold `p`), on this thread, from inside a later deallocate/release/retire of this
  /// allocator or its destructor. `p` must be unlinked before this call (as for deallocate)
  /// and must not come from an ssmem allocator. `fn` may write and free `p`, and must not call
  /// this allocator. `fn` nullptr: as release(). nullptr `p`: no-op. Like ck_epoch_call or
  /// call_rcu, with the owner's grace period of ssmem.
  void retire(void* p, retire_fn fn, void* context) noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::allocator::retire", &impl_);
    owner_.check("ssmem::allocator::retire", "allocator", impl_.owner());
    if constexpr (detail::checked) {
      if (fn != nullptr && p != nullptr) {
        // The checked build marks the deleter as user code that may call ssmem (on other
        // allocators), through a box that holds the function and its context.
        // Without memory for the box the deleter is retired unboxed (out of memory aborts
        // nothing, docs/design.md §11): an ssmem call from inside it is then checked as any
        // call made inside another.
        auto* box = static_cast<boxed_deleter*>(std::malloc(sizeof(boxed_deleter)));
        if (box != nullptr) {
          *box = boxed_deleter{fn, context};
          fn = &run_boxed_deleter;
          context = box;
        }
      }
    }
    impl_.retire(p, fn, context);
  }

  /// Deferred destruction with a callable: `deleter(p)` runs once every thread has moved on
  /// (see retire(void*, retire_fn, void*)). A stateless callable (a lambda with no capture)
  /// costs nothing more than the function pointer; one with state is moved into a heap box
  /// freed after the call (std::bad_alloc if that box cannot be allocated; the deleter has not
  /// run and `p` is not retired then).
  template <class T, class Deleter>
  void retire(T* p, Deleter deleter) {
    static_assert(std::is_nothrow_invocable_v<Deleter&, T*>, "the deleter is called as deleter(p), noexcept");
    if (p == nullptr) return;
    [[maybe_unused]] detail::call_guard g("ssmem::allocator::retire", &impl_);
    owner_.check("ssmem::allocator::retire", "allocator", impl_.owner());
    if constexpr (std::is_empty_v<Deleter> && std::is_default_constructible_v<Deleter>) {
      impl_.retire(const_cast<std::remove_cv_t<T>*>(p), [](void* obj, void*) noexcept {
        [[maybe_unused]] detail::deleter_guard running;
        Deleter d{};
        d(static_cast<T*>(obj));
      }, nullptr);
    } else {
      auto* box = new Deleter(std::move(deleter));
      impl_.retire(const_cast<std::remove_cv_t<T>*>(p), [](void* obj, void* ctx) noexcept {
        auto* d = static_cast<Deleter*>(ctx);
        {
          [[maybe_unused]] detail::deleter_guard running;
          (*d)(static_cast<T*>(obj));
        }
        delete d;
      }, box);
    }
  }

  /// Bytes per object (rounded for alignment).
  std::size_t object_size() const noexcept { return impl_.object_size(); }
  /// The counters (owner thread only).
  allocator_stats stats() const noexcept {
    owner_.check("ssmem::allocator::stats", "allocator", impl_.owner());
    return impl_.stats();
  }
  /// The underlying policy-templated allocator (without the checked build's owner-only and
  /// re-entry checks).
  basic_allocator<native_policy>& impl() noexcept { return impl_; }

 private:
  struct boxed_deleter {
    retire_fn fn;
    void* context;
  };
  static void run_boxed_deleter(void* obj, void* box) noexcept {
    boxed_deleter b = *static_cast<boxed_deleter*>(box);
    std::free(box);
    [[maybe_unused]] detail::deleter_guard running;
    b.fn(obj, b.context);
  }

  basic_allocator<native_policy> impl_;
  [[no_unique_address]] detail::owner_id owner_;
};

/// Typed objects on an ssmem allocator.
template <class T>
class object_pool {
  static_assert(alignof(T) <= 64, "ssmem objects are aligned to at most a cache line");

 public:
  /// A pool of T for the thread of `scope`.
  /// Throws std::invalid_argument for options that options::validate() refuses.
  explicit object_pool(thread_scope& scope, const options& o = options{})
      : impl_(scope.get_domain(), scope.get_record(), normalize_object_size(sizeof(T), alignof(T) < 8 ? 8 : alignof(T)), detail::validated(o)),
        owner_(scope.owner_) {}

  /// Constructs a T. Throws std::bad_alloc, or what T's constructor throws (the memory is
  /// then reusable at once: no other thread has seen it).
  template <class... Args>
  T* create(Args&&... args) {
    void* p;
    {
      [[maybe_unused]] detail::call_guard g("ssmem::object_pool::create", &impl_);
      owner_.check("ssmem::object_pool::create", "object pool", impl_.owner());
      p = impl_.allocate();
    }
    if (p == nullptr) [[unlikely]] detail::throw_bad_alloc();
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    try {
      return ::new (p) T(std::forward<Args>(args)...);  // user code: outside the call guard
    } catch (...) {
      [[maybe_unused]] detail::call_guard g("ssmem::object_pool::create", &impl_);
      impl_.deallocate(p);
      throw;
    }
#else
    return ::new (p) T(std::forward<Args>(args)...);
#endif
  }

  /// Runs ~T() now and frees the memory for reuse after the grace period. Readers that still
  /// hold `p` read what ~T() left: for an object that readers may still hold, use retire().
  void destroy(T* p) noexcept {
    if (p == nullptr) return;
    owner_.check("ssmem::object_pool::destroy", "object pool", impl_.owner());
    p->~T();  // user code: outside the call guard
    [[maybe_unused]] detail::call_guard g("ssmem::object_pool::destroy", &impl_);
    impl_.deallocate(p);
  }

  /// Deferred destruction: `p` (from this pool or another thread's pool of T, as with
  /// destroy; unlinked before this call) is destroyed once every thread has moved on -- ~T()
  /// runs then, on this thread, from inside a later destroy/retire of this pool (one whose full
  /// set leads to a probe) or in this pool's destructor -- and its memory is reusable here
  /// right after (basic_allocator::retire_own, then reuse_retired). Readers that still hold `p`
  /// read a live object. ~T() must not throw, nor use this pool; it may use other pools and
  /// allocators of this thread (their calls bump the thread's version as their options say).
  /// Teardown: the pool that carved `p` must outlive this one, whose destructor runs the ~T()
  /// still waiting, on that pool's memory; two pools that retire each other's objects cannot
  /// both be destroyed while each holds one of the other's (docs/design.md §3, "The end of an
  /// allocator"). Retiring `p` twice is a double free (the checked build aborts). nullptr:
  /// no-op.
  void retire(T* p) noexcept {
    static_assert(std::is_nothrow_destructible_v<T>, "object_pool::retire: ~T() must be noexcept");
    if (p == nullptr) return;
    [[maybe_unused]] detail::call_guard g("ssmem::object_pool::retire", &impl_);
    owner_.check("ssmem::object_pool::retire", "object pool", impl_.owner());
    impl_.retire_own(p, &destroy_then_reuse, &impl_);
  }

  /// Teardown: every retired object still waiting is destroyed now (~T(), then its memory is
  /// reusable), with no grace period. Precondition: no thread can still reach any of them.
  /// Pools that retire each other's objects drain each other before either is destroyed.
  void drain_retired() noexcept {
    [[maybe_unused]] detail::call_guard g("ssmem::object_pool::drain_retired", &impl_);
    owner_.check("ssmem::object_pool::drain_retired", "object pool", impl_.owner());
    impl_.drain_retired();
  }

  /// The counters (owner thread only).
  allocator_stats stats() const noexcept {
    owner_.check("ssmem::object_pool::stats", "object pool", impl_.owner());
    return impl_.stats();
  }

 private:
  static void destroy_then_reuse(void* obj, void* pool) noexcept {
    {
      [[maybe_unused]] detail::deleter_guard running;  // ~T() is user code: may use other pools
      static_cast<T*>(obj)->~T();
    }
    static_cast<basic_allocator<native_policy>*>(pool)->reuse_retired(obj);
  }

  basic_allocator<native_policy> impl_;
  [[no_unique_address]] detail::owner_id owner_;
};

}  // namespace ssmem

#endif
