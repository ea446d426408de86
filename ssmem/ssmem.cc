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
// need the C++ runtime (exceptions, iostreams) are in ssmem_cxx.cc, another member of the
// archive, which a C program never pulls in.
#include "ssmem/ssmem.h"

#include <cinttypes>
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

int format_stats(char* buf, std::size_t n, const allocator_stats& s) noexcept {
  int w = std::snprintf(
      buf, n,
      "ssmem allocator: object %zu B, reserved %zu B in %zu chunk(s); allocated %" PRIu64
      " (reused %" PRIu64 "), freed %" PRIu64 ", collected %" PRIu64 "; pending %zu object(s) in %zu"
      " stamped set(s) + filling, reusable %zu; released %" PRIu64 ", returned %" PRIu64
      ", release pending %zu; stamps %" PRIu64,
      s.object_size, s.bytes_reserved, s.chunks, s.allocated, s.reused, s.freed, s.collected,
      s.pending, s.pending_sets, s.reusable, s.released, s.returned, s.release_pending, s.stamps);
  if (w < 0 || static_cast<std::size_t>(w) >= n || s.pending_sets == 0) return w;
  int more = std::snprintf(buf + w, n - static_cast<std::size_t>(w),
                           "; oldest pending set %" PRIu64 " stamp(s) old", s.oldest_pending_age);
  if (more < 0) return more;
  w += more;
  if (static_cast<std::size_t>(w) >= n || s.blocking_slot < 0) return w;
  more = std::snprintf(buf + w, n - static_cast<std::size_t>(w), ", held back by thread slot %lld",
                       s.blocking_slot);
  return more < 0 ? more : w + more;
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

constexpr std::uint64_t live_magic = 0x4b4f5f4d454d5353ull;  // "SSMEM_OK"

// One registration of a thread with the C API (heap, recycled, never freed). `generation`
// grows each time a registration ends (ssmem_term, the last ssmem_alloc_term, thread exit):
// an allocator is live only while the generation it was initialised in is current, so an
// allocator left behind by a thread that exited -- on a stack that a later thread reuses,
// still holding the magic word -- reads as not initialised (the checked build's use-before-init
// and double-init checks), without writing to memory that may no longer be the allocator.
struct c_registration {
  std::uint64_t generation;
  c_registration* next_free;
};

// What a ssmem_allocator_t holds: the allocator itself (first: ssmem_alloc's pointer is its
// `this`, no offset to add), a magic word and the registration it was initialised in
// (use-before-init / after-term detection in the checked build), and the thread's list link.
struct c_allocator {
  impl_t impl;
  std::uint64_t magic;
  ssmem_allocator_t* next;
  c_registration* reg;
  std::uint64_t generation;

  // Whether it was initialised and not terminated since (its registration still current).
  bool is_live() const {
    return magic == live_magic &&
           __atomic_load_n(&reg->generation, __ATOMIC_RELAXED) == generation;
  }
};
static_assert(sizeof(c_allocator) <= sizeof(ssmem_allocator_t),
              "SSMEM_ALLOCATOR_STORAGE is too small for the allocator");
static_assert(alignof(c_allocator) <= alignof(ssmem_allocator_t));

c_allocator* as_c(ssmem_allocator_t* a) { return reinterpret_cast<c_allocator*>(a); }

// The calling thread's record in the default domain, its registration for the C API and its
// live allocators. Trivial (no destructor): thread exit is handled by the pthread key below
// (the C API's use) and by the C++ scopes' destructors (theirs). One thread has one record in
// the default domain: the C API's registration and every C++ scope that takes it
// (detail::take_default_record) share it; it is unregistered when the last use ends.
struct c_thread {
  ssmem::record* rec;            // non-null while c_registered or scope_uses > 0
  unsigned scope_uses;           // C++ scopes holding rec (detail::take_default_record)
  bool c_registered;             // the C API holds rec (ssmem_alloc_init / ssmem_gc_thread_init)
  ssmem_allocator_t* allocators;
  c_registration* reg;
};
thread_local c_thread me;

// Guards the labels (thread ids) and the registrations' free list. Handled across fork()
// (fork_prepare/fork_parent/fork_child).
pthread_mutex_t registration_mutex = PTHREAD_MUTEX_INITIALIZER;
c_registration* free_registrations = nullptr;

// The key whose destructor runs when a registered thread exits without ssmem_term().
pthread_key_t exit_key;
pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

void end_registration_locked() {
  // relaxed: only this thread writes it; readers compare it (diagnostics of misuse).
  __atomic_store_n(&me.reg->generation, me.reg->generation + 1, __ATOMIC_RELAXED);
  me.reg->next_free = free_registrations;
  free_registrations = me.reg;
  me.reg = nullptr;
  me.allocators = nullptr;
  (void)pthread_setspecific(exit_key, nullptr);
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

// A thread that exits without ssmem_term(): its record goes offline so it never blocks
// collection again, and its id is free for later threads. Its allocators' memory is left
// alone (they may sit on the stack being unwound; their objects may still be in use); they
// are no longer live (generation).
void on_thread_exit(void*) {
  pthread_mutex_lock(&registration_mutex);
  if (me.c_registered) drop_c_use_locked();
  if (me.reg != nullptr) end_registration_locked();
  pthread_mutex_unlock(&registration_mutex);
}

void make_exit_key() {
  if (pthread_key_create(&exit_key, on_thread_exit) != 0) {
    fatal("ssmem_alloc_init", "no pthread key left for the thread-exit hook");
  }
}

void register_me(int id, const char* api) {
  if (id < 0) fatal(api, "invalid thread id: must be >= 0");
  pthread_once(&exit_key_once, make_exit_key);
  pthread_mutex_lock(&registration_mutex);
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
    }
    me.reg = g;
    (void)pthread_setspecific(exit_key, g);  // non-null: on_thread_exit runs at exit
  }
  if (me.rec == nullptr) {
    me.rec = d.register_thread();
    if (me.rec == nullptr) fatal(api, "out of memory for a thread record");
  }
  // A record that a C++ scope holds is shared as it is (online or offline).
  me.c_registered = true;
  me.rec->set_label(id);
  pthread_mutex_unlock(&registration_mutex);
}

void unregister_me() {
  pthread_mutex_lock(&registration_mutex);
  drop_c_use_locked();
  if (me.reg != nullptr) end_registration_locked();
  pthread_mutex_unlock(&registration_mutex);
}

// fork(): every lock of the library is taken before fork() and released after it, in the
// parent and in the child (where only the forking thread exists: the thread that took the
// locks, so it may release them; re-initialising a locked mutex instead is undefined, and
// ThreadSanitizer reports the child's next lock as a double lock): the registration mutex,
// then the checked registry's. In the child, every other registered record of the default domain is
// abandoned (offline and free), or it would block collection forever.
void fork_prepare() {
  pthread_mutex_lock(&registration_mutex);
  if constexpr (ssmem::detail::checked) ssmem::detail::checked_registry::instance().lock_for_fork();
}

void fork_parent() {
  if constexpr (ssmem::detail::checked) ssmem::detail::checked_registry::instance().unlock_after_fork();
  pthread_mutex_unlock(&registration_mutex);
}

void fork_child() {
  if constexpr (ssmem::detail::checked) ssmem::detail::checked_registry::instance().unlock_in_child();
  pthread_mutex_unlock(&registration_mutex);
  ssmem::domain& d = ssmem::default_domain();
  for (ssmem::record* r = d.first(); r != nullptr; r = r->next()) {
    bool mine = r == me.rec;
    for (ssmem::thread_scope* s = ssmem::innermost_scope_of_this_thread(); s != nullptr && !mine;
         s = s->outer()) {
      mine = &s->get_record() == r;
    }
    if (!mine) {
      r->set_label(-1);
      d.abandon_dead_owner(r);
    }
  }
}

// Installed during static initialisation (before main, so before any thread can take a lock).
[[maybe_unused]] const bool fork_handlers_installed =
    pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;

c_allocator* checked_allocator(ssmem_allocator_t* a, const char* api) {
  c_allocator* c = as_c(a);
  if constexpr (ssmem::detail::checked) {
    if (a == nullptr) fatal(api, "null allocator");
    if (!c->is_live()) {
      fatal(api, "allocator used before ssmem_alloc_init (or after ssmem_alloc_term, or after its thread exited)", a);
    }
  }
  return c;
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

void ssmem_gc_thread_init(ssmem_allocator_t*, int id) { register_me(id, "ssmem_gc_thread_init"); }

void ssmem_alloc_init_ts(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id,
                         int ts_incr_on) {
  if (a == nullptr) fatal("ssmem_alloc_init", "null allocator");
  if (ts_incr_on < SSMEM_TS_INCR_ON_NONE || ts_incr_on > SSMEM_TS_INCR_ON_FREE) {
    fatal("ssmem_alloc_init", "invalid timestamp policy (expected SSMEM_TS_INCR_ON_*)");
  }
  if constexpr (ssmem::detail::checked) {
    if (as_c(a)->is_live()) {
      fatal("ssmem_alloc_init", "allocator initialised twice (ssmem_alloc_term it first)", a);
    }
  }
  register_me(id, "ssmem_alloc_init");
  print_init_line(id, free_set_size);
  ssmem::options o;
  o.chunk_size = size;
  o.free_set_size = free_set_size;
  o.release_set_size = SSMEM_GC_RLSE_SET_SIZE;
  o.stamp_batch = SSMEM_STAMP_BATCH;
  o.stamp_backlog = SSMEM_STAMP_BACKLOG;
  o.chunk_doubling = SSMEM_MEM_SIZE_DOUBLE != 0;
  o.chunk_size_max = static_cast<std::size_t>(SSMEM_MEM_SIZE_MAX);
  o.zero_memory = SSMEM_ZERO_MEMORY != 0;
  o.huge_pages = SSMEM_TRANSPARENT_HUGE_PAGES != 0;
  o.bump_on = static_cast<ssmem::ts_policy>(ts_incr_on);
  auto* c = as_c(a);
  c->magic = live_magic;
  c->reg = me.reg;
  c->generation = me.reg->generation;
  c->next = me.allocators;
  ::new (&c->impl) impl_t(ssmem::default_domain(), *me.rec, 0, o);
  me.allocators = a;
}

void ssmem_alloc_init_fs_size(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id) {
  ssmem_alloc_init_ts(a, size, free_set_size, id, SSMEM_TS_INCR_ON);
}

void ssmem_alloc_init(ssmem_allocator_t* a, size_t size, int id) {
  ssmem_alloc_init_ts(a, size, SSMEM_GC_FREE_SET_SIZE, id, SSMEM_TS_INCR_ON);
}

void ssmem_alloc_term(ssmem_allocator_t* a) {
  c_allocator* c = as_c(a);
  if (a == nullptr || c->magic != live_magic) {
    fatal("ssmem_alloc_term", "allocator not initialised (or terminated twice)", a);
  }
  ssmem_allocator_t** link = &me.allocators;
  while (*link != nullptr && *link != a) link = &as_c(*link)->next;
  if (*link == nullptr) {
    fatal("ssmem_alloc_term", "allocator belongs to another thread (live or exited)", a);
  }
  *link = c->next;
  c->impl.~impl_t();
  c->magic = 0;
  if (me.allocators == nullptr && me.c_registered) unregister_me();
}

void ssmem_term() {
  while (me.allocators != nullptr) ssmem_alloc_term(me.allocators);
  if (me.c_registered) unregister_me();
}

void* ssmem_alloc(ssmem_allocator_t* a, size_t size) {
  return checked_allocator(a, "ssmem_alloc")->impl.allocate(size);
}

void ssmem_free(ssmem_allocator_t* a, void* obj) {
  checked_allocator(a, "ssmem_free")->impl.deallocate(obj);
}

// Flattened: release() (not forced inline) comes inline with it, so that no
// source_location is built for an out-of-line call, as for ssmem_alloc/ssmem_free.
[[gnu::flatten]] void ssmem_release(ssmem_allocator_t* a, void* obj) {
  checked_allocator(a, "ssmem_release")->impl.release(obj);
}

// ssmem_deleter_t is ssmem::retire_fn: no cast, the C function is called through its own type.
static_assert(std::is_same_v<ssmem_deleter_t, ssmem::retire_fn>);
[[gnu::flatten]] void ssmem_retire(ssmem_allocator_t* a, void* obj, ssmem_deleter_t fn, void* context) {
  checked_allocator(a, "ssmem_retire")->impl.retire(obj, fn, context);
}

void ssmem_ts_next() {
  if (me.rec != nullptr) {
    me.rec->bump();
  } else if constexpr (ssmem::detail::checked) {
    fatal("ssmem_ts_next", "thread not registered: call ssmem_alloc_init or ssmem_gc_thread_init first");
  }
}

void ssmem_thread_offline() {
  if (me.rec == nullptr) fatal("ssmem_thread_offline", "thread not registered");
  if (me.rec->is_online()) me.rec->go_offline();
}

void ssmem_thread_online() {
  if (me.rec == nullptr) fatal("ssmem_thread_online", "thread not registered");
  if (!me.rec->is_online()) me.rec->go_online();
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
  impl_t& im = checked_allocator(a, "ssmem_free_list_print")->impl;
  if (im.filling_set() != nullptr) print_sets("filling free_set", im.filling_set(), 1);
  ssmem::allocator_stats s = im.stats();
  print_sets("free_set list, oldest first", im.pending_front(), s.pending_sets);
}

void ssmem_collected_list_print(ssmem_allocator_t* a) {
  impl_t& im = checked_allocator(a, "ssmem_collected_list_print")->impl;
  print_sets("collected_set list", im.collected_top(), im.collected_sets());
}

void ssmem_available_list_print(ssmem_allocator_t* a) {
  impl_t& im = checked_allocator(a, "ssmem_available_list_print")->impl;
  std::size_t n = 0;
  for (auto* s = im.available_top(); s != nullptr; s = s->next()) ++n;
  print_sets("avail_set list", im.available_top(), n);
}

void ssmem_stats_print(ssmem_allocator_t* a) {
  impl_t& im = checked_allocator(a, "ssmem_stats_print")->impl;
  char line[640];
  ssmem::detail::format_stats(line, sizeof line, im.stats());
  std::printf("%s\n", line);
  ssmem::detail::format_stats(line, sizeof line, ssmem::default_domain().stats());
  std::printf("%s\n", line);
}

void ssmem_all_list_print(ssmem_allocator_t* a, int id) {
  impl_t& im = checked_allocator(a, "ssmem_all_list_print")->impl;
  ssmem::allocator_stats s = im.stats();
  std::printf("[ALLOC] [%-2d] free_set list: %-4zu / collected_set list: %-4zu\n", id,
              s.pending_sets, im.collected_sets());
}

}  // extern "C"

// The C++ scopes' side of the shared default-domain record (c_thread). No lock: `me` is the
// calling thread's; domain registration is thread-safe; the registration mutex guards only
// the C API's labels and registrations.
namespace ssmem::detail {

record* take_default_record() noexcept {
  if (me.rec == nullptr) {
    me.rec = default_domain().register_thread();
    if (me.rec == nullptr) return nullptr;
  }
  ++me.scope_uses;
  return me.rec;
}

void drop_default_record() noexcept {
  if (me.scope_uses == 0) fatal("~thread_scope", "default-domain record dropped more often than taken");
  if (--me.scope_uses == 0 && !me.c_registered) {
    default_domain().unregister_thread(me.rec);
    me.rec = nullptr;
  }
}

record* default_record_of_this_thread() noexcept { return me.rec; }

}  // namespace ssmem::detail
