// The ends of things. A thread that ends while it still holds registrations -- a thread_scope
// it created on the heap and never destroyed, in the default domain or another one, or a C
// registration without ssmem_term -- releases them however it ends (it returns, calls
// pthread_exit, is cancelled; a std::thread), so that it never holds collection back: every
// other thread's pending objects and reserved memory stay bounded afterwards. And an
// allocator of the C API after ssmem_alloc_term / ssmem_term: ssmem_alloc returns NULL; what is
// freed, released or retired into it is kept, never handed out or given back.
// (The main thread's pthread_exit: thread_exit_main_test.cc.)
#include <doctest/doctest.h>

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

namespace {

// What the threads below leak on purpose stays reachable from here, so that LeakSanitizer
// (this test runs under ASan) does not report it.
void* leaked[64];
std::atomic<int> leaked_count{0};
template <class T>
T* leak(T* p) {
  leaked[leaked_count.fetch_add(1)] = p;
  return p;
}

enum class ending { returns, pthread_exit, cancelled };
const char* name_of(ending e) {
  return e == ending::returns ? "returns" : e == ending::pthread_exit ? "pthread_exit" : "cancelled";
}

struct thread_run {
  void (*body)(void*);
  void* arg;
  ending how;
  std::atomic<bool> body_done{false};
};

void* thread_main(void* p) {
  auto* r = static_cast<thread_run*>(p);
  r->body(r->arg);
  r->body_done = true;
  if (r->how == ending::pthread_exit) pthread_exit(nullptr);
  if (r->how == ending::cancelled) {
    for (;;) pause();  // a cancellation point: the cancel ends the thread here
  }
  return nullptr;
}

// Runs body(arg) on a new thread that then ends as `how`; returns once it is gone.
void run_thread(void (*body)(void*), void* arg, ending how) {
  thread_run r{body, arg, how};
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, thread_main, &r) == 0);
  if (how == ending::cancelled) {
    while (!r.body_done.load()) std::this_thread::yield();
    REQUIRE(pthread_cancel(t) == 0);
  }
  void* result = nullptr;
  REQUIRE(pthread_join(t, &result) == 0);
  CHECK(r.body_done.load());
  if (how == ending::cancelled) CHECK(result == PTHREAD_CANCELED);
}

constexpr ending endings[] = {ending::returns, ending::pthread_exit, ending::cancelled};

bool is_free(const ssmem::record* r) { return ssmem::version_is_offline(r->load_version()); }

}  // namespace

TEST_CASE("a thread that ends with a default-domain scope never destroyed releases its record, however it ends") {
  for (ending how : endings) {
    INFO("the thread " << name_of(how));
    const ssmem::domain_stats before = ssmem::default_domain().stats();
    ssmem::record* rec = nullptr;
    run_thread([](void* out) {
      auto* s = leak(new ssmem::thread_scope);  // never destroyed
      auto* inner = leak(new ssmem::thread_scope);  // nested: shares the record
      (void)inner;
      s->safe_to_reclaim();
      *static_cast<ssmem::record**>(out) = &s->get_record();
    }, &rec, how);
    REQUIRE(rec != nullptr);
    CHECK(is_free(rec));
    const ssmem::domain_stats after = ssmem::default_domain().stats();
    CHECK(after.online == before.online);
    CHECK(after.offline == before.offline);  // free, not merely offline
  }
}

TEST_CASE("scopes never destroyed in another domain, and separate records, are released at thread exit") {
  for (ending how : endings) {
    INFO("the thread " << name_of(how));
    static ssmem::domain d;  // outlives the threads: their records are released into it
    struct seen {
      ssmem::record* in_d;
      ssmem::record* separate;
    } out{};
    run_thread([](void* o) {
      auto* s = leak(new ssmem::thread_scope(d));
      leak(new ssmem::thread_scope(d));  // nested in d: shares s's record
      auto* sep = leak(new ssmem::thread_scope(d, ssmem::separate_record));
      auto* def = leak(new ssmem::thread_scope(ssmem::default_domain(), ssmem::separate_record));
      *static_cast<seen*>(o) = seen{&s->get_record(), &def->get_record()};
      (void)sep;
    }, &out, how);
    CHECK(is_free(out.in_d));
    CHECK(is_free(out.separate));
    CHECK(d.stats().online == 0);
    CHECK(d.stats().offline == 0);
    CHECK(d.stats().free == d.stats().slots);
  }
}

TEST_CASE("a std::thread that leaks scopes releases them when it ends") {
  ssmem::domain d;
  ssmem::record* in_default = nullptr;
  ssmem::record* in_d = nullptr;
  std::thread([&] {
    in_default = &leak(new ssmem::thread_scope)->get_record();
    in_d = &leak(new ssmem::thread_scope(d))->get_record();
  }).join();
  CHECK(is_free(in_default));
  CHECK(is_free(in_d));
  CHECK(d.stats().online == 0);
}

TEST_CASE("a C thread that ends without ssmem_term releases its record and id, however it ends") {
  static ssmem_allocator_t allocators[3];  // static: reachable for LeakSanitizer
  int i = 0;
  for (ending how : endings) {
    INFO("the thread " << name_of(how));
    const ssmem::domain_stats before = ssmem::default_domain().stats();
    ssmem::record* rec = nullptr;
    struct arg {
      ssmem_allocator_t* a;
      ssmem::record** rec;
    } x{&allocators[i++], &rec};
    run_thread([](void* p) {
      auto* x = static_cast<arg*>(p);
      ssmem_alloc_init(x->a, 1 << 16, 21);
      ssmem_free(x->a, ssmem_alloc(x->a, 16));
      *x->rec = ssmem::detail::default_record_of_this_thread();
    }, &x, how);
    REQUIRE(rec != nullptr);
    CHECK(is_free(rec));
    CHECK(ssmem::default_domain().stats().online == before.online);
    std::thread([] {  // the id is free again: registering it does not abort
      ssmem_gc_thread_init(nullptr, 21);
      ssmem_term();
    }).join();
  }
}

TEST_CASE("a thread with a C registration, this_thread() and a leaked scope releases them all") {
  for (ending how : endings) {
    INFO("the thread " << name_of(how));
    static ssmem_allocator_t a;
    ssmem::record* rec = nullptr;
    run_thread([](void* out) {
      ssmem_alloc_init(&a, 1 << 16, 22);
      (void)ssmem::this_thread();           // ended by its thread_local destructor
      auto* s = leak(new ssmem::thread_scope);  // shares the C API's record
      *static_cast<ssmem::record**>(out) = &s->get_record();
    }, &rec, how);
    CHECK(is_free(rec));
  }
}

TEST_CASE("memory stays flat after a thread that leaked its scope has exited") {
  // The leaked scope was online when its thread exited; left so, it would hold back every
  // collection in its domain for ever: pending would grow by every free below (200,000) and
  // the chunks with it (12.8 MB of 64-byte objects).
  static ssmem::domain other;
  for (ssmem::domain* d : {&ssmem::default_domain(), &other}) {
    INFO((d == &other ? "another domain" : "the default domain"));
    std::thread([d] { leak(new ssmem::thread_scope(*d))->safe_to_reclaim(); }).join();
    ssmem::thread_scope me(*d);
    ssmem::options o;  // the defaults: free sets of 507, batches of 32
    o.chunk_size = std::size_t{1} << 20;
    o.chunk_doubling = false;
    ssmem::allocator a(me, 64, o);
    std::size_t max_pending = 0;
    for (int i = 0; i < 200000; ++i) {
      a.deallocate(a.allocate());
      if (i % 1000 == 0 && a.stats().pending > max_pending) max_pending = a.stats().pending;
    }
    const ssmem::allocator_stats s = a.stats();
    const std::size_t f = o.free_set_size, B = o.stamp_batch * f;
    INFO(s);
    CHECK(max_pending < 2 * B + 3 * f);  // docs/design.md §3: the bound while every thread moves on
    CHECK(s.pending < 2 * B + 3 * f);
    CHECK(s.collected > 150000);
    CHECK(s.bytes_reserved <= (std::size_t{2} << 20));  // what the bound needs: two 1 MiB chunks
    CHECK(s.blocking_slot == -1);
  }
}

TEST_CASE("ssmem_alloc on a terminated allocator returns NULL, at every size") {
  static ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 16, 23);
  void* p = ssmem_alloc(&a, 32);
  REQUIRE(p != nullptr);
  ssmem_free(&a, p);
  ssmem_alloc_term(&a);  // its last allocator: the thread is unregistered too
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{32}, std::size_t{64},
                           std::size_t{1} << 20, SIZE_MAX - 64, SIZE_MAX}) {
    INFO("size " << size);
    CHECK(ssmem_alloc(&a, size) == nullptr);
  }
  // After ssmem_term, too; and initialising it again makes it usable again.
  ssmem_alloc_init(&a, 1 << 16, 23);
  CHECK(ssmem_alloc(&a, 16) != nullptr);
  ssmem_term();
  CHECK(ssmem_alloc(&a, 16) == nullptr);
  CHECK(ssmem_alloc(&a, 16) == nullptr);
}

namespace {
int deleter_calls = 0;
void count_and_free(void* obj, void*) {
  ++deleter_calls;
  std::free(obj);
}
}  // namespace

TEST_CASE("what is freed, released or retired into a terminated allocator is kept, never handed out or given back") {
  // A misuse (the checked build aborts naming it); the optimised build must not corrupt
  // anything: the objects stay where they are, for ever (lost, not reused).
  static ssmem_allocator_t dead, live;  // static: what `dead` keeps stays reachable
  ssmem_alloc_init(&dead, 1 << 16, 24);
  ssmem_alloc_init(&live, 1 << 16, 24);
  ssmem_alloc_term(&dead);
  static void* objects[3000];
  for (void*& o : objects) o = ssmem_alloc(&live, 32);
  for (int round = 0; round < 4; ++round) {  // 12,000 frees: batches stamped, then probed
    for (void* o : objects) ssmem_free(&dead, o);
  }
  static void* released[300];
  for (void*& r : released) {
    r = std::malloc(24);
    ssmem_release(&dead, r);
  }
  for (int i = 0; i < 300; ++i) ssmem_retire(&dead, std::malloc(8), count_and_free, nullptr);
  for (int i = 0; i < 1000; ++i) {
    ssmem_ts_next();
    CHECK(ssmem_alloc(&dead, 32) == nullptr);
  }
  CHECK(deleter_calls == 0);
  // `live` goes on as if nothing happened.
  for (int i = 0; i < 5000; ++i) ssmem_free(&live, ssmem_alloc(&live, 32));
  ssmem_alloc_term(&live);
}
