// The C API (ssmem.h) on the native policy, and the process-wide state that the C++ API
// shares with it (the default domain, the innermost thread_scope). Per-thread state lives
// here, in thread_local variables, never in the algorithm.
//
// No C++ runtime: a C program links libssmem.a with `cc prog.c -lssmem -lpthread`, without
// libstdc++, so this file uses nothing of it -- no operator new, no iostreams, no
// std::mutex, no function-local statics with dynamic initialisation (__cxa_guard_*), no
// thread_local with a destructor (__cxa_thread_atexit): static state is constant-initialised,
// locks are pthread mutexes, thread exit is a pthread key destructor, output is printf.
// //tools:c_link_test checks the archive's undefined symbols. The parts of the C++ API that
// need the C++ runtime (exceptions, iostreams, this_thread()'s thread_local scope) are inline in
// ssmem.hpp, compiled into the C++ program that uses them.
#include "ssmem/ssmem.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>

#include <pthread.h>

#include "ssmem/ssmem.hpp"

namespace ssmem {

namespace {
// The default domain: constant-initialised (no guard, no allocation) and never destroyed,
// since threads may deregister after main() returns.
union default_domain_storage {
  domain d;
  constexpr default_domain_storage() : d() {}
  ~default_domain_storage() {}
};
constinit default_domain_storage the_default_domain;

thread_local thread_scope* innermost_scope = nullptr;
}  // namespace

domain& default_domain() { return the_default_domain.d; }

thread_scope* innermost_scope_of_this_thread() noexcept { return innermost_scope; }

namespace detail {
thread_scope*& innermost_scope_slot() noexcept { return innermost_scope; }

// Appends to the line of format_stats at `w` (snprintf's contract: `w` becomes the length the
// whole line needs, or the negative error). False when the line ends here: an error, or `buf`
// is full.
[[gnu::format(printf, 4, 5)]] bool append(char* buf, std::size_t n, int& w, const char* fmt, ...) noexcept {
  std::va_list ap;
  va_start(ap, fmt);
  const int more = std::vsnprintf(buf + w, n - static_cast<std::size_t>(w), fmt, ap);
  va_end(ap);
  if (more < 0) {
    w = more;
    return false;
  }
  w += more;
  return static_cast<std::size_t>(w) < n;
}

int format_stats(char* buf, std::size_t n, const allocator_stats& s) noexcept {
  int w = std::snprintf(
      buf, n,
      "ssmem allocator: object %zu B, reserved %zu B in %zu chunk(s); allocated %" PRIu64
      " (reused %" PRIu64 "), freed %" PRIu64 ", collected %" PRIu64 "; pending %zu object(s) in %zu"
      " stamped set(s) + filling, reusable %zu; released %" PRIu64 ", returned %" PRIu64
      ", release pending %zu; stamps %" PRIu64,
      s.object_size, s.bytes_reserved, s.chunks, s.allocated, s.reused, s.freed, s.collected,
      s.pending, s.pending_sets, s.reusable, s.released, s.returned, s.release_pending, s.stamps);
  if (w < 0 || static_cast<std::size_t>(w) >= n) return w;
  if (s.pending_limit != static_cast<std::size_t>(-1) &&
      !append(buf, n, w, "; bound %zu object(s): %" PRIu64 " wait(s), %" PRIu64 " overrun(s)",
              s.pending_limit, s.bound_waits, s.bound_overruns)) {
    return w;
  }
  if (s.shared_stamps != 0 &&
      !append(buf, n, w, "; %" PRIu64 " stamp(s) borrowed from other threads", s.shared_stamps)) {
    return w;
  }
  if (s.dropped != 0 &&
      !append(buf, n, w, "; %" PRIu64 " object(s) kept out of reuse (no memory for bookkeeping)", s.dropped)) {
    return w;
  }
  if (s.pending_sets == 0 ||
      !append(buf, n, w, "; oldest pending set %" PRIu64 " stamp(s) old", s.oldest_pending_age)) {
    return w;
  }
  if (s.blocking_slot >= 0) {
    append(buf, n, w, ", held back by thread slot %lld (id %lld)", s.blocking_slot, s.blocking_label);
  }
  return w;
}

int format_stats(char* buf, std::size_t n, const domain_stats& s) noexcept {
  return std::snprintf(buf, n, "ssmem domain: %zu record(s): %zu online, %zu offline, %zu free",
                       s.slots, s.online, s.offline, s.free);
}
}  // namespace detail

}  // namespace ssmem

namespace {

using impl_t = ssmem::basic_allocator<ssmem::native_policy>;
using ssmem::detail::fatal;
constexpr bool checked = ssmem::detail::checked;

constexpr std::uint64_t live_magic = 0x4b4f5f4d454d5353ull;  // "SSMEM_OK"

// One registration of a thread with the C API (heap, recycled, never freed). `generation`
// grows each time a registration ends (ssmem_term, the last ssmem_alloc_term, thread exit,
// and in a fork child every registration of a thread that did not survive the fork): the
// checked build's allocators are live only while the generation they were initialised in is
// current (live_allocators below).
struct c_registration {
  std::uint64_t generation;     // written by the owner (or the fork child) under the mutex
  c_registration* next_free;
  c_registration* next_all;     // every registration ever made: the fork child walks them
  bool in_use;
  int label;                    // the C id (messages)
  int tid;                      // the owner's kernel thread id (messages)
};

// What a ssmem_allocator_t holds: the allocator itself (first: ssmem_alloc's pointer is its
// `this`, no offset to add), a magic word (ssmem_alloc_term's check in every build) and the
// thread's list link. The checked build reads neither to decide whether an allocator is live
// (live_allocators below): stale bytes -- an allocator's storage after its thread exited, a
// dead thread's stack reused after fork(), a copy -- cannot fool it.
struct c_allocator {
  impl_t impl;
  std::uint64_t magic;
  ssmem_allocator_t* next;
};
static_assert(sizeof(c_allocator) <= sizeof(ssmem_allocator_t),
              "SSMEM_ALLOCATOR_STORAGE is too small for the allocator");
static_assert(alignof(c_allocator) <= alignof(ssmem_allocator_t));

c_allocator* as_c(ssmem_allocator_t* a) { return reinterpret_cast<c_allocator*>(a); }

// A record that a C++ scope registered on its own (thread_scope in a domain other than the
// default one, or with ssmem::separate_record): released by the thread-exit hook if the scope
// is never destroyed.
struct held_record {
  ssmem::domain* domain;
  ssmem::record* rec;
};

// The calling thread's record in the default domain, its registration for the C API, its
// live allocators, and what its C++ scopes hold. Trivial (no destructor): thread exit is
// handled by the pthread key below and by the C++ scopes' destructors. One thread has one
// record in the default domain: the C API's registration and every C++ scope that takes it
// (detail::take_default_record) share it; it is unregistered when the last use ends.
struct c_thread {
  ssmem::record* rec;            // non-null while c_registered or scope_uses > 0
  unsigned scope_uses;           // C++ scopes holding rec (detail::take_default_record)...
  unsigned exit_scope_uses;      // ...of which this_thread()'s (ended by its own destructor)
  bool c_registered;             // the C API holds rec (ssmem_alloc_init / ssmem_gc_thread_init)
  bool exit_hook_armed;          // the pthread key's value is set: on_thread_exit will run
  ssmem_allocator_t* allocators;
  c_registration* reg;
  held_record* held;             // records registered by C++ scopes (malloc'd)
  unsigned held_count, held_capacity;
};
thread_local c_thread me;

// Guards the labels (thread ids), the registrations and, in the checked build, the table of
// live allocators. Handled across fork() (fork_prepare/fork_parent/fork_child).
pthread_mutex_t registration_mutex = PTHREAD_MUTEX_INITIALIZER;
c_registration* free_registrations = nullptr;
c_registration* all_registrations = nullptr;

void lock_registrations(const char* api) {
  if constexpr (checked) {
    ssmem::detail::checked_lock(registration_mutex, ssmem::detail::registration_lock_bit, api);
  } else {
    pthread_mutex_lock(&registration_mutex);
  }
}
void unlock_registrations() {
  if constexpr (checked) {
    ssmem::detail::checked_unlock(registration_mutex, ssmem::detail::registration_lock_bit);
  } else {
    pthread_mutex_unlock(&registration_mutex);
  }
}

// ---- The checked build's table of live allocators ----
// Every allocator between ssmem_alloc_init and ssmem_alloc_term, by address, with the
// registration (and its generation) it was initialised in and its thread's number. An
// allocator is live while its entry's generation is current; whatever its storage holds is
// never consulted. Entries of registrations that ended without ssmem_alloc_term (thread exit,
// fork) read as stale and are dropped when the table grows or the address is initialised
// again. Open addressing, linear probing, backward-shift deletion; under registration_mutex.
struct live_allocator {
  const void* addr;  // nullptr: empty slot
  c_registration* reg;
  std::uint64_t generation;
  std::uint64_t serial;
};

bool is_current(const live_allocator& e) {
  return __atomic_load_n(&e.reg->generation, __ATOMIC_RELAXED) == e.generation;
}

class live_table {
 public:
  // The entry of `a`, or nullptr.
  live_allocator* find(const void* a) {
    if (cap_ == 0) return nullptr;
    for (std::size_t i = slot(a);; i = (i + 1) & (cap_ - 1)) {
      if (t_[i].addr == nullptr) return nullptr;
      if (t_[i].addr == a) return &t_[i];
    }
  }
  void put(const live_allocator& e) {
    if (live_allocator* old = find(e.addr); old != nullptr) {
      *old = e;
      return;
    }
    if (2 * (used_ + 1) > cap_) grow();
    std::size_t i = slot(e.addr);
    while (t_[i].addr != nullptr) i = (i + 1) & (cap_ - 1);
    t_[i] = e;
    ++used_;
  }
  void erase(const void* a) {
    live_allocator* e = find(a);
    if (e == nullptr) return;
    std::size_t hole = static_cast<std::size_t>(e - t_);
    // Backward shift: move up every later entry of the run that may sit in the hole.
    for (std::size_t j = (hole + 1) & (cap_ - 1); t_[j].addr != nullptr; j = (j + 1) & (cap_ - 1)) {
      std::size_t home = slot(t_[j].addr);
      bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        t_[hole] = t_[j];
        hole = j;
      }
    }
    t_[hole] = live_allocator{};
    --used_;
  }

 private:
  std::size_t slot(const void* a) const {
    std::uint64_t h = (reinterpret_cast<std::uintptr_t>(a) >> 6) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h ^ (h >> 32)) & (cap_ - 1);
  }
  // Twice as many slots as current entries (stale ones are dropped), at least 64.
  void grow() {
    live_allocator* old = t_;
    std::size_t old_cap = cap_, current = 0;
    for (std::size_t j = 0; j < old_cap; ++j) current += old[j].addr != nullptr && is_current(old[j]);
    std::size_t cap = 64;
    while (cap < 4 * (current + 1)) cap *= 2;
    t_ = static_cast<live_allocator*>(std::calloc(cap, sizeof(live_allocator)));
    if (t_ == nullptr) fatal("ssmem_alloc_init", "checked build: out of memory for the allocator table");
    cap_ = cap;
    used_ = 0;
    for (std::size_t j = 0; j < old_cap; ++j) {
      if (old[j].addr == nullptr || !is_current(old[j])) continue;
      std::size_t i = slot(old[j].addr);
      while (t_[i].addr != nullptr) i = (i + 1) & (cap_ - 1);
      t_[i] = old[j];
      ++used_;
    }
    std::free(old);
  }

  live_allocator* t_ = nullptr;
  std::size_t cap_ = 0;  // a power of two, or 0
  std::size_t used_ = 0;
};
[[maybe_unused]] constinit live_table live_allocators;

// "thread id 3 (tid 4242)" or "thread tid 4242 (no id)".
void describe_thread(char* buf, std::size_t n, long long label, int tid) {
  if (label >= 0) {
    std::snprintf(buf, n, "thread id %lld (tid %d)", label, tid);
  } else {
    std::snprintf(buf, n, "thread tid %d (no id)", tid);
  }
}

// The calling thread's C id (the label of its default-domain record), or -1.
long long my_label() { return me.rec != nullptr ? static_cast<long long>(me.rec->label()) : -1; }

// The key whose destructor runs when a thread exits holding a registration: the C API's
// without ssmem_term(), or C++ scopes that were never destroyed.
pthread_key_t exit_key;
pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

void on_thread_exit(void*);

void make_exit_key() {
  if (pthread_key_create(&exit_key, on_thread_exit) != 0) {
    fatal("ssmem", "no pthread key left for the thread-exit hook");
  }
}

// Makes on_thread_exit run when the calling thread exits (once armed, until it has run).
void arm_exit_hook() {
  if (me.exit_hook_armed) return;
  pthread_once(&exit_key_once, make_exit_key);
  me.exit_hook_armed = pthread_setspecific(exit_key, &me) == 0;
}

void end_registration_locked() {
  // relaxed: only this thread (or a fork child for a vanished thread) writes it, under the
  // mutex; readers compare it (the checked build's liveness).
  __atomic_store_n(&me.reg->generation, me.reg->generation + 1, __ATOMIC_RELAXED);
  me.reg->in_use = false;
  me.reg->next_free = free_registrations;
  free_registrations = me.reg;
  me.reg = nullptr;
  me.allocators = nullptr;
}

// The C API's use of the thread's record ends: the label goes; the record is unregistered
// unless a C++ scope still holds it (then it stays as that scope left it).
void drop_c_use_locked() {
  me.rec->set_label(-1);
  me.c_registered = false;
  if (me.scope_uses == 0) {
    ssmem::default_domain().unregister_thread(me.rec);
    me.rec = nullptr;
  }
}

// The checked build names what a thread's C++ scopes left behind (it is not an abort: the
// thread is gone, and the registrations are released).
[[maybe_unused]] void report_leaked_scopes(unsigned default_uses, unsigned held) {
  char who[64];
  describe_thread(who, sizeof who, my_label(), ssmem::detail::checked_tid());
  std::fprintf(stderr,
               "ssmem: %s exited holding registrations of thread_scope objects never destroyed: "
               "%u use(s) of its default-domain record, %u record(s) registered on their own",
               who, default_uses, held);
  for (unsigned i = 0; i < held && i < 4; ++i) {
    std::fprintf(stderr, "%sslot %zu of domain %p", i == 0 ? " (" : ", ", me.held[i].rec->index(),
                 static_cast<const void*>(me.held[i].domain));
  }
  std::fprintf(stderr, "%s; released (offline and free)\n", held > 4 ? ", ...)" : held > 0 ? ")" : "");
  std::fflush(stderr);
}

// The thread-exit hook: what the thread still holds is released, so that it never blocks
// collection again. glibc runs thread_local destructors (this_thread()'s scope, the program's
// own thread_local scopes) before pthread key destructors, so what is left here was leaked:
//  - records that C++ scopes registered on their own (other domains, separate_record): offline
//    and free;
//  - uses of the default-domain record by C++ scopes never destroyed (this_thread()'s use is
//    left to its own destructor, should it run later), and the C API's registration of a
//    thread that exits without ssmem_term(): the record goes offline and free when no use is
//    left, and the thread's id is free for later threads.
// Allocators are left alone (their storage may sit on the stack being unwound, their objects
// may still be in use): the C API's registration ends, so they are no longer live.
void on_thread_exit(void*) {
  lock_registrations("thread exit");
  me.exit_hook_armed = false;
  const unsigned leaked_default = me.scope_uses - me.exit_scope_uses;
  if constexpr (checked) {
    if (leaked_default != 0 || me.held_count != 0) report_leaked_scopes(leaked_default, me.held_count);
  }
  for (unsigned i = me.held_count; i-- > 0;) me.held[i].domain->unregister_thread(me.held[i].rec);
  std::free(me.held);
  me.held = nullptr;
  me.held_count = me.held_capacity = 0;
  if (leaked_default != 0) {
    me.scope_uses -= leaked_default;
    if (me.scope_uses == 0 && !me.c_registered) {
      ssmem::default_domain().unregister_thread(me.rec);
      me.rec = nullptr;
    }
  }
  if (me.c_registered) drop_c_use_locked();
  if (me.reg != nullptr) end_registration_locked();
  unlock_registrations();
}

// Under the registration mutex.
void register_me_locked(int id, const char* api) {
  ssmem::domain& d = ssmem::default_domain();
  for (ssmem::record* r = d.first(); r != nullptr; r = r->next()) {
    if (r != me.rec && r->label() == id) {
      static char msg[96];
      std::snprintf(msg, sizeof msg, "thread id %d is already used by another live thread", id);
      fatal(api, msg);
    }
  }
  if (me.reg == nullptr) {
    c_registration* g = free_registrations;
    if (g != nullptr) {
      free_registrations = g->next_free;
    } else {
      g = static_cast<c_registration*>(std::calloc(1, sizeof(c_registration)));
      if (g == nullptr) fatal(api, "out of memory for a thread registration");
      g->next_all = all_registrations;
      all_registrations = g;
    }
    g->in_use = true;
    if constexpr (checked) g->tid = ssmem::detail::checked_tid();
    me.reg = g;
  }
  me.reg->label = id;
  arm_exit_hook();
  if (me.rec == nullptr) {
    me.rec = d.register_thread();
    if (me.rec == nullptr) fatal(api, "out of memory for a thread record");
  }
  // A record that a C++ scope holds is shared as it is (online or offline).
  me.c_registered = true;
  me.rec->set_label(id);
}

void register_me(int id, const char* api) {
  if (id < 0) fatal(api, "invalid thread id: must be >= 0");
  lock_registrations(api);
  register_me_locked(id, api);
  unlock_registrations();
}

void unregister_me() {
  lock_registrations("ssmem_term");
  drop_c_use_locked();
  if (me.reg != nullptr) end_registration_locked();
  unlock_registrations();
}

// fork(): every lock of the library is taken before fork() and released after it, in the
// parent and in the child (where only the forking thread exists: the thread that took the
// locks, so it may release them; re-initialising a locked mutex instead is undefined, and
// ThreadSanitizer reports the child's next lock as a double lock): the registration mutex,
// then the checked registry's. In the child, every other thread is gone: its records of the
// default domain are abandoned (offline and free), or they would block collection forever,
// and its C registration ends (its id is free, and its allocators -- say on a stack that the
// child's next thread is given -- are no longer live: initialising one there is not
// "initialised twice").
void fork_prepare() {
  lock_registrations("fork");
  if constexpr (checked) ssmem::detail::checked_registry::instance().lock_for_fork();
}

void fork_parent() {
  if constexpr (checked) ssmem::detail::checked_registry::instance().unlock_after_fork();
  unlock_registrations();
}

void fork_child() {
  if constexpr (checked) ssmem::detail::checked_registry::instance().unlock_in_child();
  ssmem::detail::checked_thread.tid = 0;  // the child's thread has a kernel id of its own
  if (checked && me.reg != nullptr) me.reg->tid = ssmem::detail::checked_tid();
  for (c_registration* g = all_registrations; g != nullptr; g = g->next_all) {
    if (!g->in_use || g == me.reg) continue;
    __atomic_store_n(&g->generation, g->generation + 1, __ATOMIC_RELAXED);  // relaxed: as above
    g->in_use = false;
    g->next_free = free_registrations;
    free_registrations = g;
  }
  unlock_registrations();
  ssmem::domain& d = ssmem::default_domain();
  for (ssmem::record* r = d.first(); r != nullptr; r = r->next()) {
    bool mine = r == me.rec;
    for (unsigned i = 0; i < me.held_count && !mine; ++i) mine = me.held[i].rec == r;
    if (!mine) {
      r->set_label(-1);
      d.abandon_dead_owner(r);
    }
  }
  d.reset_shared_stamp_after_fork();  // a vanished thread may have been publishing one
}

// Installed during static initialisation (before main, so before any thread can take a lock).
[[maybe_unused]] const bool fork_handlers_installed =
    pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;

// An allocator that ssmem_alloc_term (or ssmem_term) ended is left in a state in which
// ssmem_alloc returns NULL without a check on its fast path: its object size is so large that
// no chunk can hold one object (carving fails before any memory is mapped), and its collected
// sets are empty. Whatever is freed, released or retired into it afterwards (a misuse: the
// checked build aborts) is kept and never reused, given back or passed to its deleter: the
// graveyard domain's one record is online and never moves, so no set is ever collected, and
// the allocator never bumps nor yields. The graveyard is registered on first use, under the
// registration mutex, and never destroyed.
union graveyard_storage {
  ssmem::domain d;
  constexpr graveyard_storage() : d() {}
  ~graveyard_storage() {}
};
constinit graveyard_storage graveyard;
ssmem::record* graveyard_record = nullptr;

constexpr std::size_t terminated_object_size = std::size_t(-1) - 63;

void make_terminated(c_allocator* c) {
  lock_registrations("ssmem_alloc_term");
  if (graveyard_record == nullptr) {
    graveyard_record = graveyard.d.register_thread();
    if (graveyard_record == nullptr) fatal("ssmem_alloc_term", "out of memory for a thread record");
  }
  unlock_registrations();
  ssmem::options o;
  o.bump_on = ssmem::ts_policy::none;
  o.stamp_backlog = std::size_t(-1);  // never yield
  ::new (&c->impl) impl_t(graveyard.d, *graveyard_record, terminated_object_size, o);
}

[[noreturn, maybe_unused]] void owner_misuse(const char* api, const void* a, long long owner_label, int owner_tid) {
  char owner[64], caller[64];
  static char msg[256];
  describe_thread(owner, sizeof owner, owner_label, owner_tid);
  describe_thread(caller, sizeof caller, my_label(), ssmem::detail::checked_tid());
  std::snprintf(msg, sizeof msg,
                "allocator of %s used by %s: an allocator belongs to the thread that initialised it",
                owner, caller);
  fatal(api, msg, a);
}

// The checked build: `a` is live (initialised, not terminated, its registration current) and
// belongs to the calling thread; else an abort that says which. The plain build: nothing.
c_allocator* checked_allocator(ssmem_allocator_t* a, const char* api) {
  if constexpr (checked) {
    if (a == nullptr) fatal(api, "null allocator");
    lock_registrations(api);
    const live_allocator* e = live_allocators.find(a);
    const bool found = e != nullptr, current = found && is_current(*e);
    const bool mine = current && e->serial == ssmem::detail::checked_serial();
    const long long owner_label = current ? e->reg->label : -1;
    const int owner_tid = current ? e->reg->tid : 0;
    unlock_registrations();
    if (!found) {
      fatal(api, "allocator not initialised: used before ssmem_alloc_init or after ssmem_alloc_term "
                 "(or a copy of an allocator)", a);
    }
    if (!current) {
      fatal(api, "allocator used after its thread exited (or vanished in fork()): allocators are "
                 "owner-only", a);
    }
    if (!mine) owner_misuse(api, a, owner_label, owner_tid);
  }
  return as_c(a);
}

// The original prints this line when an allocator of thread id 0 is initialised;
// SSMEM_QUIET=1 in the environment silences it.
void print_init_line(int id, std::size_t free_set_size) {
  if (id != 0) return;
  const char* quiet = std::getenv("SSMEM_QUIET");
  if (quiet != nullptr && quiet[0] != '\0' && quiet[0] != '0') return;
  std::printf("[ALLOC] initializing allocator with fs size: %zu objects\n", free_set_size);
}

void print_clock(const ssmem::vector_clock<ssmem::native_policy>& c) {
  std::printf("[");
  if (!c.stamped()) std::printf(" no timestamp yet ");
  for (std::size_t i = 0; c.stamped() && i < c.size(); ++i) std::printf("%zu|", static_cast<std::size_t>(c[i]));
  std::printf("]");
}

template <class Set>
void print_sets(const char* title, const Set* s, std::size_t n) {
  std::printf("[ALLOC] %s (%zu sets): \n", title, n);
  for (int i = 0; s != nullptr; s = s->next(), ++i) {
    std::printf("(%-3d | %p | %zu objs::", i, static_cast<const void*>(s), s->count());
    print_clock(s->clock());
    std::printf(") -> \n");
  }
  std::printf("NULL\n");
}

}  // namespace

extern "C" {

void ssmem_gc_thread_init(ssmem_allocator_t*, int id) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_gc_thread_init", nullptr);
  register_me(id, "ssmem_gc_thread_init");
}

void ssmem_alloc_init_ts(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id,
                         int ts_incr_on) {
  if (a == nullptr) fatal("ssmem_alloc_init", "null allocator");
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_alloc_init", a);
  if (ts_incr_on < SSMEM_TS_INCR_ON_NONE || ts_incr_on > SSMEM_TS_INCR_ON_FREE) {
    fatal("ssmem_alloc_init", "invalid timestamp policy (expected SSMEM_TS_INCR_ON_*)");
  }
  if (id < 0) fatal("ssmem_alloc_init", "invalid thread id: must be >= 0");
  if (free_set_size > ssmem::max_set_size) {
    fatal("ssmem_alloc_init", "free_set_size too large (at most 2^20 objects)");
  }
  lock_registrations("ssmem_alloc_init");
  if constexpr (checked) {
    if (const live_allocator* e = live_allocators.find(a); e != nullptr && is_current(*e)) {
      fatal("ssmem_alloc_init", "allocator initialised twice (ssmem_alloc_term it first)", a);
    }
  }
  register_me_locked(id, "ssmem_alloc_init");
  unlock_registrations();
  print_init_line(id, free_set_size);
  ssmem::options o;
  o.chunk_size = size;
  o.free_set_size = free_set_size;
  o.release_set_size = SSMEM_GC_RLSE_SET_SIZE;
  o.stamp_batch = SSMEM_STAMP_BATCH;
  o.stamp_backlog = SSMEM_STAMP_BACKLOG;
  o.stamp_share = SSMEM_STAMP_SHARE;
  o.pending_budget = SSMEM_PENDING_BUDGET;
  o.bound_wait_ns = SSMEM_BOUND_WAIT_NS;
  o.chunk_doubling = SSMEM_MEM_SIZE_DOUBLE != 0;
  o.chunk_size_max = static_cast<std::size_t>(SSMEM_MEM_SIZE_MAX);
  o.zero_memory = SSMEM_ZERO_MEMORY != 0;
  o.huge_pages = SSMEM_TRANSPARENT_HUGE_PAGES != 0;
  o.bump_on = static_cast<ssmem::ts_policy>(ts_incr_on);
  auto* c = as_c(a);
  c->magic = live_magic;
  c->next = me.allocators;
  ::new (&c->impl) impl_t(ssmem::default_domain(), *me.rec, 0, o);
  me.allocators = a;
  if constexpr (checked) {
    lock_registrations("ssmem_alloc_init");
    live_allocators.put(live_allocator{a, me.reg, me.reg->generation, ssmem::detail::checked_serial()});
    unlock_registrations();
  }
}

void ssmem_alloc_init_fs_size(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id) {
  ssmem_alloc_init_ts(a, size, free_set_size, id, SSMEM_TS_INCR_ON);
}

void ssmem_alloc_init(ssmem_allocator_t* a, size_t size, int id) {
  ssmem_alloc_init_ts(a, size, SSMEM_GC_FREE_SET_SIZE, id, SSMEM_TS_INCR_ON);
}

}  // extern "C"

namespace {
// ssmem_alloc_term's work (ssmem_term calls it for each allocator, inside its own call).
void term_allocator(ssmem_allocator_t* a) {
  c_allocator* c = as_c(a);
  if constexpr (checked) {
    if (a == nullptr) fatal("ssmem_alloc_term", "null allocator");
    lock_registrations("ssmem_alloc_term");
    const live_allocator* e = live_allocators.find(a);
    const bool found = e != nullptr, current = found && is_current(*e);
    const bool mine = current && e->serial == ssmem::detail::checked_serial();
    const long long owner_label = current ? e->reg->label : -1;
    const int owner_tid = current ? e->reg->tid : 0;
    unlock_registrations();
    if (!found) fatal("ssmem_alloc_term", "allocator not initialised (or terminated twice)", a);
    if (!current) {
      fatal("ssmem_alloc_term", "allocator belongs to another thread, which exited (or vanished in fork())", a);
    }
    if (!mine) owner_misuse("ssmem_alloc_term", a, owner_label, owner_tid);
  }
  if (a == nullptr || c->magic != live_magic) {
    fatal("ssmem_alloc_term", "allocator not initialised (or terminated twice)", a);
  }
  ssmem_allocator_t** link = &me.allocators;
  while (*link != nullptr && *link != a) link = &as_c(*link)->next;
  if (*link == nullptr) {
    fatal("ssmem_alloc_term", "allocator belongs to another thread (live or exited)", a);
  }
  *link = c->next;
  c->impl.~impl_t();  // deleters of retired objects still waiting run here
  make_terminated(c);
  c->magic = 0;
  if constexpr (checked) {
    lock_registrations("ssmem_alloc_term");
    live_allocators.erase(a);
    unlock_registrations();
  }
  if (me.allocators == nullptr && me.c_registered) unregister_me();
}

// The checked build runs a deleter of ssmem_retire through this box, so that the deleter may
// call ssmem on other allocators (checked_deleter).
struct boxed_deleter {
  ssmem_deleter_t fn;
  void* context;
};
[[maybe_unused]] void run_boxed_deleter(void* obj, void* box) {
  boxed_deleter b = *static_cast<boxed_deleter*>(box);
  std::free(box);
  ssmem::detail::checked_deleter running;
  b.fn(obj, b.context);
}
}  // namespace

extern "C" {

void ssmem_alloc_term(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_alloc_term", a);
  term_allocator(a);
}

void ssmem_term() {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_term", nullptr);
  while (me.allocators != nullptr) term_allocator(me.allocators);
  if (me.c_registered) unregister_me();
}

void* ssmem_alloc(ssmem_allocator_t* a, size_t size) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_alloc", a);
  return checked_allocator(a, "ssmem_alloc")->impl.allocate(size);
}

void ssmem_free(ssmem_allocator_t* a, void* obj) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_free", a);
  checked_allocator(a, "ssmem_free")->impl.deallocate(obj);
}

// Flattened: release() (not forced inline) comes inline with it, so that no
// source_location is built for an out-of-line call, as for ssmem_alloc/ssmem_free.
[[gnu::flatten]] void ssmem_release(ssmem_allocator_t* a, void* obj) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_release", a);
  checked_allocator(a, "ssmem_release")->impl.release(obj);
}

void ssmem_drain_retired(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_drain_retired", a);
  checked_allocator(a, "ssmem_drain_retired")->impl.drain_retired();
}

// ssmem_deleter_t is ssmem::retire_fn: no cast, the C function is called through its own type.
static_assert(std::is_same_v<ssmem_deleter_t, ssmem::retire_fn>);
[[gnu::flatten]] void ssmem_retire(ssmem_allocator_t* a, void* obj, ssmem_deleter_t fn, void* context) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_retire", a);
  c_allocator* c = checked_allocator(a, "ssmem_retire");
  if constexpr (checked) {
    if (fn != nullptr && obj != nullptr) {
      auto* box = static_cast<boxed_deleter*>(std::malloc(sizeof(boxed_deleter)));
      // No memory for the box: the deleter is retired as it is, not boxed (out of memory
      // aborts nothing, docs/design.md §11); an ssmem call from inside that deleter is then
      // checked as any call made inside another.
      if (box != nullptr) {
        *box = boxed_deleter{fn, context};
        fn = run_boxed_deleter;
        context = box;
      }
    }
  }
  c->impl.retire(obj, fn, context);
}

void ssmem_ts_next() {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_ts_next", nullptr);
  if (me.rec != nullptr) {
    me.rec->bump();
  } else if constexpr (checked) {
    fatal("ssmem_ts_next", "thread not registered: call ssmem_alloc_init or ssmem_gc_thread_init first");
  }
}

void ssmem_thread_offline() {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_thread_offline", nullptr);
  if (me.rec == nullptr) fatal("ssmem_thread_offline", "thread not registered");
  if (me.rec->is_online()) me.rec->go_offline();
}

void ssmem_thread_online() {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_thread_online", nullptr);
  if (me.rec == nullptr) fatal("ssmem_thread_online", "thread not registered");
  if (!me.rec->is_online()) me.rec->go_online();
}

// An unregistered thread has no record to take online: refused in every build (a section that
// protects nothing must not pass silently), one compare on the way.
void ssmem_section_enter() {
  if (me.rec == nullptr) [[unlikely]] fatal("ssmem_section_enter", "thread not registered");
  me.rec->enter_section();
}

void ssmem_section_exit() {
  if (me.rec == nullptr) [[unlikely]] fatal("ssmem_section_exit", "thread not registered");
  if constexpr (ssmem::detail::checked) {
    if (me.rec->sections() == 0) fatal("ssmem_section_exit", "section exit without a matching ssmem_section_enter");
  }
  me.rec->exit_section();  // (the optimised build ignores an exit without an enter)
}

void ssmem_ts_list_print() {
  ssmem::domain& d = ssmem::default_domain();
  std::printf("[ALLOC] ts list (%zu elems): ", d.slot_count());
  for (ssmem::record* r = d.first(); r != nullptr; r = r->next()) {
    std::printf("(id: %-2lld / version: %llu%s) -> ", static_cast<long long>(r->label()),
                static_cast<unsigned long long>(r->load_version()),
                ssmem::version_is_offline(r->load_version()) ? " offline" : "");
  }
  std::printf("NULL\n");
}

size_t ssmem_ts_set_size() { return ssmem::default_domain().slot_count(); }

size_t* ssmem_ts_set_collect() {
  ssmem::vector_clock<ssmem::native_policy> c;
  if (!ssmem::default_domain().snapshot(c)) return nullptr;
  auto* out = static_cast<size_t*>(std::malloc((c.size() ? c.size() : 1) * sizeof(size_t)));
  if (out == nullptr) return nullptr;
  for (std::size_t i = 0; i < c.size(); ++i) out[i] = static_cast<size_t>(c[i]);
  return out;
}

void ssmem_ts_set_print(size_t* set) {
  std::printf("[ALLOC] set: [");
  for (std::size_t i = 0, n = ssmem_ts_set_size(); set != nullptr && i < n; ++i) std::printf("%zu | ", set[i]);
  std::printf("]\n");
}

void ssmem_free_list_print(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_free_list_print", a);
  impl_t& im = checked_allocator(a, "ssmem_free_list_print")->impl;
  if (im.filling_set() != nullptr) print_sets("filling free_set", im.filling_set(), 1);
  ssmem::allocator_stats s = im.stats();
  print_sets("free_set list, oldest first", im.pending_front(), s.pending_sets);
}

void ssmem_collected_list_print(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_collected_list_print", a);
  impl_t& im = checked_allocator(a, "ssmem_collected_list_print")->impl;
  print_sets("collected_set list", im.collected_top(), im.collected_sets());
}

void ssmem_available_list_print(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_available_list_print", a);
  impl_t& im = checked_allocator(a, "ssmem_available_list_print")->impl;
  std::size_t n = 0;
  for (auto* s = im.available_top(); s != nullptr; s = s->next()) ++n;
  print_sets("avail_set list", im.available_top(), n);
}

void ssmem_stats_print(ssmem_allocator_t* a) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_stats_print", a);
  impl_t& im = checked_allocator(a, "ssmem_stats_print")->impl;
  char line[640];
  ssmem::detail::format_stats(line, sizeof line, im.stats());
  std::printf("%s\n", line);
  ssmem::detail::format_stats(line, sizeof line, ssmem::default_domain().stats());
  std::printf("%s\n", line);
}

void ssmem_all_list_print(ssmem_allocator_t* a, int id) {
  [[maybe_unused]] ssmem::detail::call_guard g("ssmem_all_list_print", a);
  impl_t& im = checked_allocator(a, "ssmem_all_list_print")->impl;
  ssmem::allocator_stats s = im.stats();
  std::printf("[ALLOC] [%-2d] free_set list: %-4zu / collected_set list: %-4zu\n", id,
              s.pending_sets, im.collected_sets());
}

}  // extern "C"

// The C++ scopes' side of the calling thread's registrations (c_thread). No lock: `me` is the
// calling thread's; domain registration is thread-safe; the registration mutex guards the C
// API's labels and registrations (and the thread-exit hook, which runs on this thread).
namespace ssmem::detail {

record* take_default_record(bool exit_scope) noexcept {
  if (me.rec == nullptr) {
    me.rec = default_domain().register_thread();
    if (me.rec == nullptr) return nullptr;
  }
  ++me.scope_uses;
  if (exit_scope) {
    ++me.exit_scope_uses;  // this_thread()'s: its thread_local destructor ends it
  } else {
    arm_exit_hook();       // a scope never destroyed is released at thread exit
  }
  return me.rec;
}

void drop_default_record(bool exit_scope) noexcept {
  if (me.scope_uses == 0 || (exit_scope && me.exit_scope_uses == 0)) {
    fatal("~thread_scope", "default-domain record dropped more often than taken");
  }
  if (exit_scope) --me.exit_scope_uses;
  if (--me.scope_uses == 0 && !me.c_registered) {
    default_domain().unregister_thread(me.rec);
    me.rec = nullptr;
  }
}

bool hold_record(domain& d, record* r) noexcept {
  if (me.held_count == me.held_capacity) {
    unsigned cap = me.held_capacity != 0 ? 2 * me.held_capacity : 4;
    auto* grown = static_cast<held_record*>(std::realloc(me.held, cap * sizeof(held_record)));
    if (grown == nullptr) return false;
    me.held = grown;
    me.held_capacity = cap;
  }
  me.held[me.held_count++] = held_record{&d, r};
  arm_exit_hook();
  return true;
}

void drop_held_record(domain& d, record* r) noexcept {
  for (unsigned i = me.held_count; i-- > 0;) {
    if (me.held[i].domain == &d && me.held[i].rec == r) {
      me.held[i] = me.held[--me.held_count];
      return;
    }
  }
  fatal("~thread_scope", "the scope's registration is not held by this thread (a scope is owner-only)");
}

record* default_record_of_this_thread() noexcept { return me.rec; }

void owner_misuse(const char* api, const char* what, long long owner_label, int owner_tid) noexcept {
  char owner[64], caller[64];
  static char msg[256];
  describe_thread(owner, sizeof owner, owner_label, owner_tid);
  describe_thread(caller, sizeof caller, my_label(), checked_tid());
  std::snprintf(msg, sizeof msg, "%s of %s used by %s: it belongs to the thread that created it",
                what, owner, caller);
  fatal(api, msg);
}

}  // namespace ssmem::detail
