/// \file
/// The allocator: serves one object size to its owner thread. Objects come from the collected
/// sets first, else are carved from chunks (doubling up to a cap). Freed objects fill
/// free sets; full sets wait unstamped until they hold options::stamp_batch free sets' worth
/// of objects, then one heavy fence and one snapshot stamp them all and they are queued;
/// stamped sets whose clock a newer clock dominates (I3) are collected, with every older one
/// (I4). Released objects (ssmem_release) and retired ones (retire: an object with its own
/// deleter) wait in small release sets the same way; then the deleter runs, or the object goes
/// back to the system. All lists are owner-only; the only shared state is the domain's
/// records. When a chunk cannot be mapped, smaller ones are tried, down to one object's worth.
#ifndef SSMEM_ALLOCATOR_HPP
#define SSMEM_ALLOCATOR_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ssmem/detail/checked.hpp"
#include "ssmem/detail/report.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/free_set.hpp"
#include "ssmem/options.hpp"

namespace ssmem {

/// Object sizes are rounded so that every object in a chunk is suitably aligned.
constexpr std::size_t normalize_object_size(std::size_t size, std::size_t align = 0) noexcept {
  if (align == 0) align = size <= 8 ? 8 : 16;
  if (size == 0) size = 1;
  return (size + align - 1) / align * align;
}

/// What a retired object's deleter is: called as `fn(object, context)` on the owner thread once
/// every thread has moved on (see basic_allocator::retire). It must not throw (it runs inside
/// noexcept members). Not a noexcept type, so that a C function (ssmem_retire) is one as it is.
using retire_fn = void (*)(void* object, void* context);

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
      : domain_(d), self_(self), opts_(o),
        object_size_(object_size == 0 ? 0 : normalize_object_size(object_size, 8)),
        next_chunk_(o.chunk_size) {
    if (opts_.free_set_size == 0) opts_.free_set_size = 1;
    due_ = opts_.stamp_batch * opts_.free_set_size;
    if (opts_.release_set_size == 0) opts_.release_set_size = 1;
  }
  basic_allocator(const basic_allocator&) = delete;
  basic_allocator& operator=(const basic_allocator&) = delete;

  /// Returns every chunk, set and clock, and gives pending released objects back to the
  /// system. Precondition (as in the original): no thread still uses an object of this
  /// allocator, and no other allocator holds one of its objects in a free set.
  ~basic_allocator() {
    drain_release_queue_all();
    destroy_sets(filling_);
    destroy_sets(rel_filling_);
    while (!unstamped_.empty()) set::destroy(unstamped_.pop_front());
    while (!pending_.empty()) set::destroy(pending_.pop_front());
    while (!collected_.empty()) {
      set* s = collected_.pop();
      // Poison off: a collected object may lie in another allocator's chunk (freed or retired
      // here), and the shadow state would outlive that chunk's unmapping. The deleters that
      // drain_release_queue_all() ran may have collected objects of chunks already unmapped.
      if constexpr (has_poison) {
        for (std::size_t i = 0; i < s->count(); ++i) Policy::unpoison(s->at(i), object_size_);
      }
      set::destroy(s);
    }
    while (!available_.empty()) set::destroy(available_.pop());
    while (!rel_available_.empty()) set::destroy(rel_available_.pop());
    while (chunks_ != nullptr) {
      chunk_header* c = chunks_;
      chunks_ = c->next;
      if constexpr (detail::checked) detail::checked_registry::instance().remove_chunk(c);
      Policy::unmap_chunk(c, c->bytes);
    }
  }

  /// Bytes per object (0 until fixed by the first sized allocate()).
  std::size_t object_size() const noexcept { return object_size_; }
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
      if constexpr (has_poison) Policy::unpoison(obj, object_size_);
      ++stats_.reused;
    } else if (static_cast<std::size_t>(end_ - cur_) < object_size_ || cur_ == nullptr) {
      return allocate_slow();
    } else {
      obj = cur_;
      cur_ += object_size_;
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
    if (size > object_size_) [[unlikely]] return allocate_first_or_oversize(size);
    return allocate();
  }

 private:
  // allocate(size) off its fast path: the first call (object_size_ still 0) fixes the size;
  // any later size above it is refused.
  [[gnu::noinline, gnu::cold]] void* allocate_first_or_oversize(std::size_t size) noexcept {
    if (object_size_ == 0) {
      object_size_ = normalize_object_size(size);
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
      detail::checked_registry::instance().on_free(obj, object_size_, "ssmem_free");
    }
    // filling_ in a local: the push stores a pointer, which (to the compiler) may alias
    // filling_; the counter goes first: a size_t store that may alias the set's count.
    // A leaf on its fast path, like allocate(): no set yet, or the push that fills the set,
    // goes to deallocate_slow() in tail position (an out-of-line ssmem_free saves no registers).
    set* s = filling_;
    if (s == nullptr || s->count() + 1 == s->capacity()) [[unlikely]] return deallocate_slow(obj);
    ++stats_.freed;
    s->push(obj);
    if (bump_on_free_) self_.bump(loc);
  }

 private:
  // deallocate() off its fast path: takes a set, or fills and seals it.
  [[gnu::noinline]] void deallocate_slow(void* obj) noexcept {
    set* s = filling_;
    if (s == nullptr) filling_ = s = take_set(available_, opts_.free_set_size, "ssmem_free");
    ++stats_.freed;
    s->push(obj);
    if (s->full()) {
      filling_ = nullptr;
      seal(s, unstamped_, "ssmem_free");
    }
    if (bump_on_free_) self_.bump();
  }

 public:
  /// Owner only. `obj` came from the system allocator (malloc), not from this allocator; it
  /// is given back with Policy::return_to_system once every thread has moved on.
  void release(void* obj, source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) detail::checked_registry::instance().on_release(obj, "ssmem_release");
    push_retired(obj, nullptr, nullptr, loc);
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
    push_retired(obj, fn, context, loc);
  }

  /// Owner only. As retire(), for an object of this allocator (allocated, not freed since):
  /// `fn` runs once every thread has moved on, and ends by handing the memory to
  /// reuse_retired() (object_pool::retire: ~T(), then reuse).
  void retire_own(void* obj, retire_fn fn, void* context,
                  source_location loc = source_location::current()) noexcept {
    if (obj == nullptr) return;
    if constexpr (detail::checked) {
      detail::checked_registry::instance().on_free(obj, object_size_, "object_pool::retire");
    }
    push_retired(obj, fn, context, loc);
  }

  /// Owner only, for a deleter of retire_own(): `obj`, whose grace period has passed, is
  /// reusable at once (the next allocate() may hand it out).
  void reuse_retired(void* obj) noexcept {
    set* cs = collected_.top();
    if (cs == nullptr || cs->full()) {
      cs = take_set(available_, opts_.free_set_size, "object_pool::retire");
      collected_.push(cs);
    }
    if constexpr (has_poison) Policy::poison(obj, object_size_);
    cs->push(obj);
    ++stats_.collected;
  }

 private:
  // A release set holds its entries as three slots each: object, deleter, context; a null
  // deleter means Policy::return_to_system.
  static constexpr std::size_t retire_slots = 3;

  void push_retired(void* obj, retire_fn fn, void* context, source_location loc) noexcept {
    if (rel_filling_ == nullptr) {
      rel_filling_ = take_set(rel_available_, retire_slots * opts_.release_set_size, "ssmem_release");
    }
    rel_filling_->push(obj);
    rel_filling_->push(reinterpret_cast<void*>(fn));
    rel_filling_->push(context);
    ++stats_.released;
    if (rel_filling_->full()) {
      set* s = rel_filling_;
      rel_filling_ = nullptr;
      seal(s, rel_unstamped_, "ssmem_release");
    }
    // One collected entry goes back per release: the caller's next malloc finds warm memory
    // where a burst of thousands of cold frees would leave it a cold free list.
    if (!rel_collected_.empty()) give_back_one();
    // A release is a free step: the same timestamp policy applies.
    if (bump_on_free_) self_.bump(loc);
  }

 public:
  /// The counters; reads the domain's versions for blocking_slot.
  allocator_stats stats() const noexcept {
    allocator_stats s = stats_;
    if (const set* oldest = pending_.front(); oldest != nullptr) {
      s.oldest_pending_age = stats_.stamps + stats_.deferred - oldest->stamp_seq();
      s.blocking_slot = domain_.first_blocker(oldest->clock());
    }
    s.object_size = object_size_;
    s.pending = unstamped_.objects() + pending_.objects() + (filling_ != nullptr ? filling_->count() : 0);
    s.pending_sets = pending_.size();
    s.reusable = static_cast<std::size_t>(stats_.collected - stats_.reused);
    std::size_t collected_slots = 0;
    for (const set* c = rel_collected_.top(); c != nullptr; c = c->next()) collected_slots += c->count();
    s.release_pending = (rel_unstamped_.objects() + rel_pending_.objects() + collected_slots +
                         (rel_filling_ != nullptr ? rel_filling_->count() : 0)) / retire_slots;
    s.unstamped = unstamped_.objects() + rel_unstamped_.objects() / retire_slots;
    return s;
  }

  // Diagnostics (owner only): the current filling set, the stamped queue oldest first, the
  // collected sets and the recycled ones.
  /// The set being filled, or nullptr.
  const set* filling_set() const noexcept { return filling_; }
  /// The oldest full set waiting for a stamp (list continues through next()).
  const set* unstamped_front() const noexcept { return unstamped_.front(); }
  /// The oldest stamped set waiting (list continues through next()).
  const set* pending_front() const noexcept { return pending_.front(); }
  /// The top collected set (list continues through next()).
  const set* collected_top() const noexcept { return collected_.top(); }
  /// The top recycled empty set (list continues through next()).
  const set* available_top() const noexcept { return available_.top(); }
  /// Number of collected sets.
  std::size_t collected_sets() const noexcept { return collected_.size(); }

 private:
  struct alignas(64) chunk_header {
    chunk_header* next;
    std::size_t bytes;
  };
  static constexpr std::size_t chunk_payload_offset = 64;

  [[gnu::noinline]] void retire_collected_top() noexcept {
    set* cs = collected_.pop();
    cs->recycle();
    available_.push(cs);
  }

  // allocate() off its fast paths: the last object of a collected set (the set is retired),
  // zeroing, a new chunk. Like the other cold paths it takes no caller
  // location: a checker's report names the bump's line here.
  [[gnu::noinline]] void* allocate_slow() noexcept {
    void* obj;
    set* cs = collected_.top();
    if (cs != nullptr) {
      obj = cs->pop();
      if constexpr (has_poison) Policy::unpoison(obj, object_size_);
      ++stats_.reused;
      if (cs->empty()) retire_collected_top();
      // Fresh chunk memory is zero already (Policy::map_chunk's contract).
      if (opts_.zero_memory) std::memset(obj, 0, object_size_);
    } else {
      obj = carve();
    }
    if (obj == nullptr) return nullptr;
    if constexpr (detail::checked) detail::checked_registry::instance().on_allocate(obj, "ssmem_alloc");
    ++stats_.allocated;
    if (bump_on_alloc_) self_.bump();
    return obj;
  }

  // Carves the next object from the current chunk (a new chunk when it is used up);
  // allocate() inlines the check of its room.
  [[gnu::always_inline]] void* carve() noexcept {
    if (static_cast<std::size_t>(end_ - cur_) < object_size_ || cur_ == nullptr) {
      if (object_size_ == 0) object_size_ = normalize_object_size(1);
      if (!new_chunk()) return nullptr;
    }
    void* obj = cur_;
    cur_ += object_size_;
    return obj;
  }

  // A chunk of next_chunk_ bytes; if that cannot be mapped (address space or memory
  // exhausted), half as much, and so on down to what one object needs; false only when even
  // that fails. After a fallback the sizes go on from the one that worked.
  [[gnu::noinline]] bool new_chunk() noexcept {
    if (object_size_ > std::size_t(-1) - chunk_payload_offset) return false;
    const std::size_t need = chunk_payload_offset + object_size_;
    std::size_t bytes = next_chunk_ < need ? need : next_chunk_;
    void* mem;
    bool fell_back = false;
    while ((mem = Policy::map_chunk(bytes, opts_.huge_pages)) == nullptr) {
      if (bytes == need) return false;
      bytes = bytes / 2 < need ? need : bytes / 2;
      fell_back = true;
    }
    if (fell_back) next_chunk_ = bytes;
    auto* c = new (mem) chunk_header{chunks_, bytes};
    chunks_ = c;
    if constexpr (detail::checked) {
      detail::checked_registry::instance().add_chunk(c, bytes, chunk_payload_offset, object_size_);
    }
    cur_ = static_cast<char*>(mem) + chunk_payload_offset;
    end_ = static_cast<char*>(mem) + bytes;
    stats_.bytes_reserved += bytes;
    ++stats_.chunks;
    if (!fell_back && opts_.chunk_doubling && next_chunk_ < opts_.chunk_size_max) {
      next_chunk_ = next_chunk_ * 2 > opts_.chunk_size_max ? opts_.chunk_size_max : next_chunk_ * 2;
    }
    return true;
  }

  [[gnu::noinline]] set* take_set(set_stack<Policy>& from, std::size_t capacity, const char* api) noexcept {
    if (!from.empty()) return from.pop();
    set* s = set::create(capacity);
    if (s == nullptr) detail::fatal(api, "out of memory for free-set bookkeeping");
    return s;
  }

  // A full set (free or release) waits unstamped in `queue` until the full sets hold
  // options::stamp_batch free sets' worth of objects together; then stamp_or_defer() runs. A set stamped later
  // than the moment it filled is no less safe: its clock is read after a heavy fence that
  // follows every unlink of its objects, which is all I1 needs (docs/design.md §4).
  // The cold paths take no caller location: a checker's report names the snapshot's line
  // here. Passing the caller's location down would make deallocate() build it on every call
  // for this rarely taken, out-of-line call (docs/benchmarks.md: 5 instructions per pair).
  [[gnu::noinline]] void seal(set* s, set_queue<Policy>& queue, const char* api) noexcept {
    queue.push_back(s);
    if (unstamped_objects() >= due_) stamp_or_defer(api);
  }

  // Objects in full sets waiting for a stamp, freed and released (retired) alike.
  std::size_t unstamped_objects() const noexcept {
    return unstamped_.objects() + rel_unstamped_.objects() / retire_slots;
  }

  // At most one generation of stamped sets waits at a time. First a probe (versions read
  // with no fence) collects every stamped set it dominates; if one is still held back, a
  // stamp now would collect nothing later that the next one will not, so the heavy fence is
  // put off (a descheduled or idle thread costs no fences, only memory). Otherwise one heavy
  // fence and one snapshot stamp every waiting full set, free and release alike.
  void stamp_or_defer(const char* api) noexcept {
    if (!pending_.empty() || !rel_pending_.empty()) {
      if (!domain_.read_versions(clock_, source_location::current())) {
        detail::fatal(api, "out of memory for a vector clock");
      }
      ++stats_.probes;
      collect(clock_);
      if (!pending_.empty() || !rel_pending_.empty()) {
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
    stamp_all(unstamped_, pending_, api);
    // A release set that is not full yet goes with the stamp too: released memory never
    // waits for more releases to fill its set, only for the batches (rare, large releases).
    if (rel_filling_ != nullptr && !rel_filling_->empty()) {
      rel_unstamped_.push_back(rel_filling_);
      rel_filling_ = nullptr;
    }
    stamp_all(rel_unstamped_, rel_pending_, api);
  }

  // I4: every waiting set gets the stamp's clock before it is queued for collection.
  void stamp_all(set_queue<Policy>& from, set_queue<Policy>& to, const char* api) noexcept {
    while (!from.empty()) {
      set* s = from.pop_front();
      if (!s->clock().assign(clock_)) detail::fatal(api, "out of memory for a vector clock");
      s->set_stamp_seq(stats_.stamps + stats_.deferred);
      to.push_back(s);
    }
  }

  // Collects, oldest first, every stamped set that `newest` dominates; stops at the first one
  // it does not (monotone: older clocks are entrywise no greater, see free_set.hpp I4).
  void collect(const vector_clock<Policy>& newest) noexcept {
    while (!pending_.empty() && newest.newer_than(pending_.front()->clock())) {
      make_reusable(pending_.pop_front());
    }
    // Release sets: what an earlier collection left goes back now. The newly collected
    // entries are given back one per release (push_retired), as many as the releases made
    // since the last stamp (the rate to expect until the next collection); the rest at once,
    // so that an allocator that rarely releases holds nothing back.
    while (!rel_collected_.empty()) give_back(rel_collected_.pop());
    std::size_t collected = 0;
    set_stack<Policy> newest_first;
    while (!rel_pending_.empty() && newest.newer_than(rel_pending_.front()->clock())) {
      collected += rel_pending_.front()->count() / retire_slots;
      newest_first.push(rel_pending_.pop_front());
    }
    while (!newest_first.empty()) rel_collected_.push(newest_first.pop());  // oldest on top
    const std::size_t releasing =
        (rel_unstamped_.objects() + (rel_filling_ != nullptr ? rel_filling_->count() : 0)) / retire_slots;
    for (; collected > releasing; --collected) give_back_one();
  }

  // A collected set: its objects are reusable. No thread may touch them until allocate()
  // hands one out again; the policy's optional sanitizer hook makes such an access fail.
  void make_reusable(set* s) noexcept {
    stats_.collected += s->count();
    if constexpr (has_poison) {
      for (std::size_t i = 0; i < s->count(); ++i) Policy::poison(s->at(i), object_size_);
    }
    collected_.push(s);
  }
  static constexpr bool has_yield = requires { Policy::yield(); };
  static constexpr bool has_prefetch = requires(const void* p) { Policy::prefetch_for_return(p); };
  static constexpr bool has_poison = requires(const void* p, std::size_t n) {
    Policy::poison(p, n);
    Policy::unpoison(p, n);
  };

  // An entry of a collected release set: its deleter runs (I1 holds for it as for a reuse:
  // the deleter's writes come after the heavy fence of the set's stamp and after every
  // version change it waited for), or the object goes back to the system. Any time after
  // the collection is as safe as the collection itself.
  void give_back_entry(set* s) noexcept {
    void* context = s->pop();
    auto fn = reinterpret_cast<retire_fn>(s->pop());
    void* obj = s->pop();
    ++stats_.returned;
    if (fn == nullptr) {
      Policy::return_to_system(obj);
    } else {
      fn(obj, context);
    }
  }

  // The oldest collected release set gives back one entry; emptied, it is recycled. The entry
  // `prefetch_distance` calls ahead is warmed first: it was retired a batch ago (cold).
  void give_back_one() noexcept {
    set* s = rel_collected_.top();
    if constexpr (has_prefetch) {
      constexpr std::size_t prefetch_distance = 8;
      if (s->count() > retire_slots * (prefetch_distance + 1)) {
        Policy::prefetch_for_return(s->at(s->count() - retire_slots * (prefetch_distance + 1)));
      }
    }
    give_back_entry(s);
    if (s->empty()) {
      rel_collected_.pop();
      s->recycle();
      rel_available_.push(s);
    }
  }

  // A collected release set, all its entries at once.
  void give_back(set* s) noexcept {
    while (!s->empty()) give_back_entry(s);
    s->recycle();
    rel_available_.push(s);
  }

  void drain_release_queue_all() noexcept {
    while (!rel_collected_.empty()) give_back(rel_collected_.pop());
    while (!rel_pending_.empty()) give_back(rel_pending_.pop_front());
    while (!rel_unstamped_.empty()) give_back(rel_unstamped_.pop_front());
    if (rel_filling_ != nullptr) {
      set* s = rel_filling_;
      rel_filling_ = nullptr;
      give_back(s);
    }
  }

  static void destroy_sets(set*& s) noexcept {
    if (s != nullptr) set::destroy(s);
    s = nullptr;
  }

  domain_type& domain_;
  record& self_;
  options opts_;
  // Decoded from opts_.bump_on once: the fast path tests one flag.
  bool bump_on_alloc_ = opts_.bump_on == ts_policy::on_alloc || opts_.bump_on == ts_policy::both;
  bool bump_on_free_ = opts_.bump_on == ts_policy::on_free || opts_.bump_on == ts_policy::both;
  std::size_t object_size_;
  std::size_t next_chunk_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
  chunk_header* chunks_ = nullptr;
  set* filling_ = nullptr;
  set_queue<Policy> unstamped_;      // full free sets waiting for a stamp, oldest first
  set_queue<Policy> pending_;        // stamped free sets waiting for a newer clock
  set_stack<Policy> collected_;
  set_stack<Policy> available_;
  set* rel_filling_ = nullptr;
  set_queue<Policy> rel_unstamped_;
  set_queue<Policy> rel_pending_;
  set_stack<Policy> rel_collected_;  // collected, oldest on top, given back an entry per release
  set_stack<Policy> rel_available_;
  vector_clock<Policy> clock_;  // the latest probe or stamp; a stamp is copied into each set
  // Unstamped objects at which stamp_or_defer() runs next: a batch, or after a put-off
  // stamp one more free set's worth.
  std::size_t due_ = 0;
  allocator_stats stats_;
};

}  // namespace ssmem

#endif
