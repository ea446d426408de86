/// \file
/// The allocator: serves one object size to its owner thread. It is a composition of named
/// parts, each in its own header, and the decisions that join them:
///
///   chunk_carver   (chunk_carver.hpp)   fresh objects, carved from chunks within an allowance
///   set_pipeline   (set_pipeline.hpp)   freed objects in free sets: filling -> unstamped ->
///                                       pending (stamped) -> collected (I4)
///   collected_                          collected sets: reusable objects, taken first
///   release_queue  (release_queue.hpp)  released and retired objects, in release sets through
///                                       the same stamps, then given back to the system or
///                                       to their deleters
///   memory_bound   (memory_bound.hpp)   how many objects may wait before an allocation that
///                                       would carve waits for a collection instead
///   stamp_or_defer (here)               when full sets are stamped: in batches of
///                                       options::stamp_batch free sets' worth, after a probe
///                                       that collects what it can; put off while an online
///                                       thread holds the last stamp back (back-pressure)
///   wait_for_collection (here)          the wait at the bound (and when memory runs out)
///
/// All parts are owner-only; the only shared state is the domain's records.
#ifndef SSMEM_ALLOCATOR_HPP
#define SSMEM_ALLOCATOR_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ssmem/chunk_carver.hpp"
#include "ssmem/detail/checked.hpp"
#include "ssmem/detail/report.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/free_set.hpp"
#include "ssmem/memory_bound.hpp"
#include "ssmem/options.hpp"
#include "ssmem/release_queue.hpp"
#include "ssmem/set_pipeline.hpp"

namespace ssmem {

/// An allocator of one object size for one owner thread (see the file comment).
/// Thread safety: every member is for the owner thread only; other threads interact only
/// through the domain's records. Errors: allocation failure gives nullptr; no other call
/// fails -- when memory for bookkeeping runs out, the allocator waits for a collection to
/// recycle some, and as a last resort keeps a freed object out of reuse for good
/// (allocator_stats::dropped; docs/design.md, "Bad input and faults").
template <class Policy>
class basic_allocator {
 public:
  /// The domain type whose records make up the clocks.
  using domain_type = basic_domain<Policy>;
  /// The owner's record type.
  using record = thread_record<Policy>;
  /// The free-set type.
  using set = free_set<Policy>;

  /// `object_size` 0 defers the size to the first allocate(size) (the C API's way); a size
  /// above max_object_size is never served (allocate() returns nullptr). Options that
  /// options::validate() rejects are clamped (set sizes to max_set_size, bump_on to both):
  /// the C and C++ APIs refuse them before they get here.
  basic_allocator(domain_type& d, record& self, std::size_t object_size,
                  const options& o = options{}) noexcept
      : carver_(object_size == 0 ? 0 : normalize_object_size(object_size, 8), o),
        domain_(d), self_(self), bound_(o), frees_(set_size(o.free_set_size)),
        releases_(set_size(o.release_set_size)), stamp_batch_(o.stamp_batch),
        stamp_backlog_(o.stamp_backlog), stamp_share_(o.stamp_share), zero_memory_(o.zero_memory) {
    const ts_policy bump = static_cast<int>(o.bump_on) < 0 || static_cast<int>(o.bump_on) > 3
                               ? ts_policy::both : o.bump_on;
    bump_on_alloc_ = bump == ts_policy::on_alloc || bump == ts_policy::both;
    bump_on_free_ = bump == ts_policy::on_free || bump == ts_policy::both;
    due_ = saturating_mul(stamp_batch_, frees_.capacity());
  }
  basic_allocator(const basic_allocator&) = delete;
  basic_allocator& operator=(const basic_allocator&) = delete;

  /// Teardown, in this order: (1) every released or retired entry still waiting -- collected,
  /// stamped, unstamped or filling -- is given back at once, with no grace period, to
  /// Policy::return_to_system or its deleter, on the owner thread, while the allocator is
  /// whole (chunks mapped, reuse_retired working); (2) sets and clocks are freed, objects in
  /// free and collected sets dropped untouched (the checked build forgets the foreign ones);
  /// (3) the carver, destroyed last, unmaps the chunks. Preconditions: no thread uses an
  /// object carved here or released/retired through here; every waiting deleter can still run
  /// (its context, what it calls, and the object's memory, which for another allocator's
  /// object retired here is that allocator's chunk: drain_retired() first where two
  /// allocators retire each other's objects); no other allocator will hand out, or run a
  /// deleter on, an object carved here afterwards (docs/design.md, "The end of an allocator").
  ~basic_allocator() {
    releases_.drain();
    if constexpr (detail::checked) forget_held_objects();
    while (!collected_.empty()) {
      set* s = collected_.pop();
      // Poison off: a collected object may lie in another allocator's chunk (freed or retired
      // here), and the shadow state would outlive that chunk's unmapping. The deleters that
      // drain() ran may have collected objects of chunks already unmapped.
      if constexpr (has_poison) {
        for (std::size_t i = 0; i < s->count(); ++i) Policy::unpoison(s->at(i), object_size());
      }
      set::destroy(s);
    }
    if constexpr (has_poison) {
      for (void* o = spare_; o != nullptr;) {
        Policy::unpoison(o, object_size());
        o = *static_cast<void**>(o);
      }
    }
    // Then the members: the pipelines free their sets, the carver unmaps the chunks.
  }

  /// Bytes per object (0 until fixed by the first sized allocate(); unservable_object_size
  /// for a size that can never be served).
  std::size_t object_size() const noexcept { return carver_.object_size(); }
  /// The owner thread's record.
  record& owner() const noexcept { return self_; }
  /// The domain the clocks are taken from.
  domain_type& domain() const noexcept { return domain_; }

  /// Owner only. An object of object_size() bytes, or nullptr when memory runs out.
  /// Forced inline, and a leaf on its two fast paths (a collected set that keeps an object
  /// after the pop; room in the current chunk and allowance): whatever calls out of line
  /// (retiring an emptied set, the bound, a new chunk, zeroing) is left to allocate_slow(), in
  /// tail position, so that an out-of-line caller (ssmem_alloc) saves no registers and builds
  /// no frame for it.
  [[gnu::always_inline]] void* allocate(source_location loc = source_location::current()) noexcept {
    void* obj;
    set* cs = collected_.top();
    if (cs != nullptr) [[likely]] {
      if (cs->count() == 1 || zero_memory_) [[unlikely]] return allocate_slow();
      obj = cs->pop();
      if constexpr (has_poison) Policy::unpoison(obj, object_size());
      ++stats_.reused;
    } else if (!carver_.has_room()) {
      return allocate_slow();
    } else {
      obj = carver_.take();
    }
    if constexpr (detail::checked) detail::checked_registry::instance().on_allocate(obj, "ssmem_alloc");
    ++stats_.allocated;
    if (bump_on_alloc_) self_.bump(loc);
    return obj;
  }

  /// Owner only. The C API's form: the first call fixes the object size; a smaller size
  /// later is served an object of that size, a larger one gets nullptr (the checked build
  /// aborts naming the wrong size instead). A first call that fails (a size above
  /// max_object_size, or no memory for its chunk) fixes nothing. Forced inline: one compare
  /// in front of the inlined allocate(), so that ssmem_alloc costs what the C++ API's
  /// allocate() costs.
  [[gnu::always_inline]] void* allocate(std::size_t size) noexcept {
    if (size > object_size()) [[unlikely]] return allocate_first_or_oversize(size);
    return allocate();
  }

 private:
  // allocate(size) off its fast path: the first call (the object size still 0) fixes the
  // size; any later size above it is refused.
  [[gnu::noinline, gnu::cold]] void* allocate_first_or_oversize(std::size_t size) noexcept {
    if (object_size() == 0) {
      const std::size_t n = normalize_object_size(size);
      if (n == unservable_object_size) return nullptr;
      carver_.set_object_size(n);
      void* obj = allocate();
      if (obj == nullptr && carver_.chunks() == 0) carver_.set_object_size(0);
      return obj;
    }
    if constexpr (detail::checked) {
      detail::fatal("ssmem_alloc", "wrong size: larger than the size of this allocator's objects");
    }
    return nullptr;
  }

 public:
  /// Owner only. `obj` must be unreachable for threads that have not yet loaded it (unlinked
  /// before this call, in happens-before). It is reused once every thread has moved on.
  [[gnu::always_inline]] void deallocate(void* obj, source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) {
      detail::checked_registry::instance().on_free(obj, object_size(), "ssmem_free");
    }
    // The filling set in a local: the push stores a pointer, which (to the compiler) may
    // alias the pipeline's members; the counter goes first: a size_t store that may alias the
    // set's count. A leaf on its fast path, like allocate(): no set yet, or the push that
    // fills the set, goes to deallocate_slow() in tail position (an out-of-line ssmem_free
    // saves no registers).
    set* s = frees_.filling();
    if (s == nullptr || s->count() + 1 == s->capacity()) [[unlikely]] return deallocate_slow(obj);
    ++stats_.freed;
    s->push(obj);
    if (bump_on_free_) self_.bump(loc);
  }

 private:
  // deallocate() off its fast path: takes a set, or fills and seals it.
  [[gnu::noinline]] void deallocate_slow(void* obj) noexcept {
    set* s = frees_.filling();
    if (s == nullptr && (s = frees_.start_filling(clock_room())) == nullptr) s = start_filling_without_memory();
    ++stats_.freed;
    if (s == nullptr) {
      drop(obj, "ssmem_free");
    } else {
      s->push(obj);
      if (s->full()) {
        frees_.seal_filling();
        if (batch_count() >= due_) stamp_or_defer();
        // The bound at a free: objects that other allocators carved (a shared structure's
        // nodes, freed here) can make the pending ones pass the limit without any carving.
        // (Not before the first clock: its floor is for carving, not for a program that frees
        // what it carved before its first stamp.)
        if (at_free_mark()) {
          wait_for_collection(bump_on_free_, "ssmem_free", false, [&] { return bound_pending() < free_mark(); });
        }
      }
    }
    if (bump_on_free_) self_.bump();
  }

 public:
  /// Owner only. `obj` came from the system allocator (malloc), not from this allocator; it
  /// is given back with Policy::return_to_system once every thread has moved on.
  [[gnu::always_inline]] void release(void* obj, source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) detail::checked_registry::instance().on_release(obj, "ssmem_release");
    push_retired(obj, nullptr, nullptr, "ssmem_release", loc);
  }

  /// Owner only. Deferred destruction, the release path generalised: `obj` (not from an ssmem
  /// allocator; unlinked before this call, as for deallocate) is handed to `fn(obj, context)`
  /// once every thread has moved on, on the owner thread, inside a later
  /// deallocate/release/retire of this allocator or its destructor. `fn` nullptr: as release().
  /// `fn` may write and free the object; it must not call this allocator (it runs inside it),
  /// except reuse_retired(); it may call other allocators of this thread (their calls bump the
  /// version as their options say; no chain of deleters may lead back into an allocator whose
  /// call is in progress). nullptr obj: no-op, fn not called, no bump.
  void retire(void* obj, retire_fn fn, void* context,
              source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) detail::checked_registry::instance().on_release(obj, "ssmem_retire");
    push_retired(obj, fn, context, "ssmem_retire", loc);
  }

  /// Owner only. As retire(), for an object of this allocator (allocated, not freed since):
  /// `fn` runs once every thread has moved on, and ends by handing the memory to
  /// reuse_retired() (object_pool::retire: ~T(), then reuse).
  void retire_own(void* obj, retire_fn fn, void* context,
                  source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) {
      detail::checked_registry::instance().on_free(obj, object_size(), "object_pool::retire");
    }
    push_retired(obj, fn, context, "object_pool::retire", loc);
  }

  /// Owner only. Every released or retired object still waiting goes back now -- to the
  /// system, or to its deleter -- with no grace period, as the destructor does, and the
  /// allocator stays usable. For teardown: precondition, no thread can still reach any of
  /// them. Two pools that retire each other's objects drain both before destroying either
  /// (docs/design.md, "The end of an allocator").
  void drain_retired() noexcept { releases_.drain(); }

  /// Owner only, for a deleter of retire_own(): `obj`, whose grace period has passed, is
  /// reusable at once (the next allocate() may hand it out).
  void reuse_retired(void* obj) noexcept {
    set* cs = collected_.top();
    if (cs == nullptr || cs->full()) {
      if ((cs = frees_.take_set(clock_room())) != nullptr) {
        collected_.push(cs);
      } else {  // no memory for a set: the object joins the spare list (it is reusable)
        ++stats_.collected;
        push_spare(obj);
        return;
      }
    }
    if constexpr (has_poison) Policy::poison(obj, object_size());
    cs->push(obj);
    ++stats_.collected;
  }

 private:
  // Inlined into release(), retire() and retire_own(): the common case (the entry goes into
  // the filling release set) takes no call; a full set's work is out of line
  // (release_set_filled). Out of line, the call and its register saves cost W4 (malloc and
  // release at 1 thread) about 25 instructions per release (docs/benchmarks.md).
  [[gnu::always_inline]] void push_retired(void* obj, retire_fn fn, void* context, const char* api,
                                           source_location loc) noexcept {
    if (!releases_.ready(clock_room()) && !make_room_for_release()) {
      drop(obj, api);  // no memory for a release set, even after a collection
    } else if (releases_.push(obj, fn, context)) [[unlikely]] {
      release_set_filled(api);
    }
    // One collected entry goes back per release: the caller's next malloc finds warm memory
    // where a burst of thousands of cold frees would leave it a cold free list.
    if (releases_.has_collected()) releases_.give_back_one();
    // A release is a free step: the same timestamp policy applies.
    if (bump_on_free_) self_.bump(loc);
  }

  // A release or retire filled its set: the batch rule, then the bound at a release, as at a
  // free: a program that only releases or retires carves nothing, so the check at the carve
  // never runs for it. The wait gives back what it collects at once (the gradual give-back
  // would keep some counted).
  [[gnu::noinline]] void release_set_filled(const char* api) noexcept {
    if (batch_count() >= due_) stamp_or_defer();
    if (at_free_mark()) {
      wait_for_collection(bump_on_free_, api, true, [&] {
        releases_.give_back_collected();
        return bound_pending() < free_mark();
      });
    }
  }

 public:
  /// The counters; reads the domain's versions for blocking_slot.
  allocator_stats stats() const noexcept {
    allocator_stats s;
    s.allocated = stats_.allocated;
    s.reused = stats_.reused;
    s.freed = stats_.freed;
    s.collected = stats_.collected;
    s.stamps = stats_.stamps;
    s.shared_stamps = stats_.shared_stamps;
    s.probes = stats_.probes;
    s.deferred = stats_.deferred;
    s.yields = stats_.yields;
    s.dropped = stats_.dropped;
    s.bound_waits = bound_.waits();
    s.bound_overruns = bound_.overruns();
    s.bound_wait_ns = bound_.wait_ns();
    s.pending_limit = pending_limit();
    // The oldest stamped set, free or release (a release set alone may hold collection up).
    const set* oldest = frees_.pending_front();
    if (oldest == nullptr) oldest = releases_.sets().pending_front();
    if (oldest != nullptr) {
      s.oldest_pending_age = stats_.stamps + stats_.shared_stamps + stats_.deferred - oldest->stamp_seq();
      if (const record* b = domain_.blocker(oldest->clock()); b != nullptr) {
        s.blocking_slot = static_cast<long long>(b->index());
        s.blocking_label = b->label();
      }
    }
    s.object_size = object_size();
    s.bytes_reserved = carver_.bytes_reserved();
    s.chunks = carver_.chunks();
    s.pending = pending_objects();
    s.pending_sets = frees_.pending_sets();
    s.reusable = static_cast<std::size_t>(stats_.collected - stats_.reused);
    s.released = releases_.released();
    s.returned = releases_.returned();
    s.release_pending = releases_.waiting_entries();
    s.unstamped = unstamped_objects();
    return s;
  }

  // Diagnostics (owner only): the current filling set, the stamped queue oldest first, the
  // collected sets and the recycled ones.
  /// The set being filled, or nullptr.
  const set* filling_set() const noexcept { return frees_.filling(); }
  /// The oldest full set waiting for a stamp (list continues through next()).
  const set* unstamped_front() const noexcept { return frees_.unstamped_front(); }
  /// The oldest stamped set waiting (list continues through next()).
  const set* pending_front() const noexcept { return frees_.pending_front(); }
  /// The top collected set (list continues through next()).
  const set* collected_top() const noexcept { return collected_.top(); }
  /// The top recycled empty set (list continues through next()).
  const set* available_top() const noexcept { return frees_.available_top(); }
  /// Number of collected sets.
  std::size_t collected_sets() const noexcept { return collected_.size(); }

 private:
  // The checked build: the foreign objects this allocator adopted and still holds (freed,
  // collected or spare) are dropped with it; the registry forgets them.
  void forget_held_objects() noexcept {
    auto& registry = detail::checked_registry::instance();
    auto forget = [&](const set& s) {
      for (std::size_t i = 0; i < s.count(); ++i) registry.on_dropped(s.at(i), "ssmem_alloc_term");
    };
    frees_.for_each_set(forget);
    for (const set* s = collected_.top(); s != nullptr; s = s->next()) forget(*s);
    for (void* o = spare_; o != nullptr;) {
      if constexpr (has_poison) Policy::unpoison(o, object_size());
      void* next = *static_cast<void**>(o);
      registry.on_dropped(o, "ssmem_alloc_term");
      if constexpr (has_poison) Policy::poison(o, object_size());
      o = next;
    }
  }

  static std::size_t set_size(std::size_t n) noexcept {
    return n == 0 ? 1 : n > max_set_size ? max_set_size : n;
  }

  [[gnu::noinline]] void retire_collected_top() noexcept { frees_.recycle(collected_.pop()); }

  // allocate() off its fast paths: a reusable object (the last of a collected set, which is
  // then recycled; zeroing; the spare list), or a carved one within the memory bound. Like
  // the other cold paths it takes no caller location: a checker's report names the bump's
  // line here.
  [[gnu::noinline]] void* allocate_slow() noexcept {
    void* obj = take_reusable();
    if (obj == nullptr && (obj = carve_within_bound()) == nullptr) return nullptr;
    if constexpr (detail::checked) detail::checked_registry::instance().on_allocate(obj, "ssmem_alloc");
    ++stats_.allocated;
    if (bump_on_alloc_) self_.bump();
    return obj;
  }

  // A reusable object: from the top collected set (recycled once emptied), else from the
  // spare list; nullptr if there is none.
  void* take_reusable() noexcept {
    void* obj;
    if (set* cs = collected_.top(); cs != nullptr) {
      obj = cs->pop();
      if constexpr (has_poison) Policy::unpoison(obj, object_size());
      if (cs->empty()) retire_collected_top();
    } else if (spare_ != nullptr) {
      obj = spare_;
      if constexpr (has_poison) Policy::unpoison(obj, object_size());
      spare_ = *static_cast<void**>(obj);
    } else {
      return nullptr;
    }
    ++stats_.reused;
    // Fresh chunk memory is zero already (Policy::map_chunk's contract).
    if (zero_memory_) std::memset(obj, 0, object_size());
    return obj;
  }

  // Nothing reusable: carve, unless the objects waiting for their grace period have reached
  // the memory bound -- then wait for a collection first (memory_bound.hpp). The fast path
  // carves within the allowance granted here, so this runs once per free set's worth of
  // carved objects. When no chunk can be mapped, what was freed is made reusable if it can be.
  [[gnu::noinline]] void* carve_within_bound() noexcept {
    std::size_t limit = wait_mark();
    std::size_t pending = bound_pending();
    if (pending >= limit && clock_.size() == 0 && frees_.has_unstamped() && stamp_at_bound()) {
      // The floor before the first clock (memory_bound.hpp): the first stamp comes now, and
      // with it the number of threads that share the budget.
      limit = wait_mark();
    }
    if (pending >= limit && bound_.should_wait()) {
      if (wait_for_collection(bump_on_alloc_, "ssmem_alloc", false, [&] { return has_reusable(); })) {
        if (void* obj = take_reusable(); obj != nullptr) return obj;
      }
      pending = bound_pending();
      limit = wait_mark();  // an overrun that began here raised it (a grant)
    }
    // During an overrun until the next collection the owner carves without waiting: a free
    // set's worth per check, as below the mark (not one object per check, which would take
    // every allocation here).
    void* obj = carver_.carve(bound_.should_wait() ? memory_bound<Policy>::allowance(pending, limit, frees_.capacity())
                                                   : frees_.capacity());
    if (obj != nullptr && !bookkeeping_taken_) take_bookkeeping();
    if (obj == nullptr && bound_.should_wait() &&
        wait_for_collection(bump_on_alloc_, nullptr, false, [&] { return has_reusable(); })) {
      obj = take_reusable();  // out of memory for a chunk: reuse what a collection freed
    }
    return obj;
  }

  // After the first carve, while memory is there (docs/design.md §11): the first free set, the
  // first release set and room for the allocator's own clock, so that frees and releases made
  // after memory has run out have a set to fill and a clock to stamp it with, and later ones
  // recycle collected sets. Without memory now, they are taken later, as any other. (Not at
  // construction: an allocator that never carves an object, e.g. one made and left by a thread
  // that exits, or the C API's terminated one, holds no memory.)
  void take_bookkeeping() noexcept {
    bookkeeping_taken_ = true;
    (void)clock_.reserve(clock_room());
    if (frees_.filling() == nullptr) (void)frees_.start_filling(clock_room());
    (void)releases_.ready(clock_room());
  }

  // The clock entries a new set reserves, so that stamping it needs no memory (set_pipeline's
  // take_set): the slots of the latest clock, or before the first clock at least the owner's
  // own slot and those below it -- sets made before the first stamp, as memory runs out,
  // could otherwise never be stamped, and every later free would be kept out of reuse.
  std::size_t clock_room() const noexcept {
    return clock_.size() != 0 ? clock_.size() : self_.index() + 1;
  }

  // A collection ends an overrun (if one lasts); what the overrun granted and the fast path
  // has not carved yet is taken back, so that the bound is checked at the next carve.
  void end_overrun() noexcept {
    if (bound_.collected()) carver_.stop();
  }

  // The mark of the bound at a free or a release that fills a set: the limit plus the grain
  // of the check (a free set's worth).
  std::size_t free_mark() const noexcept { return saturating_add(wait_mark(), frees_.capacity()); }
  // Whether a free or release that filled a set waits: what the bound counts is at the mark
  // (raised by a granted overrun), no overrun until the next collection lasts, and the
  // allocator has a clock (before it, the floor is for carving, not
  // for a program that frees what it carved before its first stamp).
  bool at_free_mark() const noexcept {
    return clock_.size() != 0 && bound_.should_wait() && bound_pending() >= free_mark();
  }

  // Objects freed and not yet reusable (filling, unstamped, stamped).
  std::size_t pending_objects() const noexcept {
    return frees_.filling_slots() + frees_.unstamped_slots() + frees_.pending_slots();
  }
  std::size_t pending_limit() const noexcept { return bound_.limit(frees_.capacity(), clock_); }
  // Where an allocation waits: the limit, raised while a granted overrun lasts (memory_bound.hpp).
  std::size_t wait_mark() const noexcept { return bound_.mark(pending_limit()); }
  // What the memory bound counts: objects freed and not yet reusable, and entries released or
  // retired and not yet given back (an object_pool's retired objects among them).
  std::size_t bound_pending() const noexcept { return pending_objects() + releases_.waiting_entries(); }
  // Whether an allocation can be served without carving.
  bool has_reusable() const noexcept { return !collected_.empty() || spare_ != nullptr; }

  // Objects in full sets waiting for a stamp, freed and released (retired) alike.
  std::size_t unstamped_objects() const noexcept {
    return frees_.unstamped_slots() + releases_.unstamped_entries();
  }
  // What the batch rule counts: the same, a release set's entry counting as two. A program
  // that only releases is then stamped every stamp_batch / 2 free sets' worth of entries:
  // its entries go back to malloc, which hands that memory out again, and the larger batch
  // that saves heavy fences for freed objects left it cold (docs/benchmarks.md, "W1 at 4
  // threads, and batches of 32": W4 at 4 threads on 2 cores fell by a third counting entries
  // once).
  std::size_t batch_count() const noexcept {
    return frees_.unstamped_slots() + 2 * releases_.unstamped_entries();
  }

  // Full sets (free and release) wait unstamped until they hold options::stamp_batch free
  // sets' worth of objects together (batch_count() reaches due_); then this runs. A set
  // stamped later than the moment it filled is no less safe: its clock is read after a heavy
  // fence that follows every unlink of its objects, which is all I1 needs (docs/design.md §4).
  //
  // At most one generation of stamped sets waits at a time. First a probe (versions read
  // with no fence) collects every stamped set it dominates; if one is still held back, a
  // stamp now would collect nothing later that the next one will not, so the heavy fence is
  // put off (a descheduled or idle thread costs no fences, only memory). Otherwise one heavy
  // fence and one snapshot stamp every waiting full set, free and release alike.
  // The cold paths take no caller location: a checker's report names the snapshot's line
  // here. Passing the caller's location down would make deallocate() build it on every call
  // for this rarely taken, out-of-line call (docs/benchmarks.md: 5 instructions per pair).
  [[gnu::noinline]] void stamp_or_defer() noexcept {
    if (frees_.has_pending() || releases_.has_pending()) {
      probe();
      if (frees_.has_pending() || releases_.has_pending()) {
        defer();
        // Back-pressure: a thread that holds the oldest stamped sets back (on time-shared
        // cores, one that is not running) is given the processor once the sets waiting for a
        // stamp exceed stamp_backlog batches, instead of carving ever more chunk memory.
        if constexpr (has_yield) {
          const std::size_t batch = stamp_batch_ != 0 ? stamp_batch_ : 1;
          if (batch_count() >= saturating_mul(saturating_mul(stamp_backlog_, batch), frees_.capacity())) {
            ++stats_.yields;
            Policy::yield();
          }
        }
        return;
      }
    }
    if (!stamp()) return defer();  // no memory for the clock: the sets wait unstamped
  }

  // A stamp put off: the next try after one more free set's worth (with stamp_batch 0: the
  // next full set), not at every small release set: probes and yields stay rare.
  void defer() noexcept {
    ++stats_.deferred;
    probe_at_next_set();
  }
  // The batch rule runs again (a probe first, while stamped sets wait) after one more free
  // set's worth, or at the next full set with stamp_batch 0.
  void probe_at_next_set() noexcept {
    const std::size_t more = stamp_batch_ != 0 ? frees_.capacity() : 1;
    due_ = saturating_add(batch_count(), more);
  }

  // A stamp: one heavy fence and one snapshot ([S5] inside domain::snapshot), whose clock
  // every waiting set gets, free and release alike (I4; a stamp also takes the release set
  // that is not full yet). With options::stamp_share, the stamp takes a ticket first and
  // publishes its clock for the domain's other threads (domain::shared_snapshot). False when
  // memory for the clock ran out (nothing stamped).
  bool stamp() noexcept {
    if (!(stamp_share_ != 0 ? domain_.shared_snapshot(clock_, source_location::current())
                            : domain_.snapshot(clock_, source_location::current()))) {
      return false;
    }
    ++stats_.stamps;
    stamp_waiting_sets();
    return true;
  }

  // Every waiting set, free and release, gets clock_ (a stamp's or a borrowed one); the next
  // batch counts from here.
  void stamp_waiting_sets() noexcept {
    const std::uint64_t seq = stats_.stamps + stats_.shared_stamps + stats_.deferred;
    frees_.stamp(clock_, seq);  // out of memory for a set's copy: it waits for the next stamp
    releases_.stamp(clock_, seq);
    due_ = saturating_mul(stamp_batch_, frees_.capacity());
  }

  // The stamp of a wait at the bound (nothing of the kind awaited is stamped), shared with the
  // domain's other waiters (options::stamp_share, docs/design.md §3): a ticket; if enough
  // requests wait (max(1, slots / stamp_share), ours included), our own stamp now, whose fence
  // serves them all; else the wait's first pause, then the clock another thread's stamp
  // published meanwhile if that stamp's ticket is later than ours (its heavy fence follows our
  // unlinks and frees: a valid stamp of our sets), else our own stamp after all. Nothing is
  // freed or released in between (a wait calls no user code but deleters, which may not call
  // this allocator); if something was, the sets are stamped by our own stamp instead.
  bool stamp_for_wait(typename memory_bound<Policy>::wait_clock& w, bool may_bump) noexcept {
    if (stamp_share_ == 0) return stamp_at_bound();
    const std::uint64_t ticket = domain_.request_stamp();
    const std::size_t gather = clock_room() / stamp_share_;
    if (domain_.requests_waiting(ticket) >= (gather != 0 ? gather : 1)) return stamp_at_bound();
    const std::uint64_t freed = stats_.freed + releases_.released();
    pause(w, may_bump);
    if (stats_.freed + releases_.released() == freed && domain_.borrow_stamp(clock_, ticket)) {
      ++stats_.shared_stamps;
      stamp_waiting_sets();
      return true;
    }
    return stamp_at_bound();
  }

  // A pause of a wait. Where the owner holds no reference (`may_bump`) and is online, it is
  // offline for the pause's length ([S3] in go_offline): the stamps other threads take
  // meanwhile do not wait for it to be scheduled again -- on time-shared cores most threads
  // at the bound are paused in a wait, and counting them made every collection wait for all
  // of them to run once (docs/benchmarks.md). Online again after it ([S1], [S2] in
  // go_online), which moves it on as a bump would. Where it may hold a reference, or is
  // offline already (e.g. between critical sections), the pause leaves its version alone.
  void pause(typename memory_bound<Policy>::wait_clock& w, bool may_bump) noexcept {
    if (!may_bump || !self_.is_online()) return bound_.pause(w);
    self_.go_offline();
    bound_.pause(w);
    self_.go_online();
  }

  // A stamp the memory bound takes, not the batch rule: the first clock at the floor, and a
  // wait's stamp of what waits unstamped. A stamp like any other (heavy fence, snapshot: never
  // a probe's clock, docs/design.md §4); the next batch counts from here (stamp_waiting_sets).
  bool stamp_at_bound() noexcept { return stamp(); }

  // A probe: the versions read with no fence (never a stamp: docs/design.md §4), and every
  // stamped set they dominate collected. Out of memory for the clock: nothing collected.
  void probe() noexcept {
    if (!domain_.read_versions(clock_, source_location::current())) return;
    ++stats_.probes;
    collect(clock_);
  }

  // Collects, oldest first, every stamped set that `newest` dominates: free sets become
  // reusable, release sets go to the release queue's give-back.
  void collect(const vector_clock<Policy>& newest) noexcept {
    while (set* s = frees_.pop_collectable(newest)) make_reusable(s);
    if (releases_.collect(newest)) end_overrun();  // an overrun ends here too
  }

  // The wait at the memory bound, and when memory runs out (docs/design.md §3): makes sure
  // something stamped waits -- if no set of the kind awaited (free sets, or release sets when
  // `for_releases`) is stamped, the filling free set (full or not) is sealed and everything
  // waiting is stamped -- then probes until a collection gives what is awaited, moving the
  // owner on first when `may_bump` (the call is a point where the owner holds no reference:
  // options::bump_on), pausing between rounds (offline during each pause when `may_bump`). Gives up after options::bound_wait_ns, or at
  // once when only the owner itself holds the sets back and may not move; `report` says
  // whether giving up is an overrun of the bound (reported) or an out-of-memory path. False
  // when nothing became available.
  template <class Done>
  [[gnu::noinline]] bool wait_for_collection(bool may_bump, const char* report, bool for_releases, Done done) noexcept {
    // A stamped generation to wait for: if none of the kind awaited is stamped, the filling
    // free set (full or not) is sealed and everything waiting is stamped. (Stamping what waits
    // behind a generation still held back would collect more per wait, at the cost of a heavy
    // fence per wait: measured slower with 64 threads on 2 cores, docs/benchmarks.md.)
    const bool needs_stamp = for_releases ? !releases_.has_pending() : !frees_.has_pending();
    if (needs_stamp) {
      if (frees_.filling() != nullptr && !frees_.filling()->empty()) frees_.seal_filling();
      if (!frees_.has_unstamped() && !releases_.has_unstamped()) return false;  // nothing freed
    }
    auto w = bound_.start_wait();
    if (needs_stamp && !stamp_for_wait(w, may_bump)) {  // no memory for the clock
      bound_.end_wait(w);
      return false;
    }
    if (may_bump) self_.bump();
    for (;;) {
      probe();
      if (done()) break;
      const set* oldest = for_releases ? releases_.sets().pending_front() : frees_.pending_front();
      if (oldest == nullptr) break;  // not collectable: nothing stamped waits (no clock memory)
      const bool self_blocks = !may_bump && holds_back(self_, oldest->clock());
      if (self_blocks || bound_.expired(w)) {
        if (report) {
          stall_report r;
          r.own_thread = self_blocks;
          if (const record* b = self_blocks ? &self_ : domain_.blocker(oldest->clock()); b != nullptr) {
            r.blocking_slot = static_cast<long long>(b->index());
            r.blocking_label = b->label();
          }
          r.pending = bound_pending();
          r.limit = pending_limit();
          bound_.give_up(w, r, report);
          // The overrun ends at the next collection. Until then every set that fills probes
          // for it (the put-off stamp's retry, below): once the holder moves on, the overrun
          // ends within a free set's worth, not at the next whole batch (or at a new wait).
          probe_at_next_set();
        }
        break;
      }
      pause(w, may_bump);
    }
    bound_.end_wait(w);
    return done();
  }

  // Whether `r` (online in `c` and not moved since) holds back a set stamped with `c`.
  static bool holds_back(const record& r, const vector_clock<Policy>& c) noexcept {
    const std::size_t i = r.index();
    return i < c.size() && !version_is_offline(c[i]) && r.own_version() <= c[i];
  }

  // No memory for a new free set: the top collected set's objects (reusable: no thread holds
  // them, so their memory may be written) move to the spare list, threaded through their
  // first word, and the emptied set is filled instead. With no collected set, a collection is
  // waited for first. nullptr when even that gives none.
  set* start_filling_without_memory() noexcept {
    if (collected_.empty()) wait_for_collection(bump_on_free_, nullptr, false, [&] { return !collected_.empty(); });
    if (collected_.empty()) return nullptr;
    set* cs = collected_.pop();
    while (!cs->empty()) {
      void* o = cs->pop();
      if constexpr (has_poison) Policy::unpoison(o, object_size());
      push_spare(o);
    }
    frees_.recycle(cs);
    return frees_.start_filling(0);  // the recycled set: no allocation
  }

  // A reusable object joins the spare list (its first word links the next one).
  void push_spare(void* o) noexcept {
    *static_cast<void**>(o) = spare_;
    if constexpr (has_poison) Policy::poison(o, object_size());
    spare_ = o;
    carver_.stop();  // the fast path carves nothing while spare objects wait
  }

  // No memory for a release set: collected entries go back at once (their sets are
  // recycled), after waiting for a collection if none was collected. False when still none.
  bool make_room_for_release() noexcept {
    releases_.give_back_collected();
    if (releases_.ready(clock_room())) return true;
    wait_for_collection(bump_on_free_, nullptr, true, [&] { return releases_.has_collected(); });
    releases_.give_back_collected();
    return releases_.ready(clock_room());
  }

  // The last resort when memory for bookkeeping runs out: the object is kept out of reuse
  // for good (never handed out again, never given back: no corruption, a leak), counted.
  void drop(void* obj, const char* api) noexcept {
    ++stats_.dropped;
    if constexpr (detail::checked) {
      std::fprintf(stderr, "ssmem: %s: out of memory for bookkeeping: object %p kept out of reuse\n", api, obj);
    }
    (void)obj, (void)api;
  }

  // A collected set: its objects are reusable. No thread may touch them until allocate()
  // hands one out again; the policy's optional sanitizer hook makes such an access fail.
  void make_reusable(set* s) noexcept {
    stats_.collected += s->count();
    if constexpr (has_poison) {
      for (std::size_t i = 0; i < s->count(); ++i) Policy::poison(s->at(i), object_size());
    }
    collected_.push(s);
    end_overrun();
  }
  static constexpr bool has_yield = requires { Policy::yield(); };
  static constexpr bool has_poison = requires(const void* p, std::size_t n) {
    Policy::poison(p, n);
    Policy::unpoison(p, n);
  };

  chunk_carver<Policy> carver_;  // first: destroyed last (the chunks outlive every set)
  domain_type& domain_;
  record& self_;
  memory_bound<Policy> bound_;
  set_pipeline<Policy> frees_;
  set_stack<Policy> collected_;  // collected free sets: reusable objects
  void* spare_ = nullptr;        // reusable objects without a set (memory ran out), linked
  release_queue<Policy> releases_;
  vector_clock<Policy> clock_;  // the latest probe or stamp; a stamp is copied into each set
  std::size_t stamp_batch_;
  std::size_t stamp_backlog_;
  std::size_t stamp_share_;
  // Unstamped objects at which stamp_or_defer() runs next: a batch, or after a put-off
  // stamp one more free set's worth.
  std::size_t due_ = 0;
  bool zero_memory_;
  bool bookkeeping_taken_ = false;  // take_bookkeeping() ran
  // Decoded from options::bump_on once: the fast path tests one flag.
  bool bump_on_alloc_;
  bool bump_on_free_;
  // The counters this part keeps (the parts keep theirs; stats() puts them together).
  struct counters {
    std::uint64_t allocated = 0, reused = 0, freed = 0, collected = 0;
    std::uint64_t stamps = 0, shared_stamps = 0, probes = 0, deferred = 0, yields = 0, dropped = 0;
  } stats_;
};

}  // namespace ssmem

#endif
