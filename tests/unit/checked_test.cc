// The checked build (--config=checked, SSMEM_CHECKED=1) detects each misuse and aborts with a
// message naming it. Each misuse runs in a forked child; the test reads the child's stderr
// and requires death by SIGABRT with the expected words.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <string>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

static_assert(ssmem::detail::checked, "this test must be built with SSMEM_CHECKED=1");

namespace {
struct outcome {
  bool aborted = false;
  int exit_code = -1;  ///< when the child exited
  std::string err;
};

outcome run_child(const std::function<void()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child dies by the abort itself, not through doctest's crash handler (which would
    // report a crash of the parent's test case from the child, and allocates inside a signal
    // handler: ThreadSanitizer stops the child with exit code 66 for that).
    signal(SIGABRT, SIG_DFL);
    dup2(fds[1], 2);
    close(fds[0]);
    body();
    _exit(0);  // no misuse detected
  }
  close(fds[1]);
  outcome o;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) o.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  o.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

void expect_abort(const std::function<void()>& body, const char* words) {
  outcome o = run_child(body);
  CHECK(o.aborted);
  INFO("stderr: " << o.err);
  CHECK(o.err.find(words) != std::string::npos);
}
}  // namespace

TEST_CASE("a double free aborts naming it") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    void* p = ssmem_alloc(&a, 16);
    ssmem_free(&a, p);
    ssmem_free(&a, p);
  }, "double free");
}

TEST_CASE("freeing a pointer that no allocator handed out adopts it; freeing it again aborts") {
  // As with the original: the object joins the allocator (checked_patterns_test has the rest).
  outcome o = run_child([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    (void)ssmem_alloc(&a, 16);
    static long not_ours[2];
    ssmem_free(&a, not_ours);
    ssmem_term();
  });
  CHECK_FALSE(o.aborted);
  CHECK(o.err.empty());
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    static long not_ours[2];
    ssmem_free(&a, not_ours);
    ssmem_free(&a, not_ours);
  }, "double free");
}

TEST_CASE("freeing an interior pointer of a chunk aborts naming a foreign pointer") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    char* p = static_cast<char*>(ssmem_alloc(&a, 32));
    ssmem_free(&a, p + 8);
  }, "not the start of an ssmem object");
}

TEST_CASE("freeing into an allocator of another object size aborts naming the wrong size") {
  expect_abort([] {
    ssmem_allocator_t small, big;
    ssmem_alloc_init(&small, 1 << 20, 0);
    ssmem_alloc_init(&big, 1 << 20, 0);
    void* p = ssmem_alloc(&small, 16);
    (void)ssmem_alloc(&big, 64);
    ssmem_free(&big, p);
  }, "wrong size");
}

TEST_CASE("allocating a larger size than the allocator's objects aborts naming the wrong size") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    (void)ssmem_alloc(&a, 16);
    (void)ssmem_alloc(&a, 17);
  }, "wrong size: larger");
}

TEST_CASE("allocating a smaller size is served, as the original serves it") {
  outcome o = run_child([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    void* big = ssmem_alloc(&a, 16);
    void* small = ssmem_alloc(&a, 8);
    if (big == nullptr || small == nullptr || big == small) _exit(3);
    ssmem_free(&a, small);  // an object of the allocator: no false alarm on the free either
    ssmem_free(&a, big);
    ssmem_term();
  });
  INFO("stderr: " << o.err);
  CHECK(o.exit_code == 0);
  CHECK(o.err.empty());
}

TEST_CASE("using an allocator before init aborts naming it") {
  expect_abort([] {
    ssmem_allocator_t a;
    std::memset(&a, 0, sizeof a);
    (void)ssmem_alloc(&a, 16);
  }, "before ssmem_alloc_init");
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    ssmem_alloc_term(&a);
    ssmem_free(&a, nullptr);
  }, "after ssmem_alloc_term");
}

TEST_CASE("bumping the timestamp of an unregistered thread aborts naming it") {
  expect_abort([] { ssmem_ts_next(); }, "thread not registered");
}

TEST_CASE("releasing an ssmem object aborts: it must be freed instead") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 0);
    ssmem_release(&a, ssmem_alloc(&a, 16));
  }, "use ssmem_free");
}

TEST_CASE("a thread id already used by a live thread is refused") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, 7);
    std::thread([] {
      ssmem_allocator_t b;
      ssmem_alloc_init(&b, 1 << 20, 7);
    }).join();
  }, "thread id 7 is already used");
}

TEST_CASE("a negative thread id is refused") {
  expect_abort([] {
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 1 << 20, -1);
  }, "invalid thread id");
}

TEST_CASE("going offline without being registered aborts naming it") {
  expect_abort([] { ssmem_thread_offline(); }, "thread not registered");
}

TEST_CASE("terminating another thread's allocator aborts naming it") {
  expect_abort([] {
    ssmem_allocator_t a;
    std::thread([&] { ssmem_alloc_init(&a, 1 << 20, 1); }).join();
    ssmem_alloc_term(&a);
  }, "belongs to another thread");
}

TEST_CASE("correct use does not abort: each check has no false alarm") {
  outcome o = run_child([] {
    ssmem_allocator_t a;
    ssmem_alloc_init_fs_size(&a, 1 << 20, 2, 0);
    for (int round = 0; round < 100; ++round) {
      void* p = ssmem_alloc(&a, 16);
      void* q = ssmem_alloc(&a, 16);
      ssmem_free(&a, p);
      ssmem_free(&a, q);
    }
    ssmem_release(&a, std::malloc(10));
    ssmem_term();
  });
  CHECK(o.exit_code == 0);
  CHECK(o.err.empty());
}

TEST_CASE("retiring a pool object twice, or retiring an ssmem object with a deleter, aborts") {
  expect_abort(
      [] {
        ssmem::domain d;
        ssmem::thread_scope t(d);
        ssmem::object_pool<long> pool(t);
        long* p = pool.create(1);
        pool.retire(p);
        pool.retire(p);
      },
      "object_pool::retire: double free");
  expect_abort(
      [] {
        ssmem_allocator_t a;
        ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 0);
        void* p = ssmem_alloc(&a, 16);
        ssmem_retire(&a, p, [](void* o, void*) { std::free(o); }, nullptr);
      },
      "ssmem_retire: release of an object that came from ssmem_alloc");
}

TEST_CASE("a thread scope that ends before a scope nested in it aborts naming the misuse") {
  expect_abort(
      [] {
        ssmem::domain d;
        auto* outer = new ssmem::thread_scope(d);
        ssmem::thread_scope* inner = new ssmem::thread_scope(d);
        (void)inner;
        delete outer;
      },
      "~thread_scope: scopes of one thread must end in the reverse order");
}

namespace {
// The kernel thread ids a message names ("tid N"), in order.
std::vector<long> tids_in(const std::string& s) {
  std::vector<long> out;
  for (std::size_t p = s.find("tid "); p != std::string::npos; p = s.find("tid ", p + 4)) {
    out.push_back(std::strtol(s.c_str() + p + 4, nullptr, 10));
  }
  return out;
}

}  // namespace

TEST_CASE("an allocator used by another thread aborts naming both threads") {
  outcome o = run_child([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::allocator a(t, 16);
    a.deallocate(a.allocate());
    std::thread([&] { (void)a.allocate(); }).join();
  });
  INFO("stderr: " << o.err);
  CHECK(o.aborted);
  CHECK(o.err.find("ssmem::allocator::allocate: allocator of thread tid ") != std::string::npos);
  CHECK(o.err.find("used by thread tid ") != std::string::npos);
  const std::vector<long> tids = tids_in(o.err);
  REQUIRE(tids.size() == 2);
  CHECK(tids[0] != tids[1]);
}

TEST_CASE("an object pool, a deallocate, a thread scope used by another thread abort naming the misuse") {
  expect_abort([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::object_pool<long> pool(t);
    std::thread([&] { (void)pool.create(1); }).join();
  }, "ssmem::object_pool::create: object pool of thread tid ");
  expect_abort([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::allocator a(t, 16);
    void* p = a.allocate();
    std::thread([&] { a.deallocate(p); }).join();
  }, "ssmem::allocator::deallocate: allocator of thread tid ");
  expect_abort([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    std::thread([&] { t.safe_to_reclaim(); }).join();
  }, "ssmem::thread_scope::safe_to_reclaim: thread scope of thread tid ");
  expect_abort([] {
    ssmem::domain d;
    auto* t = new ssmem::thread_scope(d);
    std::thread([&] { delete t; }).join();
  }, "~thread_scope: thread scope of thread tid ");
  expect_abort([] {
    static ssmem_allocator_t c;
    ssmem_alloc_init(&c, 1 << 20, 3);  // the C id appears in the message
    std::thread([&] { ssmem_alloc_term(&c); }).join();
  }, "allocator of thread id 3 (tid ");
}

TEST_CASE("an allocator built by another thread on a scope belongs to the scope's thread: no false alarm") {
  outcome o = run_child([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::allocator* a = nullptr;
    std::thread([&] { a = new ssmem::allocator(t, 16); }).join();  // built elsewhere...
    for (int i = 0; i < 1000; ++i) a->deallocate(a->allocate());    // ...used by its owner
    delete a;
  });
  INFO("stderr: " << o.err);
  CHECK(o.exit_code == 0);
  CHECK(o.err.empty());
}

namespace {
struct node;
ssmem::object_pool<long>* other_pool = nullptr;
ssmem::object_pool<node>* node_pool = nullptr;
struct node {
  long* payload;
  bool use_own_pool = false;
  ~node() {
    other_pool->destroy(payload);  // another pool: legal from a deleter
    if (use_own_pool) node_pool->destroy(node_pool->create());  // the pool ~node() runs in
  }
};
// Retires one node, then frees until its ~node() has run; returns how many nodes are live.
void retire_one_node(bool use_own_pool) {
  ssmem::domain d;
  ssmem::thread_scope t(d);
  ssmem::options o;
  o.free_set_size = 1;
  o.release_set_size = 1;
  o.stamp_batch = 0;
  ssmem::object_pool<long> longs(t, o);
  ssmem::object_pool<node> nodes(t, o);
  other_pool = &longs;
  node_pool = &nodes;
  node* n = nodes.create();
  n->payload = longs.create(7);
  n->use_own_pool = use_own_pool;
  nodes.retire(n);
  for (int i = 0; i < 10; ++i) longs.destroy(longs.create(i));
  nodes.destroy(nodes.create());  // a retire/destroy of `nodes` gives the collected node back
  nodes.destroy(nodes.create());
  if (nodes.stats().returned == 0) _exit(3);
}
}  // namespace

TEST_CASE("a deleter may use other pools; one that uses the pool it runs in aborts") {
  outcome o = run_child([] { retire_one_node(false); });
  INFO("stderr: " << o.err);
  CHECK(o.exit_code == 0);
  CHECK(o.err.empty());
  expect_abort([] { retire_one_node(true); }, "ssmem::object_pool::create: allocator re-entered");
}

namespace {
ssmem::allocator* handler_allocator = nullptr;
void handler_allocates(int) { handler_allocator->deallocate(handler_allocator->allocate()); }
}  // namespace

TEST_CASE("a library lock taken again by the thread that holds it (a signal handler inside ssmem) aborts, never hangs") {
  // The registry's lock is held here as an interrupted call would hold it; the handler's
  // allocation reaches for it (a C++ allocator: no other lock on its way, so the two locks
  // are taken in no order the library does not take them in). Without the check this child
  // waits for ever (its alarm ends it).
  outcome o = run_child([] {
    alarm(10);
    static ssmem::domain d;
    static ssmem::thread_scope t(d);
    static ssmem::allocator a(t, 16);
    (void)a.allocate();  // the chunk is mapped: the handler's allocation calls no malloc
    handler_allocator = &a;
    std::signal(SIGUSR1, handler_allocates);
    ssmem::detail::checked_registry::instance().lock_for_fork();
    std::raise(SIGUSR1);
  });
  INFO("stderr: " << o.err);
  CHECK(o.aborted);
  CHECK(o.err.find("a lock of the library taken again by the thread that holds it") != std::string::npos);
}

TEST_CASE("a thread that exits with scopes never destroyed: the checked build says what was leaked, and goes on") {
  outcome o = run_child([] {
    static ssmem::domain d;
    std::thread([] {
      static ssmem::thread_scope* leaked[2];
      leaked[0] = new ssmem::thread_scope;
      leaked[1] = new ssmem::thread_scope(d);
    }).join();
    if (d.stats().online != 0) _exit(3);
  });
  INFO("stderr: " << o.err);
  CHECK(o.exit_code == 0);
  CHECK(o.err.find("exited holding registrations of thread_scope objects never destroyed: 1 use(s) "
                   "of its default-domain record, 1 record(s) registered on their own (slot 0 of domain ") !=
        std::string::npos);
  CHECK(o.err.find("released (offline and free)") != std::string::npos);
}
