// The concurrent scenarios of the verification suite, each written once as a template over the
// atomics policy (Policy::atomic / Policy::var for shared data, Policy::check for assertions,
// Policy::system_new for the model's malloc). verification/*_test.cc wrap them in Relacy test
// suites; every check here can fail (docs/verification.md lists which mutant trips which).
//
//   world          a domain, one record and one allocator per thread, the payload lifetimes,
//                  teardown, and the progress check run after every thread has finished.
//   swap_slots     the original ssmem test: read the slot's object, copy its value into a new
//                  object, exchange it in, free (or release, or retire with a deleter) the old one.
//   treiber_stack  pops free the popped node; every key pushed is popped or left exactly once.
//   membership_race  one read around a membership change (register, leave, offline/online)
//                  against one unlink, two stamps and the reuse (2 threads, exhaustive search).
//   batch_race     reads against a batch of sets stamped together, and against a stamp that
//                  follows a probe (2 threads, exhaustive search).
//   register_race  registrations racing (two publications, two adopters of one free record,
//                  a leave-and-rejoin against a registration) around one unlink, two stamps
//                  and the reuse; world::check_membership afterwards (2 and 3 threads).
//   bound_race     reads against an allocation that waits at the memory bound: its stamp of
//                  sets that waited unstamped, its own bumps and probes, and the reuse.
//   section_race   reads inside critical sections (nested, or two in a row) of a thread that
//                  is offline outside them, against one unlink, two stamps and the reuse.
//   share_race     a wait at the bound that borrows another thread's stamp (shared stamps:
//                  the ticket, the publication, the copy) against a reader (3 threads).
//
// Payloads are Policy::var, so a reuse write that races with a stale read is a data race, and
// their `check` field (always ~value) shows a read of an object rewritten under the reader.
#ifndef SSMEM_VERIFICATION_SCENARIOS_HPP
#define SSMEM_VERIFICATION_SCENARIOS_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "ssmem/allocator.hpp"
#include "ssmem/domain.hpp"
#include "ssmem/options.hpp"

namespace ssmem::verification {

/// Knobs of a scenario (kept tiny: the state space grows fast).
struct scenario_config {
  std::size_t free_set_size = 1;
  std::size_t release_set_size = 1;  ///< entries per release set
  std::size_t stamp_batch = 1;   ///< free sets' worth of objects per stamp (1: every free set)
  ts_policy bump_on = ts_policy::both;
  unsigned ops = 2;              ///< operations per thread
  unsigned reader_ops = 0;       ///< thread `reader` only reads (swap) or pops (stack), this often
  int reader = -1;               ///< a reading thread (-1: every thread swaps / pops and pushes)
  bool reader_bump_first = true; ///< swap reader: bump, load, read (else load, read, bump)
  bool release_odd_ops = false;  ///< swap_slots: odd operations use system objects + release()
  bool release_all = false;      ///< swap_slots: every object is a system object (release only);
                                 ///< membership_race: A is one (released, or retired)
  bool retire_system = false;    ///< swap_slots: system objects go through retire() with a
                                 ///< deleter (writes the object, then returns it) instead of release()
  bool retire_own = false;       ///< swap_slots: allocator objects go through retire_own() with a
                                 ///< deleter (writes the object, then reuse_retired) instead of deallocate()
  bool check_progress = true;    ///< after(): freed objects are collected and reused
  // Membership roles (thread indices; -1: none).
  int late_joiner = -1;    ///< registers inside its thread (the others before the run)
  int leaver = -1;         ///< unregisters at the end of its thread
  int offline_first = -1;  ///< goes offline and back online before its operations
  int rejoiner = -1;       ///< unregisters after its operations, registers again, one more op
  int idle = -1;           ///< check_progress does not bump it: online, never moving on
  // register_race (membership races over register_thread / unregister_thread).
  unsigned joins_in_run = 0;      ///< bit t: thread t registers inside its thread, not before()
  unsigned free_records = 0;      ///< records registered and left again in before(): adoptable
  unsigned expected_records = 0;  ///< register_race: records in the domain at the end (0: any)
  bool membership_check = true;   ///< register_race: run world::check_membership in after()
  // The memory bound (bound_race) and critical sections (section_race).
  std::size_t pending_budget = 100'000;  ///< options::pending_budget (1: the floor, 2 sets)
  std::uint64_t bound_wait_ns = 1'000'000;  ///< options::bound_wait_ns (no clock: 1 ms a round)
  bool holder = false;     ///< bound_race: the reader holds its reference across an allocation
  bool unlink_last = false; ///< bound_race: the writer frees its private object before A
  bool holder_moves = false;    ///< bound_race holder: moves on after its frees, before it loads
                                ///< A: its own sets no longer hold its wait back, which pauses
  bool read_after_wait = false; ///< bound_race holder: waits at its bound first (moving on as
                                ///< bump_on allows), then loads and reads A
  bool nested = false;     ///< section_race: an inner section opens and closes before the read
  unsigned sections = 1;   ///< section_race: sections in a row, a load and read in each
  bool registration_only = false; ///< register_race: no slot, no collection: every thread only
                                  ///< registers (and leaves, rejoins) as its roles say
  std::size_t stamp_share = 0;    ///< options::stamp_share (0: no shared stamps; share_race: 1)
};

/// Shared setup of every scenario: N threads, each with a record and an allocator.
template <class Policy, std::size_t N, class Object>
class world {
 public:
  using record = thread_record<Policy>;
  using allocator = basic_allocator<Policy>;

  explicit world(const scenario_config& c) : cfg_(c) { domain_.emplace(); }

  const scenario_config& cfg() const { return cfg_; }
  basic_domain<Policy>& domain() { return *domain_; }
  record& rec(std::size_t t) { return *rec_[t]; }
  /// Thread t's allocator (after join).
  basic_allocator<Policy>& alloc(std::size_t t) { return *alloc_[t]; }

  /// Registers thread t and gives it an allocator (once; a rejoin adopts a free record).
  /// Without an allocator (a thread that only reads), a rejoin may take any record.
  void join(std::size_t t, bool with_allocator = true) {
    rec_[t] = domain_->register_thread();
    Policy::check(rec_[t] != nullptr, "register_thread failed");
    registered_[t] = true;
    if (!with_allocator) return;
    if (alloc_[t]) {
      // A rejoin: the allocator keeps its record, so the thread must have adopted it again.
      Policy::check(&alloc_[t]->owner() == rec_[t], "scenario: a rejoin adopted another record");
    } else {
      options o;
      o.free_set_size = cfg_.free_set_size;
      o.release_set_size = cfg_.release_set_size;
      o.chunk_size = 4096;
      o.bump_on = cfg_.bump_on;
      o.stamp_batch = cfg_.stamp_batch;
      o.pending_budget = cfg_.pending_budget;
      o.bound_wait_ns = cfg_.bound_wait_ns;
      o.stamp_share = cfg_.stamp_share;
      alloc_[t].emplace(*domain_, *rec_[t], sizeof(Object), o);
    }
  }
  void leave(std::size_t t) {
    domain_->unregister_thread(rec_[t]);
    registered_[t] = false;  // its record may now be adopted by another thread
  }

  /// Registers k records and unregisters them again (before the run): free for adoption.
  void add_free_records(unsigned k) {
    std::array<record*, 4> r{};
    Policy::check(k <= r.size(), "scenario: too many free records");
    for (unsigned i = 0; i < k; ++i) r[i] = domain_->register_thread();
    for (unsigned i = 0; i < k; ++i) domain_->unregister_thread(r[i]);
  }

  /// Membership (run after every thread finished): the records' indices are unique and
  /// contiguous (head.index, ..., 1, 0 down the list: I2), there are `expected` of them (0: any
  /// number), every registered thread owns a record of the list that is in use and online
  /// (registration takes it online: an offline record is ignored by every clock), and no two
  /// registered threads own the same one. A slot shared by two records would let one of them
  /// mask the other in every clock.
  void check_membership(unsigned expected) {
    std::size_t count = 0;
    record* head = domain_->first();
    std::size_t next_index = head != nullptr ? head->index() : 0;
    for (record* r = head; r != nullptr; r = r->next()) {
      Policy::check(r->index() == next_index,
                    "membership: record indices are not unique and contiguous");
      ++count;
      if (next_index > 0) --next_index;
    }
    Policy::check(head == nullptr || count == head->index() + 1,
                  "membership: record indices are not unique and contiguous");
    Policy::check(expected == 0 || count == expected,
                  "membership: wrong number of records (one lost or one too many)");
    for (std::size_t t = 0; t < N; ++t) {
      if (!registered_[t]) continue;
      bool listed = false;
      for (record* r = head; r != nullptr; r = r->next()) listed = listed || r == rec_[t];
      Policy::check(listed, "membership: a registered thread's record is not in the domain");
      Policy::check(rec_[t]->is_online(), "membership: a registered thread's record is offline");
      for (std::size_t u = 0; u < t; ++u) {
        Policy::check(!registered_[u] || rec_[u] != rec_[t],
                      "membership: two registered threads own the same record");
      }
    }
    domain_stats st = domain_->stats();
    std::size_t registered = 0;
    for (std::size_t t = 0; t < N; ++t) registered += registered_[t] ? 1 : 0;
    Policy::check(st.slots - st.free == registered,
                  "membership: records in use differ from the threads registered");
  }

  /// An object from thread t's allocator; its payload's lifetime starts on first hand-out and
  /// lasts until teardown (a reuse is a plain write, which Relacy checks against stale reads).
  Object* make(std::size_t t) {
    void* p = alloc_[t]->allocate();
    Policy::check(p != nullptr, "allocate failed");
    for (std::size_t i = 0; i < made_count_; ++i) {
      if (made_[i] == p) return static_cast<Object*>(p);
    }
    Policy::check(made_count_ < made_.size(), "scenario made too many objects");
    made_[made_count_++] = p;
    return std::construct_at(static_cast<Object*>(p));
  }
  /// Ends the payload lifetime of a made object (a retired object's deleter).
  void forget(void* p) {
    for (std::size_t i = 0; i < made_count_; ++i) {
      if (made_[i] == p) {
        std::destroy_at(static_cast<Object*>(p));
        made_[i] = made_[--made_count_];
        return;
      }
    }
    Policy::check(false, "scenario: a deleter got an object that was not made");
  }
  /// The model's malloc (for release()).
  Object* make_system() { return Policy::template system_new<Object>(); }
  void free_object(std::size_t t, Object* o) { alloc_[t]->deallocate(o); }
  void release_object(std::size_t t, Object* o) { alloc_[t]->release(o); }
  /// Deferred destruction of a system object: the deleter writes it (Object::destroyed(), the
  /// model of a destructor: a read not ordered before it is a data race), then frees it.
  void retire_object(std::size_t t, Object* o) {
    alloc_[t]->retire(o, [](void* obj, void*) noexcept {
      static_cast<Object*>(obj)->destroyed();
      Policy::return_to_system(obj);
    }, nullptr);
  }
  /// Deferred destruction of an allocator object (object_pool::retire): the deleter writes it
  /// and ends its payload's lifetime (the model of ~T(): a stale read is then a race or an
  /// access to freed memory; the next make() that reuses it constructs it again), then hands
  /// the memory back for reuse at once.
  void retire_own_object(std::size_t t, Object* o) {
    own_ctx_[t] = {this, t};
    alloc_[t]->retire_own(o, [](void* obj, void* c) noexcept {
      auto* ctx = static_cast<own_ctx*>(c);
      // At teardown (the allocator's destructor runs what is still pending) every payload
      // lifetime has ended already.
      if (!ctx->w->tearing_down_) {
        static_cast<Object*>(obj)->destroyed();
        ctx->w->forget(obj);
      }
      ctx->w->alloc_[ctx->t]->reuse_retired(obj);
    }, &own_ctx_[t]);
  }
  /// The explicit timestamp step (ssmem_ts_next / safe_to_reclaim) under ts_policy::none.
  void explicit_step(std::size_t t) {
    if (cfg_.bump_on == ts_policy::none) rec_[t]->bump();
  }

  /// Progress (property 3), run after every thread finished: when every registered thread
  /// keeps bumping, two more stamps by an owner -- each within one batch of frees -- collect
  /// everything it freed during the run, and its next allocation reuses a collected object.
  /// Threads that left are not bumped: they must not block collection (nor defer a stamp).
  void check_progress() {
    for (std::size_t t = 0; t < N; ++t) {
      if (!alloc_[t] || !registered_[t] || !rec_[t]->is_online()) continue;
      std::uint64_t freed_run = alloc_[t]->stats().freed;
      if (freed_run == 0) continue;
      for (int round = 0; round < 2; ++round) {
        bump_online();
        std::uint64_t stamps = alloc_[t]->stats().stamps;
        // A stamp is due after at most one set and one batch of frees; a deferred one (a
        // thread holding the oldest stamped set back) is a progress failure here.
        const std::size_t due = cfg_.free_set_size * (cfg_.stamp_batch + 1);
        for (std::size_t i = 0; i < due && alloc_[t]->stats().stamps == stamps; ++i) {
          Object* o = make(t);
          o->init(0);
          free_object(t, o);
        }
        Policy::check(alloc_[t]->stats().stamps != stamps,
                      "progress: no stamp after a batch of frees with every online thread bumping");
      }
      allocator_stats s = alloc_[t]->stats();
      Policy::check(s.collected >= freed_run,
                    "progress: objects freed during the run are still pending after two stamps "
                    "with every online thread bumping");
      Policy::check(s.pending_sets <= 1, "progress: more than the newest set is pending");
      make(t);
      Policy::check(alloc_[t]->stats().reused == s.reused + 1,
                    "progress: an allocation did not reuse a collected object");
    }
  }

  /// Ends every payload lifetime, unregisters, destroys the allocators and the domain. Every
  /// block must then be back (the policy reports leaks, Relacy those of vars and atomics).
  void teardown() {
    tearing_down_ = true;
    for (std::size_t i = 0; i < made_count_; ++i) std::destroy_at(static_cast<Object*>(made_[i]));
    made_count_ = 0;
    for (std::size_t t = 0; t < N; ++t) {
      if (registered_[t]) leave(t);
    }
    for (auto& a : alloc_) a.reset();
    domain_.reset();
  }

 private:
  void bump_online() {
    for (std::size_t t = 0; t < N; ++t) {
      if (static_cast<int>(t) == cfg_.idle) continue;
      if (registered_[t] && rec_[t]->is_online()) rec_[t]->bump();
    }
  }

  scenario_config cfg_;
  std::optional<basic_domain<Policy>> domain_;  // reset last in teardown()
  std::array<record*, N> rec_{};
  std::array<bool, N> registered_{};
  std::array<std::optional<allocator>, N> alloc_{};
  std::array<void*, 64> made_{};
  std::size_t made_count_ = 0;
  struct own_ctx {
    world* w;
    std::size_t t;
  };
  std::array<own_ctx, N> own_ctx_{};
  bool tearing_down_ = false;
};

/// The slot object: value, its complement and where it came from.
template <class Policy>
struct slot_object {
  static constexpr std::uint32_t from_allocator = 1;
  static constexpr std::uint32_t from_system = 2;
  typename Policy::template var<std::uint64_t> value;
  typename Policy::template var<std::uint64_t> check;
  typename Policy::template var<std::uint32_t> origin;
  void init(std::uint64_t v, std::uint32_t from = from_allocator) {
    value.store(v);
    check.store(~v);
    origin.store(from);
  }
  /// Values stay below this; a larger one was written by a reuse.
  static constexpr std::uint64_t max_value = 64;
  /// A reader's read of the object (safety): both fields agree and the value is in range, else
  /// the object was rewritten under the reader. Returns the value.
  std::uint64_t read_checked() const {
    std::uint64_t v = value.load();
    std::uint64_t c = check.load();
    Policy::check(c == ~v, "safety: object rewritten while read (value and check disagree)");
    Policy::check(v < max_value, "safety: value out of range (read a reused object)");
    return v;
  }
  /// What giving the memory back to the system does to it (see relacy_policy::system_new).
  void retire() {
    value.store(0xdead);
    check.store(0xdead);
  }
  /// What a retired object's deleter does to it (the model of ~T()).
  void destroyed() {
    value.store(0xde1e);
    check.store(0xde1e);
  }
};

/// The end of every scenario over one shared slot, run after every thread finished: the
/// progress check, the last object's integrity (and its return to the system if it came from
/// there), then the teardown.
template <class Policy, std::size_t N>
void finish_slot_scenario(world<Policy, N, slot_object<Policy>>& w,
                          const typename Policy::template atomic<slot_object<Policy>*>& slot) {
  if (w.cfg().check_progress) w.check_progress();
  slot_object<Policy>* last = slot.load(std::memory_order::relaxed);  // relaxed: every thread is done
  Policy::check(last->check.load() == ~last->value.load(), "final object corrupt");
  if (last->origin.load() == slot_object<Policy>::from_system) Policy::return_to_system(last);
  w.teardown();
}

/// The writer steps of the two-thread slot races (membership_race, register_race,
/// batch_race), whose slot holds A and whose free sets hold one object.
/// Unlinks A: a new object of value 1 exchanged into the slot; returns A.
template <class Policy, std::size_t N>
slot_object<Policy>* unlink_slot_object(world<Policy, N, slot_object<Policy>>& w,
                                        typename Policy::template atomic<slot_object<Policy>*>& slot,
                                        std::size_t t) {
  slot_object<Policy>* b = w.make(t);
  b->init(1);
  // acq_rel: release publishes b's init; acquire makes A's init ours to free.
  return slot.exchange(b, std::memory_order::acq_rel);
}

/// A private object of value v, allocated and freed at once (a full free set of 1).
template <class Policy, std::size_t N>
void free_private_object(world<Policy, N, slot_object<Policy>>& w, std::size_t t, std::uint64_t v) {
  slot_object<Policy>* q = w.make(t);
  q->init(v);
  w.free_object(t, q);
}

/// Gives an unlinked slot object back the way its origin and the configuration say: an
/// allocator object is freed (or retired with retire_own), a system object released (or
/// retired with a deleter).
template <class Policy, std::size_t N>
void dispose_slot_object(world<Policy, N, slot_object<Policy>>& w, std::size_t t,
                         slot_object<Policy>* old) {
  if (old->origin.load() == slot_object<Policy>::from_system) {
    if (w.cfg().retire_system) {
      w.retire_object(t, old);
    } else {
      w.release_object(t, old);
    }
  } else {
    Policy::check(old->origin.load() == slot_object<Policy>::from_allocator, "safety: origin corrupt");
    if (w.cfg().retire_own) {
      w.retire_own_object(t, old);
    } else {
      w.free_object(t, old);
    }
  }
}

/// The one-reuse writer: unlinks A and frees it (stamped S0), bumps, frees a private object
/// (a probe collects S0 if every reader in it moved on; S1 stamped), then allocates and
/// writes one object -- A again if S0 was collected, which Relacy checks against the readers'
/// reads of A. With release_all A is a system object: released (or retired) into a release
/// set of 1, stamped S0 likewise; the probe that collects S0 gives A back (its deleter runs)
/// at once, before S1's heavy fence, since no release is waiting.
template <class Policy, std::size_t N>
void unlink_free_and_reuse(world<Policy, N, slot_object<Policy>>& w,
                           typename Policy::template atomic<slot_object<Policy>*>& slot,
                           std::size_t t) {
  dispose_slot_object(w, t, unlink_slot_object(w, slot, t));  // the set is full: stamped S0
  w.rec(t).bump();                                   // the writer's own entry of S1 will be newer
  free_private_object(w, t, 2);                      // collects S0 if S1 is newer; stamps S1
  w.make(t)->init(slot_object<Policy>::max_value);   // reuses A if S0 was collected
}

/// The original ssmem test: one shared slot; each operation reads the slot's object, copies
/// its value + 1 into a new object, exchanges that in and frees (or releases) the old one.
template <class Policy, std::size_t N>
class swap_slots {
 public:
  using object = slot_object<Policy>;
  explicit swap_slots(const scenario_config& c) : w_(c) {}

  void before() {
    for (std::size_t t = 0; t < N; ++t) {
      if (static_cast<int>(t) != w_.cfg().late_joiner) w_.join(t);
    }
    object* o = w_.cfg().release_all ? w_.make_system() : w_.make(0);
    o->init(0, w_.cfg().release_all ? object::from_system : object::from_allocator);
    slot_.store(o, std::memory_order::relaxed);  // relaxed: before() happens before every thread
  }

  void thread(std::size_t t) {
    const scenario_config& c = w_.cfg();
    const int ti = static_cast<int>(t);
    if (ti == c.late_joiner) w_.join(t);
    if (ti == c.offline_first) {
      w_.rec(t).go_offline();
      w_.rec(t).go_online();
    }
    if (ti == c.reader) {
      for (unsigned i = 0; i < c.reader_ops; ++i) read_once(t);
    } else {
      for (unsigned i = 0; i < c.ops; ++i) swap_once(t, i);
    }
    if (ti == c.rejoiner) {
      w_.leave(t);
      w_.join(t);
      swap_once(t, c.ops);
    }
    if (ti == c.leaver || ti == c.late_joiner) w_.leave(t);
  }

  void after() {
    finish_slot_scenario(w_, slot_);
  }

 private:
  // A reader: loads and reads the slot's object; its bump (ssmem_ts_next: it holds nothing
  // loaded before) comes first or last. Bump first: the reads of its last operation are not
  // followed by a bump, so nothing it may still hold may be reused.
  void read_once(std::size_t t) {
    if (w_.cfg().reader_bump_first) w_.rec(t).bump();
    object* p = slot_.load(std::memory_order::acquire);  // acquire: as in swap_once
    p->read_checked();
    if (!w_.cfg().reader_bump_first) w_.rec(t).bump();
  }

  void swap_once(std::size_t t, unsigned i) {
    // acquire: pairs with the acq_rel exchange that published the object (its init).
    object* p = slot_.load(std::memory_order::acquire);
    const std::uint64_t v = p->read_checked();
    const bool system = w_.cfg().release_all || (w_.cfg().release_odd_ops && i % 2 == 1);
    object* n = system ? w_.make_system() : w_.make(t);
    n->init(v + 1, system ? object::from_system : object::from_allocator);
    // acq_rel: release publishes n's init; acquire makes the old object's init ours to free.
    object* old = slot_.exchange(n, std::memory_order::acq_rel);
    dispose_slot_object(w_, t, old);
    w_.explicit_step(t);
  }

  static constexpr std::uint64_t max_value = object::max_value;
  world<Policy, N, object> w_;
  typename Policy::template atomic<object*> slot_{nullptr};
};

/// The smallest race of a membership change against a collection (membership_test.cc), for
/// two threads and an exhaustive search. The slot holds A. The reader (thread `reader`) takes
/// its membership roles around one load and read of the slot's object: it registers first
/// (late_joiner), goes offline and online first (offline_first), unregisters last (leaver);
/// it never bumps (unless reader_bump_first is false: then it bumps after its read), so its
/// membership transitions are its only version changes. The writer
/// (the other thread) unlinks A and frees it (a free set of 1: stamped S0 at once), bumps,
/// frees a private object (stamped S1, which collects S0 if the reader has moved on, left or
/// was offline or unregistered in S0), then allocates and writes one object: A again if S0
/// was collected, a write that Relacy checks against the reader's read of A. Every step of
/// swap_slots that cannot reach that reuse is left out: with free sets of 1 and
/// ts_policy::none the writer has one exchange, two snapshots and one bump. With release_all
/// A is a system object that the writer releases (or retires): the probe before S1 gives it
/// back (return_to_system, or its deleter) before S1's heavy fence.
template <class Policy, std::size_t N>
class membership_race {
  static_assert(N == 2, "membership_race: one reader, one writer");

 public:
  using object = slot_object<Policy>;
  explicit membership_race(const scenario_config& c) : w_(c) {
    Policy::check(c.reader == 0 || c.reader == 1, "membership_race: reader must be 0 or 1");
    Policy::check(c.bump_on == ts_policy::none, "membership_race: the writer bumps explicitly");
  }

  void before() {
    for (std::size_t t = 0; t < N; ++t) {
      if (static_cast<int>(t) != w_.cfg().late_joiner) w_.join(t);
    }
    const bool system = w_.cfg().release_all;
    object* a = system ? w_.make_system() : w_.make(writer());
    a->init(0, system ? object::from_system : object::from_allocator);
    slot_.store(a, std::memory_order::relaxed);  // relaxed: before() precedes the threads
  }

  void thread(std::size_t t) {
    const scenario_config& c = w_.cfg();
    const int ti = static_cast<int>(t);
    if (t != static_cast<std::size_t>(c.reader)) {
      write(t);
      return;
    }
    if (ti == c.late_joiner) w_.join(t);
    if (ti == c.offline_first) {
      w_.rec(t).go_offline();
      w_.rec(t).go_online();
    }
    object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
    p->read_checked();
    // read_then_bump: the reader moves on after its read (only [S1]/[S8] order that read
    // before the writer's reuse: safety__free_stamp_reuse_2t).
    if (!c.reader_bump_first) w_.rec(t).bump();
    if (ti == c.leaver) w_.leave(t);
  }

  void after() {
    finish_slot_scenario(w_, slot_);
  }

 private:
  std::size_t writer() const { return w_.cfg().reader == 0 ? 1 : 0; }

  void write(std::size_t t) { unlink_free_and_reuse(w_, slot_, t); }

  static constexpr std::uint64_t max_value = object::max_value;
  world<Policy, N, object> w_;
  typename Policy::template atomic<object*> slot_{nullptr};
};

/// Membership races over register_thread / unregister_thread (issue 13). Thread 0 writes, the
/// others read. Threads in joins_in_run register inside their thread, so two or three
/// registrations may race: each walks the list (adopting one of the free_records left in
/// before(), or a record another thread has just left) or publishes a new record with the head
/// CAS, which fails and retries when another publication got in first. A reader registers
/// (if in the run), loads the slot and reads its object; a `rejoiner` then unregisters,
/// registers again (its own record back, a free one, or a new one) and reads once more; a
/// `leaver` unregisters at the end. The writer registers (if in the run) and publishes A (if
/// it was not published in before()), then runs membership_race's write: unlink A, free it
/// (stamp S0), bump, free a private object (a probe collects S0 if every reader registered in
/// S0 has moved on; stamp S1), allocate: A again if S0 was collected, a write that Relacy
/// checks against every reader's read of A. After the run, world::check_membership: indices
/// unique and contiguous, expected_records records, one record per registered thread.
/// registration_only leaves out the slot and the collection: the threads only register, leave
/// and rejoin, and the membership check is the property (small enough for a full search).
template <class Policy, std::size_t N>
class register_race {
  static_assert(N == 2 || N == 3, "register_race: one writer, one or two readers");

 public:
  using object = slot_object<Policy>;
  explicit register_race(const scenario_config& c) : w_(c) {
    Policy::check(c.bump_on == ts_policy::none, "register_race: the writer bumps explicitly");
    Policy::check(c.free_set_size == 1 && c.stamp_batch == 1, "register_race: sets of 1");
  }

  void before() {
    for (std::size_t t = 0; t < N; ++t) {
      if (!in_run(t)) w_.join(t, t == writer);
    }
    w_.add_free_records(w_.cfg().free_records);  // after the joins: nobody adopts them here
    if (w_.cfg().registration_only) return;
    if (!in_run(writer)) publish_a(std::memory_order::relaxed);  // relaxed: before the threads
  }

  void thread(std::size_t t) {
    const scenario_config& c = w_.cfg();
    const int ti = static_cast<int>(t);
    if (c.registration_only) {
      if (in_run(t)) w_.join(t, false);
      if (ti == c.rejoiner) {
        w_.leave(t);
        w_.join(t, false);
      }
      if (ti == c.leaver) w_.leave(t);
      return;
    }
    if (t == writer) {
      if (in_run(t)) {
        w_.join(t);
        // release: pairs with the readers' acquire load, publishes A's init.
        publish_a(std::memory_order::release);
      }
      write(t);
      return;
    }
    if (in_run(t)) w_.join(t, false);
    read_once();
    if (ti == c.rejoiner) {
      w_.leave(t);
      w_.join(t, false);
      read_once();
    }
    if (ti == c.leaver) w_.leave(t);
  }

  void after() {
    if (w_.cfg().membership_check) w_.check_membership(w_.cfg().expected_records);
    if (w_.cfg().registration_only) {
      w_.teardown();
    } else {
      finish_slot_scenario(w_, slot_);
    }
  }

 private:
  static constexpr std::size_t writer = 0;
  bool in_run(std::size_t t) const { return (w_.cfg().joins_in_run >> t & 1u) != 0; }

  void publish_a(std::memory_order mo) {
    object* a = w_.make(writer);
    a->init(0);
    slot_.store(a, mo);
  }

  void read_once() {
    object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the publication
    if (p == nullptr) return;                            // A not published yet
    p->read_checked();
  }

  void write(std::size_t t) { unlink_free_and_reuse(w_, slot_, t); }

  static constexpr std::uint64_t max_value = object::max_value;
  world<Policy, N, object> w_;
  typename Policy::template atomic<object*> slot_{nullptr};
};

/// The frame of the two-thread slot races in which every thread registers before the run
/// (batch_race, bound_race, section_race): the world, the slot holding A (made by the writer's
/// allocator in before()), the writer (the thread that is not `reader`) and the common end.
template <class Policy, std::size_t N>
class slot_race {
  static_assert(N == 2, "a slot race has one reader and one writer");

 public:
  using object = slot_object<Policy>;

  void before() {
    for (std::size_t t = 0; t < N; ++t) w_.join(t);
    object* a = w_.make(writer());
    a->init(0);
    slot_.store(a, std::memory_order::relaxed);  // relaxed: before() precedes the threads
  }

  void after() { finish_slot_scenario(w_, slot_); }

 protected:
  explicit slot_race(const scenario_config& c) : w_(c) {
    Policy::check(c.reader == 0 || c.reader == 1, "slot race: reader must be 0 or 1");
  }
  std::size_t writer() const { return w_.cfg().reader == 0 ? 1 : 0; }

  static constexpr std::uint64_t max_value = object::max_value;
  world<Policy, N, object> w_;
  typename Policy::template atomic<object*> slot_{nullptr};
};

/// Stamping in batches and the probe (docs/design.md §3) against one reader, for two threads
/// and an exhaustive search. The slot holds A; the reader bumps, loads the slot and reads its
/// object, reader_ops times. The writer (ts_policy::none, free sets of 1, explicit bumps) runs
/// one of two programs, chosen by stamp_batch:
///   2 (a batch): unlink A and free it (a full set, unstamped), free a private q (the batch is
///     complete: one heavy fence and one snapshot stamp both), bump, free two private objects
///     (the next batch: a probe collects A's and q's sets if the reader moved on), then
///     allocate twice -- q, then A, if they were collected.
///   1 (a stamp after a probe): free a private q (stamped S0), bump, unlink A and free it (a
///     probe collects S0 if the reader moved on; then S1 stamps A), bump, free a private r (a
///     probe collects S1 if the reader moved on again), then allocate: A if it was collected.
/// The allocations write the object, which Relacy checks against the reader's read of A.
template <class Policy, std::size_t N>
class batch_race : public slot_race<Policy, N> {
  using base = slot_race<Policy, N>;
  using base::w_;
  using base::slot_;
  using base::writer;
  using base::max_value;

 public:
  using object = slot_object<Policy>;
  explicit batch_race(const scenario_config& c) : base(c) {
    Policy::check(c.bump_on == ts_policy::none, "batch_race: the writer bumps explicitly");
    Policy::check(c.free_set_size == 1, "batch_race: free sets of 1");
    Policy::check(c.stamp_batch == 1 || c.stamp_batch == 2, "batch_race: stamp_batch 1 or 2");
  }

  void thread(std::size_t t) {
    if (t != static_cast<std::size_t>(w_.cfg().reader)) {
      if (w_.cfg().stamp_batch == 2) {
        write_batch(t);
      } else {
        write_stamp_after_probe(t);
      }
      return;
    }
    for (unsigned i = 0; i < w_.cfg().reader_ops; ++i) {
      w_.rec(t).bump();
      object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
      p->read_checked();
    }
  }

 private:
  void write_batch(std::size_t t) {
    w_.free_object(t, unlink_slot_object(w_, slot_, t));  // A's set: full, waits for the batch
    free_private_object(w_, t, 2);  // q's set completes the batch: one stamp for both
    w_.rec(t).bump();
    free_private_object(w_, t, 3);
    free_private_object(w_, t, 4);  // the next batch: the probe may collect A's and q's sets
    w_.make(t)->init(max_value);    // q, if collected
    w_.make(t)->init(max_value);    // A, if collected
  }

  void write_stamp_after_probe(std::size_t t) {
    free_private_object(w_, t, 2);  // S0 (nothing stamped waits: no probe)
    w_.rec(t).bump();
    // probe: S0 collected if the reader moved on; S1 stamps A
    w_.free_object(t, unlink_slot_object(w_, slot_, t));
    w_.rec(t).bump();
    free_private_object(w_, t, 3);  // probe: S1 collected if the reader moved on again
    w_.make(t)->init(max_value);    // A, if collected
  }

};

/// A Treiber stack node.
template <class Policy>
struct stack_node {
  typename Policy::template var<std::uint64_t> key;
  typename Policy::template var<stack_node*> next;
  void init(std::uint64_t k) {
    key.store(k);
    next.store(nullptr);
  }
};

/// A Treiber stack whose pops free the popped node. Thread t: pop, pop, push key 10(t+1)
/// (ops = 3; fewer ops stop earlier); a `reader` thread only pops, reader_ops times. Keys are unique; at the end every pushed key was popped
/// exactly once or is still on the stack: a node reused under a concurrent pop (ABA) breaks it.
template <class Policy, std::size_t N>
class treiber_stack {
 public:
  using node = stack_node<Policy>;
  explicit treiber_stack(const scenario_config& c) : w_(c) {}

  void before() {
    for (std::size_t t = 0; t < N; ++t) w_.join(t);
    node* below = nullptr;
    for (std::uint64_t k = 1; k <= initial; ++k) {
      node* n = w_.make(0);
      n->init(k);
      n->next.store(below);
      below = n;
    }
    top_.store(below, std::memory_order::relaxed);  // relaxed: before() precedes the threads
  }

  void thread(std::size_t t) {
    if (static_cast<int>(t) == w_.cfg().reader) {
      for (unsigned i = 0; i < w_.cfg().reader_ops; ++i) pop(t);
      return;
    }
    const unsigned ops = w_.cfg().ops;
    if (ops > 0) pop(t);
    if (ops > 1) pop(t);
    if (ops > 2) push(t, key_of(t));
  }

  void after() {
    if (w_.cfg().check_progress) w_.check_progress();
    // Every key seen once: popped (recorded per thread) or still on the stack.
    std::array<int, 64> seen{};
    for (std::size_t t = 0; t < N; ++t) {
      for (std::size_t i = 0; i < popped_count_[t]; ++i) ++seen[popped_[t][i]];
    }
    for (node* n = top_.load(std::memory_order::relaxed); n != nullptr; n = n->next.load()) {
      ++seen[n->key.load()];
    }
    for (std::uint64_t k = 1; k <= initial; ++k) {
      Policy::check(seen[k] == 1, "safety: an initial key was lost or popped twice");
    }
    for (std::size_t t = 0; t < N; ++t) {
      if (pushed(t)) Policy::check(seen[key_of(t)] == 1, "safety: a pushed key was lost or popped twice");
    }
    w_.teardown();
  }

 private:
  void pop(std::size_t t) {
    for (;;) {
      // acquire: pairs with the release of the push that published the node.
      node* top = top_.load(std::memory_order::acquire);
      if (top == nullptr) return;
      node* next = top->next.load();  // may race with a reuse if reclamation is broken
      // acq_rel on success: we own top (and read its key below); acquire on failure: retry.
      if (top_.compare_exchange_strong(top, next, std::memory_order::acq_rel,
                                       std::memory_order::acquire)) {
        std::uint64_t k = top->key.load();
        Policy::check(k >= 1 && k < 64, "safety: popped a node with a foreign key");
        popped_[t][popped_count_[t]++] = static_cast<unsigned>(k);
        w_.free_object(t, top);
        w_.explicit_step(t);
        return;
      }
    }
  }
  void push(std::size_t t, std::uint64_t key) {
    node* n = w_.make(t);
    n->init(key);
    node* top = top_.load(std::memory_order::relaxed);  // relaxed: the CAS below decides
    for (;;) {
      n->next.store(top);
      // release: publishes n's fields; relaxed on failure: we only retry.
      if (top_.compare_exchange_strong(top, n, std::memory_order::release,
                                       std::memory_order::relaxed)) {
        break;
      }
    }
    w_.explicit_step(t);
  }

  static std::uint64_t key_of(std::size_t t) { return 10 * (t + 1); }
  bool pushed(std::size_t t) const {
    return static_cast<int>(t) != w_.cfg().reader && w_.cfg().ops > 2;
  }

  static constexpr std::uint64_t initial = 2;
  world<Policy, N, node> w_;
  typename Policy::template atomic<node*> top_{nullptr};
  std::array<std::array<unsigned, 8>, N> popped_{};
  std::array<std::size_t, N> popped_count_{};
};

/// The memory bound (memory_bound.hpp, the allocator's wait_for_collection), 2 threads; the
/// slot holds A. The writer's allocator has free sets of 1, a batch of 4 sets (so no batch is
/// due in the run) and the smallest limit (pending_budget 1: two sets' worth); each of its
/// allocations may wait at the bound for two rounds (no clock: a round is a millisecond).
///   Reader (`holder` false): bump, load the slot, read its object (reader_ops times).
///   Writer: unlinks A and frees it, frees a private object: two sets wait unstamped, the
///     limit is reached. The next allocation waits: nothing is stamped, so it stamps both
///     sets (heavy fence and snapshot), then, twice at most, bumps itself (bump_on both) and
///     probes; if the reader moved on, both sets are collected and the allocation and the next
///     one reuse them (A is written); else it gives up and carves.
///   `holder` true (bump_on none, stamp_batch 1): the reader frees two private objects (its
///     own entry holds them back: the limit), loads and reads A, allocates -- it may not move
///     itself inside the allocation, so its wait gives up at once -- and reads A again; the
///     writer unlinks A and frees it, bumps and frees private objects (probes that collect A's
///     set if the holder moved), then allocates A if it was collected. A bump inside the
///     holder's allocation would let A be reused while the holder still reads it.
///     `holder_moves`: the holder moves on before it loads A, so that only the reclaimer holds
///     its sets back: its wait does not give up at once but pauses and probes again, and must
///     not move it meanwhile. `read_after_wait` (bump_on both): the holder allocates at its
///     limit first (its wait moves it on, probes, pauses) and loads and reads A after it.
template <class Policy, std::size_t N>
class bound_race : public slot_race<Policy, N> {
  using base = slot_race<Policy, N>;
  using base::w_;
  using base::slot_;
  using base::writer;
  using base::max_value;

 public:
  using object = slot_object<Policy>;
  explicit bound_race(const scenario_config& c) : base(c) {
    Policy::check(c.free_set_size == 1, "bound_race: free sets of 1");
  }

  void thread(std::size_t t) {
    const scenario_config& c = w_.cfg();
    if (t == writer()) {
      if (c.holder) {
        reclaim(t);
      } else {
        write_at_bound(t);
      }
      return;
    }
    if (c.holder) {
      hold_across_allocation(t);
      return;
    }
    for (unsigned i = 0; i < c.reader_ops; ++i) {
      w_.rec(t).bump();
      object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
      p->read_checked();
    }
  }

 private:
  void write_at_bound(std::size_t t) {
    if (w_.cfg().unlink_last) {
      // bump_on on_alloc: no fence of the writer's lies between the unlink and the wait's
      // stamp, whose own heavy fence alone orders them against the reader's loads.
      free_private_object(w_, t, 2);
      w_.free_object(t, unlink_slot_object(w_, slot_, t));
    } else {
      w_.free_object(t, unlink_slot_object(w_, slot_, t));  // A's set: full, unstamped
      free_private_object(w_, t, 2);                         // a second set: the limit
    }
    w_.make(t)->init(max_value);  // waits: stamps both sets, probes; reuses one if collected
    w_.make(t)->init(max_value);  // the other one (A), if collected
  }

  // The holder (bump_on none): reaches its limit (its own entry holds its sets back: it never
  // moves), loads and reads A, allocates (at the limit: it waits as it may, and it may not
  // move on inside the allocation), and reads A again. With holder_moves it moves on before
  // loading A, so that only the reclaimer holds its sets back: its wait pauses and probes
  // again without moving it (it holds A). With read_after_wait (bump_on both) it allocates at
  // its limit first -- the wait moves it on -- and loads and reads A after the allocation.
  void hold_across_allocation(std::size_t t) {
    free_private_object(w_, t, 5);  // stamped
    free_private_object(w_, t, 6);  // the probe finds the first held back: the limit
    if (w_.cfg().read_after_wait) {
      w_.make(t)->init(7);  // waits, moving itself on
      object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
      p->read_checked();
      return;
    }
    if (w_.cfg().holder_moves) w_.rec(t).bump();
    object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
    p->read_checked();
    w_.make(t)->init(7);  // gives up waiting at once: only its own move would help
    p->read_checked();    // still A: the holder has not moved on since it loaded it
  }

  // The reclaimer (bump_on none, explicit bumps): unlinks A and frees it (stamp S0), moves on,
  // frees twice (each a probe: S0 collected only if the holder moved on), then allocates
  // twice (A, if S0 was collected).
  void reclaim(std::size_t t) {
    w_.free_object(t, unlink_slot_object(w_, slot_, t));
    w_.rec(t).bump();
    free_private_object(w_, t, 2);
    w_.rec(t).bump();
    free_private_object(w_, t, 3);
    w_.make(t)->init(max_value);
    w_.make(t)->init(max_value);
  }

};

/// Critical sections (thread_record::enter_section / exit_section), 2 threads; the slot holds
/// A. The reader goes offline once, then reads only inside sections: `sections` times, enter,
/// (`nested`: enter and exit an inner section), load the slot, read its object, exit. Between
/// and after its sections it is offline: it must block no collection then, and the reads
/// inside must hold A back. The writer runs membership_race's write (unlink A, stamp S0, bump,
/// a probe that collects S0 if the reader was offline or has moved, stamp S1, allocate A if
/// collected).
template <class Policy, std::size_t N>
class section_race : public slot_race<Policy, N> {
  using base = slot_race<Policy, N>;
  using base::w_;
  using base::slot_;
  using base::writer;
  using base::max_value;

 public:
  using object = slot_object<Policy>;
  explicit section_race(const scenario_config& c) : base(c) {
    Policy::check(c.bump_on == ts_policy::none, "section_race: the writer bumps explicitly");
  }

  void thread(std::size_t t) {
    const scenario_config& c = w_.cfg();
    if (t == writer()) {
      unlink_free_and_reuse(w_, slot_, t);
      return;
    }
    w_.rec(t).go_offline();  // outside its sections, from now on
    for (unsigned i = 0; i < c.sections; ++i) {
      w_.rec(t).enter_section();
      if (c.nested) {
        w_.rec(t).enter_section();
        w_.rec(t).exit_section();
      }
      object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
      p->read_checked();
      w_.rec(t).exit_section();
    }
    Policy::check(!w_.rec(t).is_online(), "section_race: the reader is online after its sections");
  }
};

/// Shared stamps (basic_domain::request_stamp, shared_snapshot, borrow_stamp; the allocator's
/// stamp_for_wait), 3 threads; the slot holds A; options::stamp_share 1 (a wait stamps at once
/// only when all three slots' requests wait).
///   Setup (before()): the writer's allocator takes its first stamp at the floor (two private
///     objects; the other two threads offline, so the wait collects at once), frees a third
///     object (its set waits unstamped) and keeps one collected object; the others go online.
///   Writer (0): unlinks A and frees it (two sets unstamped: the limit), then allocates twice.
///     The first allocation's wait needs a stamp: a ticket (one request: below the gather), one
///     pause, then the fencer's published clock if the fencer's ticket came after the writer's
///     (no heavy fence of the writer's), else a stamp of its own; then it bumps and probes. A
///     collection hands A out again (written), which Relacy checks against the reader.
///   Reader (1): bump, load the slot, read its object (reader_ops times).
///   Fencer (2, and 3 with four threads): one stamp of its own, as any allocator's stamp (a
///     ticket, the heavy fence, the versions, the publication), then goes offline (it holds
///     nothing). Two fencers race their publications (the sequence lock) around the copy.
template <class Policy, std::size_t N>
class share_race {
  static_assert(N == 3 || N == 4, "share_race: a writer, a reader and one or two fencers");

 public:
  using object = slot_object<Policy>;
  static constexpr std::size_t writer = 0, reader = 1, fencer = 2;

  explicit share_race(const scenario_config& c) : w_(c) {
    Policy::check(c.free_set_size == 1 && c.pending_budget == 1 && c.stamp_share == 1,
                  "share_race: free sets of 1, the floor as the limit, stamp_share 1");
  }

  void before() {
    for (std::size_t t = 0; t < N; ++t) w_.join(t);
    object* a = w_.make(writer);
    a->init(0);
    slot_.store(a, std::memory_order::relaxed);  // relaxed: before() precedes the threads
    for (std::size_t t = fencer - 1; t < N; ++t) w_.rec(t).go_offline();
    free_private_object(w_, writer, 2);
    free_private_object(w_, writer, 3);  // the floor: the next allocation takes the first stamp
    object* p = w_.make(writer);         // ... and collects both sets (the others are offline)
    p->init(4);
    w_.free_object(writer, p);           // one set waits unstamped; one collected object is left
    Policy::check(w_.alloc(writer).stats().stamps == 1 && w_.alloc(writer).stats().pending == 1,
                  "share_race: the writer's setup");
    for (std::size_t t = fencer - 1; t < N; ++t) w_.rec(t).go_online();
  }

  void thread(std::size_t t) {
    if (t == writer) {
      w_.free_object(t, unlink_slot_object(w_, slot_, t));  // two sets unstamped: the limit
      w_.make(t)->init(max_value);  // waits: a request, a pause, a borrowed stamp or its own
      w_.make(t)->init(max_value);  // the other set's object, if collected
    } else if (t == reader) {
      for (unsigned i = 0; i < w_.cfg().reader_ops; ++i) {
        w_.rec(t).bump();
        object* p = slot_.load(std::memory_order::acquire);  // acquire: pairs with the exchange
        p->read_checked();
      }
    } else {
      vector_clock<Policy> c;
      Policy::check(w_.domain().shared_snapshot(c), "share_race: the fencer's stamp");
      w_.rec(t).go_offline();
    }
  }

  void after() { finish_slot_scenario(w_, slot_); }

 private:
  static constexpr std::uint64_t max_value = object::max_value;
  world<Policy, N, object> w_;
  typename Policy::template atomic<object*> slot_{nullptr};
};

}  // namespace ssmem::verification

#endif
