// Sizes and options whose arithmetic overflows (issue 19, items 1 and 7), from the C API and
// the C++ API. Built twice (tests/unit/BUILD): against the plain library and against the
// checked one (SSMEM_CHECKED=1), both under ASan+UBSan, so a write past a set or an object
// that a wrapped size made too small is reported, not silently absorbed.
//
// What must hold: a size that cannot be served gives NULL (C) / std::bad_alloc (C++), never a
// smaller object; a failed call leaves the allocator as usable as before; an option whose
// product with another overflows never wraps (it is clamped, or refused with a message naming
// it). Every scenario runs in a forked child, so that an abort or a sanitizer report of today's
// code fails one test case, not the binary.

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

// A request ASan cannot serve gives NULL, as glibc's malloc does, instead of an ASan report:
// the library's own handling of a failed allocation is what these tests look at.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace {

constexpr std::size_t size_max = SIZE_MAX;
constexpr bool checked = ssmem::detail::checked;

// ---- a scenario in a forked child ----------------------------------------------------------

struct outcome {
  bool aborted = false;  // SIGABRT: the library's fatal() (or abort())
  int signal = 0;        // another signal
  int exit_code = -1;    // when the child exited: 0 ok, 3 a failed expectation, 1 a sanitizer
  std::string err;       // its stderr
};

// The child's body reports a failed expectation with fail(): one line on stderr, exit 3.
[[noreturn]] void fail(const char* what, std::size_t value = 0) {
  std::fprintf(stderr, "expectation failed: %s (value %zu)\n", what, value);
  std::fflush(stderr);
  _exit(3);
}

outcome run_child(const std::function<void()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL);  // die by the abort itself, not through doctest's handler
    dup2(fds[1], 2);
    close(fds[0]);
    setenv("SSMEM_QUIET", "1", 1);
    body();
    std::fflush(stderr);
    _exit(0);
  }
  close(fds[1]);
  outcome o;
  char buf[1024];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) o.err.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    o.aborted = WTERMSIG(status) == SIGABRT;
    o.signal = WTERMSIG(status);
  }
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

// The child ran to the end, with nothing on stderr (no sanitizer report, no failed expectation).
void expect_clean(const outcome& o) {
  INFO("child stderr: " << o.err);
  CHECK((o.exit_code == 0 && o.err.empty()));
}

// An option whose product overflows (issue 19.7), as decided: thresholds that are products of
// options (stamp_batch x free_set_size, stamp_backlog x batch x free_set_size, chunk doubling)
// saturate, so the child runs clean and the body checks that nothing wrapped to a small
// number (expect_no_wrap); set sizes above ssmem::max_set_size are refused in every build,
// naming the option -- the C API aborts, the C++ API throws std::invalid_argument, which the
// child does not catch (expect_refused).
void expect_no_wrap(const outcome& o, const char* option) {
  INFO("option: " << option);
  expect_clean(o);
}
// In a child: the C++ API's refusal (std::invalid_argument) as an abort with its message.
template <class Body>
void refusal_aborts(Body body) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "std::invalid_argument: %s\n", e.what());
    std::fflush(stderr);
    std::abort();
  }
}
void expect_refused(const outcome& o, const char* option) {
  INFO("child stderr: " << o.err);
  CHECK_MESSAGE(o.aborted, "the option was not refused: ", option);
  CHECK_MESSAGE(o.err.find(option) != std::string::npos, "the refusal does not name the option ", option);
}

// The words of the fixed object pattern, so that a later read sees whether anything else
// wrote into the object.
void fill(void* p, std::size_t bytes, std::uint64_t seed) {
  auto* w = static_cast<std::uint64_t*>(p);
  for (std::size_t i = 0; i < bytes / 8; ++i) w[i] = seed * 0x9E3779B97F4A7C15ull + i;
}
bool intact(const void* p, std::size_t bytes, std::uint64_t seed) {
  auto* w = static_cast<const std::uint64_t*>(p);
  for (std::size_t i = 0; i < bytes / 8; ++i) {
    if (w[i] != seed * 0x9E3779B97F4A7C15ull + i) return false;
  }
  return true;
}

// n objects of `bytes` from a C allocator, filled, checked, freed; then n more (some reused).
void c_round_trip(ssmem_allocator_t* a, std::size_t bytes, std::size_t n) {
  std::vector<void*> v;
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < n; ++i) {
      void* p = ssmem_alloc(a, bytes);
      if (p == nullptr) fail("ssmem_alloc returned NULL for a size the allocator serves", bytes);
      fill(p, bytes, i);
      v.push_back(p);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!intact(v[i], bytes, i)) fail("an object changed while it was handed out", i);
    }
    for (void* p : v) ssmem_free(a, p);
    v.clear();
  }
}

// The chunks of a C allocator, read from ssmem_stats_print's line ("... in N chunk(s) ...").
std::size_t c_chunks(ssmem_allocator_t* a) {
  int fds[2];
  if (pipe(fds) != 0) fail("pipe");
  std::fflush(stdout);
  int saved = dup(1);
  dup2(fds[1], 1);
  ssmem_stats_print(a);
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fds[1]);
  char buf[2048];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  buf[n > 0 ? n : 0] = '\0';
  const char* in = std::strstr(buf, " B in ");
  if (in == nullptr) fail("no chunk count in ssmem_stats_print's output");
  return std::strtoul(in + 6, nullptr, 10);
}

// Every size from SIZE_MAX - 64 to SIZE_MAX: the rounding to 16 bytes wraps for the top 15.
std::vector<std::size_t> sizes_near_max() {
  std::vector<std::size_t> s;
  for (std::size_t d = 0; d <= 64; ++d) s.push_back(size_max - d);
  return s;
}

// Sizes that no system maps, far from the wrap.
const std::size_t unmappable[] = {std::size_t{1} << 40, std::size_t{1} << 50,
                                  std::size_t{1} << 62, std::size_t{1} << 63,
                                  size_max - 64, size_max - 15};

}  // namespace

// ---- C API: object sizes --------------------------------------------------------------------

TEST_CASE("a first ssmem_alloc of a size no system maps returns NULL") {
  for (std::size_t s : unmappable) {
    CAPTURE(s);
    expect_clean(run_child([s] {
      ssmem_allocator_t a;
      ssmem_alloc_init(&a, 1 << 20, 0);
      if (ssmem_alloc(&a, s) != nullptr) fail("an unmappable size was served");
      ssmem_term();
    }));
  }
}

TEST_CASE("after the object size is fixed, ssmem_alloc of SIZE_MAX gives NULL (checked: aborts naming the size) "
          "and the allocator goes on serving its objects") {
  for (std::size_t s : {size_max, size_max - 7, size_max - 14, std::size_t{1} << 63}) {
    CAPTURE(s);
    outcome o = run_child([s] {
      ssmem_allocator_t a;
      ssmem_alloc_init(&a, 1 << 20, 0);
      void* first = ssmem_alloc(&a, 64);
      if (first == nullptr) fail("no first object");
      if (ssmem_alloc(&a, s) != nullptr) fail("a size larger than the object size was served", s);
      ssmem_free(&a, first);
      c_round_trip(&a, 64, 2000);
      ssmem_term();
    });
    if (checked) {
      INFO("child stderr: " << o.err);
      CHECK(o.aborted);
      CHECK(o.err.find("wrong size") != std::string::npos);
    } else {
      expect_clean(o);
    }
  }
}

TEST_CASE("a first ssmem_alloc of a size near SIZE_MAX returns NULL, never a small object") {
  // Issue 19.1: normalize_object_size rounds SIZE_MAX-14..SIZE_MAX up past SIZE_MAX, to 0,
  // and the allocator then serves 8-byte objects.
  for (std::size_t s : sizes_near_max()) {
    CAPTURE(s);
    expect_clean(run_child([s] {
      ssmem_allocator_t a;
      ssmem_alloc_init(&a, 1 << 20, 0);
      if (ssmem_alloc(&a, s) != nullptr) fail("a size near SIZE_MAX was served", s);
      ssmem_term();
    }));
  }
}

TEST_CASE("a failed first ssmem_alloc leaves the allocator as usable as before") {
  // Issue 19.1: the failed call fixes the object size at the huge size (or at the wrapped
  // one), so every later size is refused (or, checked, aborts as "wrong size").
  std::vector<std::size_t> sizes(std::begin(unmappable), std::end(unmappable));
  for (std::size_t s : {size_max, size_max - 7, size_max - 14}) sizes.push_back(s);
  for (std::size_t s : sizes) {
    CAPTURE(s);
    expect_clean(run_child([s] {
      ssmem_allocator_t a;
      ssmem_alloc_init(&a, 1 << 20, 0);
      (void)ssmem_alloc(&a, s);  // NULL (the test case above checks it)
      c_round_trip(&a, 64, 5000);  // more than a batch of frees: stamps and reuse
      ssmem_term();
    }));
  }
}

// ---- C++ API: object sizes ------------------------------------------------------------------

TEST_CASE("an allocator of a size no system maps throws std::bad_alloc, every time") {
  for (std::size_t s : unmappable) {
    CAPTURE(s);
    expect_clean(run_child([s] {
      ssmem::thread_scope t;
      ssmem::allocator a(t, s);
      for (int i = 0; i < 3; ++i) {
        try {
          void* p = a.allocate();
          a.deallocate(p);
          fail("an unmappable size was served", s);
        } catch (const std::bad_alloc&) {
        }
      }
      ssmem::allocator b(t, 64);  // the thread is as usable as before
      void* p = b.allocate();
      fill(p, 64, 1);
      if (!intact(p, 64, 1)) fail("the object after a failed allocation is not usable");
      b.deallocate(p);
    }));
  }
}

TEST_CASE("an allocator of a size near SIZE_MAX throws std::bad_alloc, never hands out a small object") {
  // Issue 19.1: allocator(scope, SIZE_MAX) rounds to 0, which means "size not fixed yet", and
  // allocate() serves 8-byte objects.
  for (std::size_t s : sizes_near_max()) {
    CAPTURE(s);
    expect_clean(run_child([s] {
      ssmem::thread_scope t;
      ssmem::allocator a(t, s);
      // A size above ssmem::max_object_size: the allocator's size is unservable_object_size.
      if (a.object_size() != ssmem::unservable_object_size) fail("object_size() wrapped", a.object_size());
      try {
        void* p = a.allocate();
        a.deallocate(p);
        fail("a size near SIZE_MAX was served", s);
      } catch (const std::bad_alloc&) {
      }
    }));
  }
}

// ---- options whose products overflow (19.7) --------------------------------------------------

namespace {

// A thread that is online and never moves on: it holds every stamped set back, so stamps are
// put off and back-pressure counts the waiting sets (a second record of this OS thread).
template <class Body>
void with_blocker(Body body) {
  ssmem::domain d;
  ssmem::thread_scope owner(d);
  ssmem::thread_scope blocker(d, ssmem::separate_record);
  body(owner);
}

// `n` objects allocated, then all freed (free sets fill and wait for stamps).
void churn(ssmem::allocator& a, std::size_t n) {
  std::vector<void*> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(a.allocate());
  for (void* p : v) a.deallocate(p);
}

}  // namespace

// Free-set sizes of the tests below: 8 (stamps after a few hundred frees) and the default 507
// (with stamp_batch 8: batches of 4056 objects), with the number of frees that makes each
// stamp, put off, yield.
struct set_case {
  std::size_t free_set_size;
  std::size_t frees;
};
const set_case set_cases[] = {{8, 4000}, {507, 30000}};

TEST_CASE("with stamp_batch 8 and the default stamp_backlog, a held-back owner yields (the control of the next test)") {
  for (const set_case& c : set_cases) {
    CAPTURE(c.free_set_size);
    expect_clean(run_child([c] {
      with_blocker([c](ssmem::thread_scope& t) {
        ssmem::options o;
        o.free_set_size = c.free_set_size;
        o.stamp_batch = 8;  // as the next test's: 30,000 frees pass the default backlog's 16,224
        ssmem::allocator a(t, 64, o);
        churn(a, c.frees);
        if (a.stats().deferred == 0) fail("no stamp was put off: the blocker did not hold collection");
        if (a.stats().yields == 0) fail("no yield with the default stamp_backlog");
      });
    }));
  }
}

TEST_CASE("a stamp_backlog whose product with stamp_batch and free_set_size overflows never wraps to a small threshold") {
  // Issue 19.7: stamp_backlog * stamp_batch * free_set_size wraps to a small number (2^58 * 8 *
  // 8 to 0; SIZE_MAX / 4056 + 1 times 8 * 507 to less than 4056), and the owner yields at every
  // put-off stamp: the opposite of a huge backlog.
  for (const set_case& c : set_cases) {
    for (std::size_t backlog : {size_max / (8 * c.free_set_size) + 1, (size_max >> 6) + 1, size_max / 2}) {
      CAPTURE(c.free_set_size);
      CAPTURE(backlog);
      expect_no_wrap(run_child([c, backlog] {
        with_blocker([c, backlog](ssmem::thread_scope& t) {
          ssmem::options o;
          o.free_set_size = c.free_set_size;
          o.stamp_batch = 8;
          o.stamp_backlog = backlog;
          ssmem::allocator a(t, 64, o);
          churn(a, c.frees);
          if (a.stats().deferred == 0) fail("no stamp was put off: the blocker did not hold collection");
          // A few thousand waiting objects are far below any backlog of 2^50 batches, clamped or not.
          if (a.stats().yields != 0) fail("yields with a huge stamp_backlog: the threshold wrapped", a.stats().yields);
        });
      }), "stamp_backlog");
    }
  }
}

TEST_CASE("with the default stamp_batch, frees are stamped (the control of the next test)") {
  for (const set_case& c : set_cases) {
    CAPTURE(c.free_set_size);
    expect_clean(run_child([c] {
      ssmem::domain d;
      ssmem::thread_scope t(d);
      ssmem::options o;
      o.free_set_size = c.free_set_size;
      ssmem::allocator a(t, 64, o);
      churn(a, c.frees);
      if (a.stats().stamps == 0) fail("no stamp with the default stamp_batch (32)");
    }));
  }
}

TEST_CASE("a stamp_batch whose product with free_set_size overflows never wraps to a small batch") {
  // Issue 19.7: stamp_batch * free_set_size wraps to a small number (2^61 * 8 to 0; SIZE_MAX /
  // 507 + 1 times 507 to less than 507), and every full set is stamped at once: the opposite
  // of a huge batch.
  for (const set_case& c : set_cases) {
    for (std::size_t batch : {size_max / c.free_set_size + 1, (size_max >> 3) + 1, size_max}) {
      CAPTURE(c.free_set_size);
      CAPTURE(batch);
      expect_no_wrap(run_child([c, batch] {
        ssmem::domain d;
        ssmem::thread_scope t(d);
        ssmem::options o;
        o.free_set_size = c.free_set_size;
        o.stamp_batch = batch;
        ssmem::allocator a(t, 64, o);
        churn(a, c.frees);
        // A few thousand frees are far below any batch of 2^50 free sets, clamped or not.
        if (a.stats().stamps != 0) fail("stamps with a huge stamp_batch: the due count wrapped", a.stats().stamps);
      }), "stamp_batch");
    }
  }
}

TEST_CASE("a free_set_size whose set does not fit in memory is clamped or refused, never a short set") {
  // Issue 19.7 (and 19.2): a set's bytes, 8 * free_set_size plus its header, wrap for 2^61 and
  // above (a set of a few bytes, written past its end: ASan reports a heap-buffer-overflow);
  // below that, a set that cannot be allocated aborts at the first free ("out of memory for
  // free-set bookkeeping"), or ASan refuses the allocation.
  for (std::size_t fs : {std::size_t{1} << 40, (size_max >> 3) + 1, size_max / 2, size_max}) {
    CAPTURE(fs);
    // C++ API.
    expect_refused(run_child([fs] { refusal_aborts([fs] {
      ssmem::domain d;
      ssmem::thread_scope t(d);
      ssmem::options o;
      o.free_set_size = fs;
      ssmem::allocator a(t, 64, o);
      std::vector<void*> v;
      for (int i = 0; i < 600; ++i) {
        v.push_back(a.allocate());
        fill(v.back(), 64, static_cast<std::uint64_t>(i));
      }
      for (void* p : v) a.deallocate(p);
      for (int i = 0; i < 600; ++i) {
        void* p = a.allocate();
        fill(p, 64, 7);
        a.deallocate(p);
      }
    }); }), "free_set_size");
    // C API: the size of ssmem_alloc_init_fs_size.
    expect_refused(run_child([fs] {
      ssmem_allocator_t a;
      ssmem_alloc_init_fs_size(&a, 1 << 20, fs, 0);
      c_round_trip(&a, 64, 600);
      ssmem_term();
    }), "free_set_size");
  }
}

TEST_CASE("a release_set_size whose set does not fit in memory is clamped or refused, never a short set") {
  // Issue 19.7: a release set holds 3 slots per entry: 3 * release_set_size wraps for
  // SIZE_MAX / 3 + 1 (a set of 2 slots, written 3 at a time), and its bytes wrap from 2^61 / 3.
  for (std::size_t rs : {std::size_t{1} << 40, size_max / 3 + 1, (size_max >> 3) + 1, size_max}) {
    CAPTURE(rs);
    expect_refused(run_child([rs] { refusal_aborts([rs] {
      static int deleted = 0;
      {
        ssmem::domain d;
        ssmem::thread_scope t(d);
        ssmem::options o;
        o.release_set_size = rs;
        ssmem::allocator a(t, 64, o);
        for (int i = 0; i < 200; ++i) {
          void* p = std::malloc(48);
          fill(p, 48, static_cast<std::uint64_t>(i));
          if (i % 2 == 0) {
            a.release(p);
          } else {
            a.retire(p, [](void* obj, void*) { ++deleted; std::free(obj); }, nullptr);
          }
        }
        churn(a, 5000);  // free steps: stamps and give-backs
      }
      if (deleted != 100) fail("not every retired object reached its deleter", static_cast<std::size_t>(deleted));
    }); }), "release_set_size");
  }
}

TEST_CASE("with a chunk_size of 1, chunks grow by doubling (the control of the next test)") {
  expect_clean(run_child([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::options o;
    o.chunk_size = 1;
    ssmem::allocator a(t, 64, o);
    for (int i = 0; i < 10000; ++i) (void)a.allocate();
    if (a.stats().chunks > 64) fail("more than 64 chunks for 10000 objects with doubling", a.stats().chunks);
  }));
}

TEST_CASE("a chunk_size of 0 still grows: never one chunk (one mmap, one page) per object") {
  // 0 doubled is 0: every chunk is as small as one object needs, so each 64-byte object costs
  // a mapping of its own (a system call and a 4 KiB page). Found by the API fuzzer (tests/fuzz:
  // a quadratic slowdown of the checked registry, one entry per chunk).
  expect_no_wrap(run_child([] {
    ssmem::domain d;
    ssmem::thread_scope t(d);
    ssmem::options o;
    o.chunk_size = 0;
    ssmem::allocator a(t, 64, o);
    for (int i = 0; i < 10000; ++i) (void)a.allocate();
    if (a.stats().chunks > 64) fail("one chunk per object with chunk_size 0", a.stats().chunks);
  }), "chunk");
  expect_no_wrap(run_child([] {  // the C API's `size` of ssmem_alloc_init
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, 0, 0);
    for (int i = 0; i < 10000; ++i) {
      if (ssmem_alloc(&a, 64) == nullptr) fail("NULL");
    }
    std::size_t chunks = c_chunks(&a);
    if (chunks > 64) fail("one chunk per object with ssmem_alloc_init(a, 0, id)", chunks);
    ssmem_term();
  }), "chunk");
}
