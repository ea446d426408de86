// The C API (ssmem.h) and the non-template parts of the C++ API (ssmem.hpp), on the native
// policy. Per-thread state lives here, in thread_local variables, never in the algorithm.
#include "ssmem/ssmem.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <ostream>
#include <sstream>

#include <pthread.h>

#include "ssmem/ssmem.hpp"

namespace ssmem {

domain& default_domain() {
  static domain* d = new domain();  // never destroyed: threads may deregister after main()
  return *d;
}

namespace {
thread_local thread_scope* innermost_scope = nullptr;
}

thread_scope* innermost_scope_of_this_thread() noexcept { return innermost_scope; }

thread_scope::thread_scope(domain& d) : domain_(&d), rec_(d.register_thread()), outer_(innermost_scope) {
  if (rec_ == nullptr) throw std::bad_alloc();
  innermost_scope = this;
}

thread_scope::~thread_scope() {
  domain_->unregister_thread(rec_);
  innermost_scope = outer_;
}

thread_scope& this_thread() {
  thread_local thread_scope scope(default_domain());
  return scope;
}

void safe_to_reclaim() noexcept {
  if (innermost_scope != nullptr) innermost_scope->safe_to_reclaim();
}
void offline() noexcept {
  if (innermost_scope != nullptr) innermost_scope->offline();
}
void online() noexcept {
  if (innermost_scope != nullptr) innermost_scope->online();
}

std::ostream& operator<<(std::ostream& os, const allocator_stats& s) {
  os << "ssmem allocator: object " << s.object_size << " B, reserved " << s.bytes_reserved
     << " B in " << s.chunks << " chunk(s); allocated " << s.allocated << " (reused " << s.reused
     << "), freed " << s.freed << ", collected " << s.collected << "; pending " << s.pending
     << " object(s) in " << s.pending_sets << " stamped set(s) + filling, reusable " << s.reusable
     << "; released " << s.released << ", returned " << s.returned << ", release pending "
     << s.release_pending << "; stamps " << s.stamps;
  if (s.pending_sets != 0) {
    os << "; oldest pending set " << s.oldest_pending_age << " stamp(s) old";
    if (s.blocking_slot >= 0) os << ", held back by thread slot " << s.blocking_slot;
  }
  return os;
}

std::ostream& operator<<(std::ostream& os, const domain_stats& s) {
  return os << "ssmem domain: " << s.slots << " record(s): " << s.online << " online, "
            << s.offline << " offline, " << s.free << " free";
}

}  // namespace ssmem

namespace {

using impl_t = ssmem::basic_allocator<ssmem::native_policy>;
using ssmem::detail::fatal;

constexpr std::uint64_t live_magic = 0x4b4f5f4d454d5353ull;  // "SSMEM_OK"

// What a ssmem_allocator_t holds: the allocator itself (first: ssmem_alloc's pointer is its
// `this`, no offset to add), a magic word (use-before-init / after-term detection in the
// checked build), and the thread's list link.
struct c_allocator {
  impl_t impl;
  std::uint64_t magic;
  ssmem_allocator_t* next;
};
static_assert(sizeof(c_allocator) <= sizeof(ssmem_allocator_t),
              "SSMEM_ALLOCATOR_STORAGE is too small for the allocator");
static_assert(alignof(c_allocator) <= alignof(ssmem_allocator_t));

c_allocator* as_c(ssmem_allocator_t* a) { return reinterpret_cast<c_allocator*>(a); }

// The calling thread's registration for the C API, and its live allocators.
struct c_thread {
  ssmem::record* rec = nullptr;
  ssmem_allocator_t* allocators = nullptr;
  // A thread that exits without ssmem_term(): its record goes offline so it never blocks
  // collection again. Its allocators' memory stays mapped (objects may still be in use).
  ~c_thread() {
    if (rec == nullptr) return;
    rec->set_label(-1);  // its id is free for later threads
    ssmem::default_domain().unregister_thread(rec);
  }
};
thread_local c_thread me;

std::mutex& registration_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}

void register_me(int id, const char* api) {
  if (id < 0) fatal(api, "invalid thread id: must be >= 0");
  std::lock_guard<std::mutex> g(registration_mutex());
  ssmem::domain& d = ssmem::default_domain();
  for (ssmem::record* r = d.first(); r != nullptr; r = r->next()) {
    if (r != me.rec && r->label() == id) {
      static char msg[96];
      std::snprintf(msg, sizeof msg, "thread id %d is already used by another live thread", id);
      fatal(api, msg);
    }
  }
  if (me.rec == nullptr) {
    me.rec = d.register_thread();
    if (me.rec == nullptr) fatal(api, "out of memory for a thread record");
  }
  me.rec->set_label(id);
}

void unregister_me() {
  std::lock_guard<std::mutex> g(registration_mutex());
  me.rec->set_label(-1);
  ssmem::default_domain().unregister_thread(me.rec);
  me.rec = nullptr;
}

// fork(): in the child only the forking thread exists. Every other registered record of the
// default domain is abandoned (offline and free), or it would block collection forever.
void after_fork_in_child() {
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
  ::new (&registration_mutex()) std::mutex();  // another thread may have held it at fork()
}

[[maybe_unused]] const bool fork_handler_installed = [] {
  return pthread_atfork(nullptr, nullptr, after_fork_in_child) == 0;
}();

c_allocator* checked_allocator(ssmem_allocator_t* a, const char* api) {
  c_allocator* c = as_c(a);
  if constexpr (ssmem::detail::checked) {
    if (a == nullptr) fatal(api, "null allocator");
    if (c->magic != live_magic) {
      fatal(api, "allocator used before ssmem_alloc_init (or after ssmem_alloc_term)", a);
    }
  }
  return c;
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
    if (as_c(a)->magic == live_magic) {
      fatal("ssmem_alloc_init", "allocator initialised twice (ssmem_alloc_term it first)", a);
    }
  }
  register_me(id, "ssmem_alloc_init");
  ssmem::options o;
  o.chunk_size = size;
  o.free_set_size = free_set_size;
  o.release_set_size = SSMEM_GC_RLSE_SET_SIZE;
  o.stamp_batch = SSMEM_STAMP_BATCH;
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
  if (*link == nullptr) fatal("ssmem_alloc_term", "allocator belongs to another thread", a);
  *link = c->next;
  c->impl.~impl_t();
  c->magic = 0;
  if (me.allocators == nullptr && me.rec != nullptr) unregister_me();
}

void ssmem_term() {
  while (me.allocators != nullptr) ssmem_alloc_term(me.allocators);
  if (me.rec != nullptr) unregister_me();
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
  std::ostringstream os;
  os << im.stats() << "\n" << ssmem::default_domain().stats() << "\n";
  std::fputs(os.str().c_str(), stdout);
}

void ssmem_all_list_print(ssmem_allocator_t* a, int id) {
  impl_t& im = checked_allocator(a, "ssmem_all_list_print")->impl;
  ssmem::allocator_stats s = im.stats();
  std::printf("[ALLOC] [%-2d] free_set list: %-4zu / collected_set list: %-4zu\n", id,
              s.pending_sets, im.collected_sets());
}

}  // extern "C"
