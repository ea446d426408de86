/// \file
/// The allocator: serves one object size to its owner thread. It is a composition of named
/// parts, each in its own header, and the one decision that joins them:
///
///   chunk_carver   (chunk_carver.hpp)   fresh objects, carved from chunks
///   set_pipeline   (set_pipeline.hpp)   freed objects in free sets: filling -> unstamped ->
///                                       pending (stamped) -> collected (I4)
///   collected_                          collected sets: reusable objects, taken first
///   release_queue  (release_queue.hpp)  released and retired objects, in release sets through
///                                       the same stamps, then given back to the system or
///                                       to their deleters
///   stamp_or_defer (here)               when full sets are stamped: in batches of
///                                       options::stamp_batch free sets' worth, after a probe
///                                       that collects what it can; put off while an online
///                                       thread holds the last stamp back (back-pressure)
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
#include "ssmem/options.hpp"
#include "ssmem/release_queue.hpp"
#include "ssmem/set_pipeline.hpp"

namespace ssmem {

/// An allocator of one object size for one owner thread (see the file comment).
/// Thread safety: every member is for the owner thread only; other threads interact only
/// through the domain's records. Errors: allocation failure gives nullptr; running out of
/// memory for bookkeeping aborts with a message (going on would lose a freed object).
template <class Policy>
class basic_allocator {
 public:
  /// The domain type whose records make up the clocks.
  using domain_type = basic_domain<Policy>;
  /// The owner's record type.
  using record = thread_record<Policy>;
  /// The free-set type.
  using set = free_set<Policy>;

  /// `object_size` 0 defers the size to the first allocate(size) (the C API's way).
  basic_allocator(domain_type& d, record& self, std::size_t object_size,
                  const options& o = options{}) noexcept
      : carver_(object_size == 0 ? 0 : normalize_object_size(object_size, 8), o),
        domain_(d), self_(self), opts_(o),
        frees_(o.free_set_size == 0 ? 1 : o.free_set_size),
        releases_(o.release_set_size == 0 ? 1 : o.release_set_size) {
    if (opts_.free_set_size == 0) opts_.free_set_size = 1;
    due_ = opts_.stamp_batch * opts_.free_set_size;
    if (opts_.release_set_size == 0) opts_.release_set_size = 1;
  }
  basic_allocator(const basic_allocator&) = delete;
  basic_allocator& operator=(const basic_allocator&) = delete;

  /// Gives every released or retired object back (deleters run first, while the chunks are
  /// still mapped), then frees every set and clock and unmaps the chunks. Precondition (as in
  /// the original): no thread still uses an object of this allocator, and no other allocator
  /// holds one of its objects in a free set.
  ~basic_allocator() {
    releases_.drain();
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
    // Then the members: the pipelines free their sets, the carver unmaps the chunks.
  }

  /// Bytes per object (0 until fixed by the first sized allocate()).
  std::size_t object_size() const noexcept { return carver_.object_size(); }
  /// The options in force.
  const options& opts() const noexcept { return opts_; }
  /// The owner thread's record.
  record& owner() const noexcept { return self_; }
  /// The domain the clocks are taken from.
  domain_type& domain() const noexcept { return domain_; }

  /// Owner only. An object of object_size() bytes, or nullptr when memory runs out.
  /// Forced inline, and a leaf on its two fast paths (a collected set that keeps an object
  /// after the pop; room in the current chunk): whatever calls out of line (retiring an
  /// emptied set, a new chunk, zeroing) is left to allocate_slow(), in tail position, so that
  /// an out-of-line caller (ssmem_alloc) saves no registers and builds no frame for it.
  [[gnu::always_inline]] void* allocate(source_location loc = source_location::current()) noexcept {
    void* obj;
    set* cs = collected_.top();
    if (cs != nullptr) [[likely]] {
      if (cs->count() == 1 || opts_.zero_memory) [[unlikely]] return allocate_slow();
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
  /// aborts naming the wrong size instead). Forced inline: one compare in front of the
  /// inlined allocate(), so that ssmem_alloc costs what the C++ API's allocate() costs.
  [[gnu::always_inline]] void* allocate(std::size_t size) noexcept {
    if (size > object_size()) [[unlikely]] return allocate_first_or_oversize(size);
    return allocate();
  }

 private:
  // allocate(size) off its fast path: the first call (the object size still 0) fixes the
  // size; any later size above it is refused.
  [[gnu::noinline, gnu::cold]] void* allocate_first_or_oversize(std::size_t size) noexcept {
    if (object_size() == 0) {
      carver_.set_object_size(normalize_object_size(size));
      return allocate();
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
    if (s == nullptr) s = frees_.start_filling("ssmem_free");
    ++stats_.freed;
    s->push(obj);
    if (s->full()) {
      frees_.seal_filling();
      if (unstamped_objects() >= due_) stamp_or_defer("ssmem_free");
    }
    if (bump_on_free_) self_.bump();
  }

 public:
  /// Owner only. `obj` came from the system allocator (malloc), not from this allocator; it
  /// is given back with Policy::return_to_system once every thread has moved on.
  void release(void* obj, source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) detail::checked_registry::instance().on_release(obj, "ssmem_release");
    push_retired(obj, nullptr, nullptr, "ssmem_release", loc);
  }

  /// Owner only. Deferred destruction, the release path generalised: `obj` (not from an ssmem
  /// allocator; unlinked before this call, as for deallocate) is handed to `fn(obj, context)`
  /// once every thread has moved on, on the owner thread, inside a later
  /// deallocate/release/retire of this allocator or its destructor. `fn` nullptr: as release().
  /// `fn` may write and free the object; it must not call this allocator (it runs inside it),
  /// except reuse_retired().
  void retire(void* obj, retire_fn fn, void* context,
              source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) detail::checked_registry::instance().on_release(obj, "ssmem_retire");
    push_retired(obj, fn, context, "ssmem_release", loc);
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
    push_retired(obj, fn, context, "ssmem_release", loc);
  }

  /// Owner only, for a deleter of retire_own(): `obj`, whose grace period has passed, is
  /// reusable at once (the next allocate() may hand it out).
  void reuse_retired(void* obj) noexcept {
    set* cs = collected_.top();
    if (cs == nullptr || cs->full()) {
      cs = frees_.take_set("object_pool::retire");
      collected_.push(cs);
    }
    if constexpr (has_poison) Policy::poison(obj, object_size());
    cs->push(obj);
    ++stats_.collected;
  }

 private:
  void push_retired(void* obj, retire_fn fn, void* context, const char* api, source_location loc) noexcept {
    if (releases_.push(obj, fn, context, api) && unstamped_objects() >= due_) stamp_or_defer(api);
    // One collected entry goes back per release: the caller's next malloc finds warm memory
    // where a burst of thousands of cold frees would leave it a cold free list.
    if (releases_.has_collected()) releases_.give_back_one();
    // A release is a free step: the same timestamp policy applies.
    if (bump_on_free_) self_.bump(loc);
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
    s.probes = stats_.probes;
    s.deferred = stats_.deferred;
    s.yields = stats_.yields;
    if (const set* oldest = frees_.pending_front(); oldest != nullptr) {
      s.oldest_pending_age = stats_.stamps + stats_.deferred - oldest->stamp_seq();
      s.blocking_slot = domain_.first_blocker(oldest->clock());
    }
    s.object_size = object_size();
    s.bytes_reserved = carver_.bytes_reserved();
    s.chunks = carver_.chunks();
    s.pending = frees_.unstamped_slots() + frees_.pending_slots() + frees_.filling_slots();
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
  [[gnu::noinline]] void retire_collected_top() noexcept { frees_.recycle(collected_.pop()); }

  // allocate() off its fast paths: the last object of a collected set (the set is retired),
  // zeroing, a new chunk. Like the other cold paths it takes no caller
  // location: a checker's report names the bump's line here.
  [[gnu::noinline]] void* allocate_slow() noexcept {
    void* obj;
    set* cs = collected_.top();
    if (cs != nullptr) {
      obj = cs->pop();
      if constexpr (has_poison) Policy::unpoison(obj, object_size());
      ++stats_.reused;
      if (cs->empty()) retire_collected_top();
      // Fresh chunk memory is zero already (Policy::map_chunk's contract).
      if (opts_.zero_memory) std::memset(obj, 0, object_size());
    } else {
      obj = carver_.carve();
    }
    if (obj == nullptr) return nullptr;
    if constexpr (detail::checked) detail::checked_registry::instance().on_allocate(obj, "ssmem_alloc");
    ++stats_.allocated;
    if (bump_on_alloc_) self_.bump();
    return obj;
  }

  // Objects in full sets waiting for a stamp, freed and released (retired) alike: the batch
  // rule counts both (a release set's entry counts as one object).
  std::size_t unstamped_objects() const noexcept {
    return frees_.unstamped_slots() + releases_.unstamped_entries();
  }

  // Full sets (free and release) wait unstamped until they hold options::stamp_batch free
  // sets' worth of objects together (due_); then this runs. A set stamped later than the
  // moment it filled is no less safe: its clock is read after a heavy fence that follows
  // every unlink of its objects, which is all I1 needs (docs/design.md §4).
  //
  // At most one generation of stamped sets waits at a time. First a probe (versions read
  // with no fence) collects every stamped set it dominates; if one is still held back, a
  // stamp now would collect nothing later that the next one will not, so the heavy fence is
  // put off (a descheduled or idle thread costs no fences, only memory). Otherwise one heavy
  // fence and one snapshot stamp every waiting full set, free and release alike.
  // The cold paths take no caller location: a checker's report names the snapshot's line
  // here. Passing the caller's location down would make deallocate() build it on every call
  // for this rarely taken, out-of-line call (docs/benchmarks.md: 5 instructions per pair).
  [[gnu::noinline]] void stamp_or_defer(const char* api) noexcept {
    if (frees_.has_pending() || releases_.has_pending()) {
      if (!domain_.read_versions(clock_, source_location::current())) {
        detail::fatal(api, "out of memory for a vector clock");
      }
      ++stats_.probes;
      collect(clock_);
      if (frees_.has_pending() || releases_.has_pending()) {
        ++stats_.deferred;
        // The next try after one more free set's worth (with stamp_batch 0: the next full
        // set), not at every small release set: probes and yields stay rare.
        due_ = unstamped_objects() + (opts_.stamp_batch != 0 ? opts_.free_set_size : 1);
        // Back-pressure: a thread that holds the oldest stamped sets back (on time-shared
        // cores, one that is not running) is given the processor once the sets waiting for a
        // stamp exceed stamp_backlog batches, instead of carving ever more chunk memory.
        if constexpr (has_yield) {
          const std::size_t batch = opts_.stamp_batch != 0 ? opts_.stamp_batch : 1;
          if (unstamped_objects() >= opts_.stamp_backlog * batch * opts_.free_set_size) {
            ++stats_.yields;
            Policy::yield();
          }
        }
        return;
      }
    }
    if (!domain_.snapshot(clock_, source_location::current())) {
      detail::fatal(api, "out of memory for a vector clock");
    }
    ++stats_.stamps;
    due_ = opts_.stamp_batch * opts_.free_set_size;
    frees_.stamp(clock_, stats_.stamps + stats_.deferred, api);
    releases_.stamp(clock_, stats_.stamps + stats_.deferred, api);
  }

  // Collects, oldest first, every stamped set that `newest` dominates: free sets become
  // reusable, release sets go to the release queue's give-back.
  void collect(const vector_clock<Policy>& newest) noexcept {
    while (set* s = frees_.pop_collectable(newest)) make_reusable(s);
    releases_.collect(newest);
  }

  // A collected set: its objects are reusable. No thread may touch them until allocate()
  // hands one out again; the policy's optional sanitizer hook makes such an access fail.
  void make_reusable(set* s) noexcept {
    stats_.collected += s->count();
    if constexpr (has_poison) {
      for (std::size_t i = 0; i < s->count(); ++i) Policy::poison(s->at(i), object_size());
    }
    collected_.push(s);
  }
  static constexpr bool has_yield = requires { Policy::yield(); };
  static constexpr bool has_poison = requires(const void* p, std::size_t n) {
    Policy::poison(p, n);
    Policy::unpoison(p, n);
  };

  chunk_carver<Policy> carver_;  // first: destroyed last (the chunks outlive every set)
  domain_type& domain_;
  record& self_;
  options opts_;
  // Decoded from opts_.bump_on once: the fast path tests one flag.
  bool bump_on_alloc_ = opts_.bump_on == ts_policy::on_alloc || opts_.bump_on == ts_policy::both;
  bool bump_on_free_ = opts_.bump_on == ts_policy::on_free || opts_.bump_on == ts_policy::both;
  set_pipeline<Policy> frees_;
  set_stack<Policy> collected_;  // collected free sets: reusable objects
  release_queue<Policy> releases_;
  vector_clock<Policy> clock_;  // the latest probe or stamp; a stamp is copied into each set
  // Unstamped objects at which stamp_or_defer() runs next: a batch, or after a put-off
  // stamp one more free set's worth.
  std::size_t due_ = 0;
  // The counters this part keeps (the parts keep theirs; stats() puts them together).
  struct counters {
    std::uint64_t allocated = 0, reused = 0, freed = 0, collected = 0;
    std::uint64_t stamps = 0, probes = 0, deferred = 0, yields = 0;
  } stats_;
};

}  // namespace ssmem

#endif
