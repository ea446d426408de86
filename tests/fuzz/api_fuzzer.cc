// A libFuzzer target over the whole public API (issue 19): random sequences of C and C++ API
// calls on two threads, on the checked build (SSMEM_CHECKED=1) under ASan and UBSan, checked
// against a model of which objects are live -- what the program may touch.
//
// The program the fuzzer writes is always legal (the contracts of ssmem.h and ssmem.hpp), so
// every abort, sanitizer report or model mismatch is a finding. What the model checks:
//   - every live object carries a pattern (its first and last 64 bytes) that is checked when it
//     is freed, read or retired: a reuse while live, or an object handed out twice, breaks it;
//     a new object never overlaps a live one;
//   - I1, directly: a thread may keep reading an object it loaded while another thread frees
//     it, until its own next API call (its next possible version change); no allocator may
//     hand the object out, no deleter or ~T() may run on it, while the thread holds it, and its
//     pattern must stay intact (ASan reports a read of a collected, poisoned object first);
//   - an allocator hands out only objects freed into it or fresh ones; every retired object
//     reaches its deleter exactly once, and all of them by the end of the input;
//   - every allocator's statistics add up and match what the program did (nothing lost:
//     freed = pending + collected; the C API's are read back from ssmem_stats_print);
//   - the thread's record (registered, online) is what the calls made it;
//   - misuse that the checked build promises to catch aborts, in a fork()ed child, with the
//     message naming it (op `misuse`).
//
// Threads: the main thread (actor 0) and a worker (actor 1), driven by the same input in lock
// step: the main thread hands the worker one operation at a time and waits for it, so an input
// always runs the same way and a failing input reproduces. Objects move between the threads
// (one frees what the other allocated, loads what the other frees).
//
// Input format (tests/fuzz/make_corpus.py writes the same encoding): a sequence of operations,
// each an opcode byte followed by its argument bytes (missing bytes read as 0):
//   opcode byte: bits 0-5 the operation (modulo the number of operations), bit 7 the actor.
// The operations and their arguments are listed at `enum op` below.
//
// Known open bugs (issue 19) are steered around: the inputs that reach them are not generated
// unless SSMEM_FUZZ_KNOWN_BUGS names the bug (see `known_bugs`). SSMEM_FUZZ_TRACE=1 prints
// every operation. docs/sanitizers.md, "The API fuzzer", has the commands.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

static_assert(ssmem::detail::checked, "the fuzzer drives the checked build (SSMEM_CHECKED=1)");

// A request that ASan cannot serve returns NULL, as glibc's malloc does: the library's own
// handling of failed allocations is under test, not ASan's.
extern "C" const char* __asan_default_options() {
  // A smaller quarantine than the default 256 MiB keeps a long run's memory flat; objects freed
  // by the library (release, retire) still stay poisoned for tens of thousands of frees.
  return "allocator_may_return_null=1:quarantine_size_mb=64";
}

namespace {

// ---- reporting ---------------------------------------------------------------------------

bool trace = false;

[[noreturn, gnu::format(printf, 1, 2)]] void fail(const char* fmt, ...) {
  std::fprintf(stderr, "ssmem api_fuzzer: FAILED: ");
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

#define FZ_CHECK(cond, ...) \
  do {                      \
    if (!(cond)) fail(__VA_ARGS__); \
  } while (0)

[[gnu::format(printf, 1, 2)]] void note(const char* fmt, ...) {
  if (!trace) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fflush(stderr);
}

// ---- known open bugs ---------------------------------------------------------------------
// Inputs that reach an open bug are steered around it unless SSMEM_FUZZ_KNOWN_BUGS names it
// (comma-separated names, or "all"). When a bug is fixed, set `open` to false: the fuzzer
// then always reaches it (and the corpus entries of tests/fuzz/known_bugs/<name> move to
// tests/fuzz/regressions).
struct known_bug {
  const char* name;
  const char* what;
  bool open;
  bool enabled;  // from SSMEM_FUZZ_KNOWN_BUGS
};
known_bug known_bugs[] = {
    {"size_wrap",
     "19.1: a first ssmem_alloc of SIZE_MAX-14..SIZE_MAX (and an allocator of such a size) serves "
     "8-byte objects; a failed huge first ssmem_alloc fixes the object size, so every later size fails",
     false, false},
    {"option_overflow",
     "19.7: free_set_size, release_set_size, stamp_batch and stamp_backlog whose products wrap: sets "
     "shorter than their capacity (heap-buffer-overflow), thresholds wrapped to small numbers; a set "
     "too large for memory aborts at the first free (fixed: products saturate; set sizes above "
     "ssmem::max_set_size are refused by the APIs, tests/unit/size_overflow_test, so the fuzzer "
     "draws only the stamp_batch and stamp_backlog values)",
     false, false},
    {"chunk_size_zero",
     "a chunk_size of 0 (ssmem_alloc_init(a, 0, id)) never grows, 0 doubled being 0: one chunk, "
     "one mmap and one page per object, and the checked registry's sorted chunk table makes every "
     "allocation cost a memmove of all of it (quadratic)",
     false, false},
};
enum bug_id { bug_size_wrap = 0, bug_option_overflow = 1, bug_chunk_size_zero = 2 };
bool reach(bug_id b) { return !known_bugs[b].open || known_bugs[b].enabled; }

// ---- input -------------------------------------------------------------------------------

struct reader {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
  bool more() const { return at < size; }
  std::uint8_t u8() { return at < size ? data[at++] : 0; }
  std::uint16_t u16() {
    std::uint16_t lo = u8();
    return static_cast<std::uint16_t>(lo | (u8() << 8));
  }
};

// How many objects one operation handles: 1-8 mostly, up to 4096 (batches of free sets).
std::size_t count_of(std::uint8_t b) {
  if (b < 128) return 1 + b % 8;
  if (b < 240) return static_cast<std::size_t>(b - 127) * 8;
  return static_cast<std::size_t>(b - 239) * 256;
}

constexpr std::size_t size_max = SIZE_MAX;

// Object sizes a program asks for (first ssmem_alloc, allocator construction).
std::size_t object_size_of(std::uint8_t b, bool first_c_alloc) {
  static const std::size_t table[] = {0,  1,  7,   8,   9,   15,  16,   17,   24,    31,   32,
                                      48, 64, 100, 128, 200, 256, 1000, 4096, 65536, 12345};
  constexpr std::size_t n = sizeof table / sizeof table[0];
  if (b < 200) return table[b % n];
  if (b < 224) return 8 * (b - 199);  // 8..200 in steps of 8
  // Sizes that no system maps: a C++ allocator of such a size throws std::bad_alloc; a first
  // ssmem_alloc of one returns NULL and fixes no size (19.1, fixed).
  static const std::size_t unmappable[] = {std::size_t{1} << 40, std::size_t{1} << 50,
                                           std::size_t{1} << 62, std::size_t{1} << 63,
                                           size_max - 64, size_max - 15};
  if (b < 240) {
    if (first_c_alloc && !reach(bug_size_wrap)) return 64;
    return unmappable[b % 6];
  }
  // SIZE_MAX-15..SIZE_MAX: the rounding used to wrap (19.1, fixed: unservable, NULL).
  if (!reach(bug_size_wrap)) return 64;
  return size_max - (b - 240);
}

std::size_t free_set_size_of(std::uint8_t b) {
  static const std::size_t table[] = {507, 0, 1, 2, 3, 4, 7, 8, 16, 31, 64, 100, 507, 1000, 4096, 65535};
  if (b >= 248 && known_bugs[bug_option_overflow].enabled) {  // refused now: only on request
    static const std::size_t huge[] = {std::size_t{1} << 40, (size_max >> 3) + 1, size_max / 2, size_max};
    return huge[b % 4];
  }
  return table[b % 16];
}
std::size_t release_set_size_of(std::uint8_t b) {
  static const std::size_t table[] = {64, 0, 1, 2, 3, 5, 64, 100, 1000, 4096};
  if (b >= 248 && known_bugs[bug_option_overflow].enabled) {  // refused now: only on request
    static const std::size_t huge[] = {std::size_t{1} << 40, size_max / 3 + 1, (size_max >> 3) + 1, size_max};
    return huge[b % 4];
  }
  return table[b % 10];
}
std::size_t stamp_batch_of(std::uint8_t b) {
  static const std::size_t table[] = {8, 0, 1, 2, 3, 8, 16, 100, std::size_t{1} << 20};
  if (b >= 248 && reach(bug_option_overflow)) {
    static const std::size_t huge[] = {(size_max >> 3) + 1, size_max / 2, size_max, size_max >> 1};
    return huge[b % 4];
  }
  return table[b % 9];
}
std::size_t stamp_backlog_of(std::uint8_t b) {
  static const std::size_t table[] = {4, 0, 1, 2, 4, 100, std::size_t{1} << 20, size_max};  // SIZE_MAX: never
  if (b >= 248 && reach(bug_option_overflow)) {
    static const std::size_t huge[] = {(size_max >> 6) + 1, size_max / 2, size_max - 1, std::size_t{1} << 62};
    return huge[b % 4];
  }
  return table[b % 8];
}
std::size_t chunk_size_of(std::uint8_t b) {
  static const std::size_t table[] = {std::size_t{32} << 20, 0, 1, 64, 4095, 4096, 16384, 65536,
                                      std::size_t{1} << 20, std::size_t{4} << 20, 100000};
  std::size_t c = table[b % 11];
  return c == 0 && !reach(bug_chunk_size_zero) ? 1 : c;
}
std::size_t chunk_size_max_of(std::uint8_t b) {
  static const std::size_t table[] = {std::size_t{4} << 30, 0, 4096, 65536, std::size_t{1} << 20,
                                      std::size_t{64} << 20};
  return table[b % 6];
}

// ---- object patterns ---------------------------------------------------------------------

std::uint64_t pattern_word(std::uint64_t seed, std::size_t i) {
  return (seed + 1) * 0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(i) * 0xD1B54A32D192ED03ull);
}
// The words written and checked: the first and last 64 bytes of the object.
template <class F>
void for_checked_words(std::size_t bytes, F f) {
  const std::size_t words = bytes / 8;
  const std::size_t head = std::min<std::size_t>(words, 8);
  for (std::size_t i = 0; i < head; ++i) f(i);
  for (std::size_t i = std::max(head, words >= 8 ? words - 8 : 0); i < words; ++i) f(i);
}
void write_pattern(void* p, std::size_t bytes, std::uint64_t seed) {
  auto* w = static_cast<std::uint64_t*>(p);
  for_checked_words(bytes, [&](std::size_t i) { w[i] = pattern_word(seed, i); });
}
// The first word that differs, or -1.
long pattern_damage(const void* p, std::size_t bytes, std::uint64_t seed) {
  auto* w = static_cast<const std::uint64_t*>(p);
  long bad = -1;
  for_checked_words(bytes, [&](std::size_t i) {
    if (bad < 0 && w[i] != pattern_word(seed, i)) bad = static_cast<long>(i);
  });
  return bad;
}
bool all_zero(const void* p, std::size_t bytes) {
  auto* w = static_cast<const std::uint64_t*>(p);
  bool zero = true;
  for_checked_words(bytes, [&](std::size_t i) { zero = zero && w[i] == 0; });
  return zero;
}
constexpr std::uint64_t scribbled = 0xdeaddeaddeaddeadull;
void scribble(void* p, std::size_t bytes) {
  auto* w = static_cast<std::uint64_t*>(p);
  for_checked_words(bytes, [&](std::size_t i) { w[i] = scribbled; });
}
long scribble_damage(const void* p, std::size_t bytes) {
  auto* w = static_cast<const std::uint64_t*>(p);
  long bad = -1;
  for_checked_words(bytes, [&](std::size_t i) {
    if (bad < 0 && w[i] != scribbled) bad = static_cast<long>(i);
  });
  return bad;
}

// ---- the model ---------------------------------------------------------------------------

constexpr int home_malloc = -1;  // an object from malloc, adopted by ssmem_free
constexpr int no_pool = -1;
constexpr int actors = 2;
constexpr int c_slots = 3;
constexpr int cxx_slots = 2;
constexpr int pool_slots = 2;
constexpr int pool_types = 3;
constexpr std::size_t max_live = 40000;     // objects handed out at once
constexpr std::size_t max_mallocd = 4096;   // objects from malloc waiting to be released/retired
constexpr std::size_t graveyard_cap = 1 << 15;

// Pool object types: W words, the first is the seed.
struct pool_base;

enum class akind : std::uint8_t { c_api, cxx, pool };

struct alloc_m {
  int id = 0;
  akind kind = akind::c_api;
  int actor = 0;
  int slot = 0;         // c_api: the C slot; cxx/pool: the slot of its kind
  int scope_level = 0;  // cxx/pool: the scope it was built on
  int pool_type = no_pool;
  std::size_t obj_size = 0;  // 0 until fixed (C API)
  bool tiny_chunks = false;  // a chunk per object or so: few objects per operation (speed)
  bool unservable = false;   // a C++ allocator of a size no system maps
  bool zero = false;
  std::set<void*> in_sets;   // freed into it, not handed out again
  std::map<void*, std::uint64_t> pending_retire;  // pool: retired into it, ~T() not run yet
  // What its statistics must say (C++ only).
  std::uint64_t allocated = 0, freed = 0, released = 0, retired_own_done = 0;
  std::unique_ptr<ssmem::allocator> cxx;
  std::unique_ptr<pool_base> pool;
};

struct obj_m {
  void* p;
  std::size_t size;
  std::uint64_t seed;
  int home;       // allocator id, or home_malloc
  int pool_type;  // no_pool for raw objects
};

struct ref_m {
  enum content : std::uint8_t { pattern, pool_object, destroyed };
  void* p;
  std::size_t size;
  std::uint64_t seed;
  content what;  // pool_object: word 0 is the seed; destroyed: what ~T() left (destroy())
};

// A malloc'd object retired with a deleter.
struct ticket_m {
  void* p;
  std::size_t size;
  std::uint64_t seed;
  int alloc_id;
  bool done = false;
};

struct mallocd_m {
  void* p;
  std::size_t size;
  std::uint64_t seed;
};

struct scope_m {
  std::unique_ptr<ssmem::thread_scope> scope;
  bool restores_offline;
};

struct actor_m {
  int index = 0;
  alignas(64) ssmem_allocator_t c[c_slots];
  int c_alloc[c_slots] = {-1, -1, -1};
  int cxx_alloc[cxx_slots] = {-1, -1};
  int pool_alloc[pool_slots] = {-1, -1};
  bool c_registered = false;
  std::vector<scope_m> scopes;
  bool this_thread_used = false;  // worker only: ssmem::this_thread(), until the thread exits
  bool this_thread_restores = false;
  bool has_record = false;
  bool online = false;
  std::vector<ref_m> held;
};

// Objects handed out and not freed: random access by index, and their address ranges.
class live_set {
 public:
  std::size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  obj_m& at(std::size_t i) { return v_[i]; }
  obj_m* find(void* p) {
    auto it = index_.find(p);
    return it == index_.end() ? nullptr : &v_[it->second];
  }
  // The live object overlapping [p, p + size), or nullptr.
  const obj_m* overlapping(void* p, std::size_t size) const {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto it = ranges_.upper_bound(a + size - 1);
    if (it == ranges_.begin()) return nullptr;
    --it;
    if (it->first + it->second.size > a) return &it->second;
    return nullptr;
  }
  void add(const obj_m& o) {
    index_[o.p] = v_.size();
    v_.push_back(o);
    ranges_[reinterpret_cast<std::uintptr_t>(o.p)] = o;
  }
  obj_m remove(void* p) {
    auto it = index_.find(p);
    if (it == index_.end()) fail("model: %p is not live", p);
    std::size_t i = it->second;
    obj_m o = v_[i];
    index_.erase(it);
    if (i + 1 != v_.size()) {
      v_[i] = v_.back();
      index_[v_[i].p] = i;
    }
    v_.pop_back();
    ranges_.erase(reinterpret_cast<std::uintptr_t>(o.p));
    return o;
  }
  void clear() {
    v_.clear();
    index_.clear();
    ranges_.clear();
  }

 private:
  std::vector<obj_m> v_;
  std::unordered_map<void*, std::size_t> index_;
  std::map<std::uintptr_t, obj_m> ranges_;
};

struct model {
  actor_m actor[actors];
  std::map<int, alloc_m> allocs;        // live allocators by id
  int next_alloc_id = 1;
  std::uint64_t next_seed = 1;
  live_set live;
  std::unordered_map<void*, int> home_of;  // every object handed out or adopted: its home
  std::vector<mallocd_m> mallocd;          // from malloc, shared, not yet released or retired
  std::map<std::uint64_t, ticket_m> tickets;
  std::unordered_map<void*, std::uint64_t> waiting_ticket;  // a retired object: its ticket
  std::uint64_t next_ticket = 1;
  void* expect_dtor = nullptr;  // pool destroy(): the ~T() that must run now
  void* last_ctor = nullptr;    // pool create(): the object being constructed
};

model M;
std::vector<void*> graveyard;  // adopted objects left in a terminated allocator's set: never freed
std::size_t graveyard_bytes = 0;

alloc_m& alloc_of(int id) {
  auto it = M.allocs.find(id);
  if (it == M.allocs.end()) fail("model: no allocator %d", id);
  return it->second;
}

// I1, directly: no thread may still hold what is handed out, destroyed or given back now.
void check_not_held(const void* p, std::size_t size, const char* what) {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  for (const actor_m& x : M.actor) {
    for (const ref_m& r : x.held) {
      auto b = reinterpret_cast<std::uintptr_t>(r.p);
      if (a < b + r.size && b < a + size) {
        fail("%s %p (%zu bytes) while thread %d still holds %p, loaded before its free and "
             "before its own next call (I1)", what, p, size, x.index, r.p);
      }
    }
  }
}

void check_record(actor_m& x) {
  ssmem::record* r = ssmem::detail::default_record_of_this_thread();
  FZ_CHECK((r != nullptr) == x.has_record, "thread %d: the library says %s, the calls made it %s",
           x.index, r ? "registered" : "not registered", x.has_record ? "registered" : "not registered");
  if (r != nullptr) {
    FZ_CHECK(r->is_online() == x.online, "thread %d: the library says %s, the calls made it %s", x.index,
             r->is_online() ? "online" : "offline", x.online ? "online" : "offline");
  }
}

// ---- pool objects ------------------------------------------------------------------------

void on_pool_ctor(void* self, std::size_t bytes, std::uint64_t seed) {
  M.last_ctor = self;
  write_pattern(self, bytes, seed);
}

// ~T(): from destroy() now, or from a retire's deleter after the grace period.
void on_pool_dtor(void* self, std::size_t bytes, std::uint64_t seed) {
  if (M.expect_dtor == self) {
    M.expect_dtor = nullptr;
  } else {
    // A retire's deleter: the object must be waiting in a pool's retire queue.
    alloc_m* owner = nullptr;
    for (auto& [id, a] : M.allocs) {
      if (a.kind == akind::pool && a.pending_retire.count(self) != 0) owner = &a;
    }
    FZ_CHECK(owner != nullptr, "~T() ran for %p, which is neither being destroyed nor retired", self);
    check_not_held(self, bytes, "~T() of a retired object ran on");
    FZ_CHECK(owner->pending_retire[self] == seed, "~T() of %p: the object changed while retired", self);
    owner->pending_retire.erase(self);
    owner->in_sets.insert(self);  // reuse_retired
    ++owner->retired_own_done;
  }
  long bad = pattern_damage(self, bytes, seed);
  FZ_CHECK(bad < 0, "~T() of %p: word %ld of the object changed while it was live", self, bad);
  scribble(self, bytes);
}

template <std::size_t W>
struct pobj {
  std::uint64_t seed;
  std::uint64_t words[W - 1];
  pobj(std::uint64_t s, bool throws) {
    M.last_ctor = this;
    if (throws) throw std::runtime_error("pobj");
    on_pool_ctor(this, sizeof *this, s);
    seed = s;  // word 0 is the seed itself
  }
  ~pobj() {
    std::uint64_t s = seed;
    seed = pattern_word(s, 0);  // on_pool_dtor checks every word against the pattern
    on_pool_dtor(this, sizeof *this, s);
  }
};

struct pool_base {
  virtual ~pool_base() = default;
  virtual void* create(std::uint64_t seed, bool throws) = 0;
  virtual void destroy(void* p) = 0;
  virtual void retire(void* p) = 0;
  virtual ssmem::allocator_stats stats() const = 0;
};

template <std::size_t W>
struct pool_of final : pool_base {
  pool_of(ssmem::thread_scope& s, const ssmem::options& o) : pool(s, o) {}
  void* create(std::uint64_t seed, bool throws) override { return pool.create(seed, throws); }
  void destroy(void* p) override { pool.destroy(static_cast<pobj<W>*>(p)); }
  void retire(void* p) override { pool.retire(static_cast<pobj<W>*>(p)); }
  ssmem::allocator_stats stats() const override { return pool.stats(); }
  ssmem::object_pool<pobj<W>> pool;
};

constexpr std::size_t pool_words[pool_types] = {2, 3, 8};
std::size_t pool_object_size(int type) { return pool_words[type] * 8; }

std::unique_ptr<pool_base> make_pool(int type, ssmem::thread_scope& s, const ssmem::options& o) {
  switch (type) {
    case 0: return std::make_unique<pool_of<2>>(s, o);
    case 1: return std::make_unique<pool_of<3>>(s, o);
    default: return std::make_unique<pool_of<8>>(s, o);
  }
}

// A pool object's pattern: word 0 is the seed itself, the rest as write_pattern.
long pool_damage(const void* p, std::size_t bytes, std::uint64_t seed) {
  auto* w = static_cast<const std::uint64_t*>(p);
  if (w[0] != seed) return 0;
  long bad = -1;
  for_checked_words(bytes, [&](std::size_t i) {
    if (i != 0 && bad < 0 && w[i] != pattern_word(seed, i)) bad = static_cast<long>(i);
  });
  return bad;
}
long damage(const obj_m& o) {
  return o.pool_type == no_pool ? pattern_damage(o.p, o.size, o.seed) : pool_damage(o.p, o.size, o.seed);
}

// ---- statistics (C++ allocators and pools, on the owner thread) ---------------------------

// A C allocator's counters, read back from ssmem_stats_print's first line (the C API has no
// other way to them): stdout is a temporary file (LLVMFuzzerInitialize).
ssmem::allocator_stats c_stats(ssmem_allocator_t* c) {
  std::fflush(stdout);
  if (ftruncate(1, 0) != 0 || lseek(1, 0, SEEK_SET) != 0) fail("cannot rewind stdout");
  ssmem_stats_print(c);
  std::fflush(stdout);
  char line[1024];
  ssize_t n = pread(1, line, sizeof line - 1, 0);
  line[n > 0 ? n : 0] = '\0';
  ssmem::allocator_stats s;
  unsigned long long allocated, reused, freed, collected, released, returned;
  int got = std::sscanf(line,
                        "ssmem allocator: object %zu B, reserved %zu B in %zu chunk(s); allocated %llu "
                        "(reused %llu), freed %llu, collected %llu; pending %zu object(s) in %zu stamped "
                        "set(s) + filling, reusable %zu; released %llu, returned %llu, release pending %zu",
                        &s.object_size, &s.bytes_reserved, &s.chunks, &allocated, &reused, &freed, &collected,
                        &s.pending, &s.pending_sets, &s.reusable, &released, &returned, &s.release_pending);
  FZ_CHECK(got == 13, "ssmem_stats_print: unexpected line: %s", line);
  s.allocated = allocated;
  s.reused = reused;
  s.freed = freed;
  s.collected = collected;
  s.released = released;
  s.returned = returned;
  return s;
}

// The allocator's statistics add up and agree with what the program did. C allocators only
// when `c_too` (reading them back costs a print).
void check_stats(alloc_m& a, bool c_too = false) {
  if (a.kind == akind::c_api && !c_too) return;
  ssmem::allocator_stats s = a.kind == akind::cxx    ? a.cxx->stats()
                             : a.kind == akind::pool ? a.pool->stats()
                                                     : c_stats(&M.actor[a.actor].c[a.slot]);
  if (c_too) {
    note("  allocator %d: allocated %llu, freed %llu, pending %zu, collected %llu, released %llu, returned %llu\n",
         a.id, (unsigned long long)s.allocated, (unsigned long long)s.freed, s.pending,
         (unsigned long long)s.collected, (unsigned long long)s.released, (unsigned long long)s.returned);
  }
  FZ_CHECK(s.allocated == a.allocated, "allocator %d: stats say %llu allocated, the program got %llu", a.id,
           (unsigned long long)s.allocated, (unsigned long long)a.allocated);
  FZ_CHECK(s.freed == a.freed, "allocator %d: stats say %llu freed, the program freed %llu", a.id,
           (unsigned long long)s.freed, (unsigned long long)a.freed);
  FZ_CHECK(s.released == a.released, "allocator %d: stats say %llu released, the program released %llu",
           a.id, (unsigned long long)s.released, (unsigned long long)a.released);
  const std::uint64_t in = s.freed + (a.kind == akind::pool ? s.returned : 0);
  FZ_CHECK(in == s.pending + s.collected,
           "allocator %d: objects lost: %llu freed (and retired-then-reused), %zu pending + %llu collected",
           a.id, (unsigned long long)in, s.pending, (unsigned long long)s.collected);
  FZ_CHECK(s.reusable == s.collected - s.reused, "allocator %d: reusable %zu != collected - reused", a.id,
           s.reusable);
  FZ_CHECK(s.release_pending == s.released - s.returned, "allocator %d: release pending %zu != released - returned",
           a.id, s.release_pending);
  if (a.kind == akind::pool) {
    FZ_CHECK(s.returned == a.retired_own_done, "pool %d: stats say %llu retired objects destroyed, ~T() ran %llu",
             a.id, (unsigned long long)s.returned, (unsigned long long)a.retired_own_done);
  }
}

// ---- handing out and taking back ---------------------------------------------------------

// An allocator returned `p` for an object of `size` bytes.
void handed_out(alloc_m& a, void* p, std::size_t size, int pool_type, std::uint64_t seed, bool pattern) {
  FZ_CHECK((reinterpret_cast<std::uintptr_t>(p) & 7) == 0, "allocator %d handed out a misaligned %p", a.id, p);
  check_not_held(p, size, "handed out");
  if (const obj_m* o = M.live.overlapping(p, size); o != nullptr) {
    fail("allocator %d handed out %p (%zu bytes), overlapping the live object %p (%zu bytes)", a.id, p, size,
         o->p, o->size);
  }
  int home = a.id;
  if (auto it = M.home_of.find(p); it != M.home_of.end()) {
    home = it->second;
    FZ_CHECK(a.in_sets.erase(p) == 1, "allocator %d handed out %p again, which was not freed into it", a.id, p);
  } else {
    M.home_of[p] = home;  // carved from one of its chunks
  }
  if (a.zero && pattern) FZ_CHECK(all_zero(p, size), "allocator %d (zero_memory) handed out %p not zeroed", a.id, p);
  if (pattern) write_pattern(p, size, seed);
  M.live.add(obj_m{p, size, seed, home, pool_type});
  ++a.allocated;
}

// Allocator `a` takes back the live object `p` (freed or destroyed into it).
void taken_back(alloc_m& a, void* p) {
  obj_m* o = M.live.find(p);
  if (o == nullptr) fail("model: freeing %p, not live", p);
  long bad = damage(*o);
  FZ_CHECK(bad < 0, "%p: word %ld changed while the object was live (handed out twice, or reused while live)",
           p, bad);
  M.live.remove(p);
  a.in_sets.insert(p);
  ++a.freed;
}

// ---- allocator teardown: which allocators may end now ------------------------------------

// The allocators in `group` may end together: no other allocator holds one of their objects
// in a free set (it would hand it out after the memory is gone), nor a retired pool object of
// theirs (its ~T() would run on unmapped memory).
bool may_end(const std::set<int>& group) {
  for (auto& [id, a] : M.allocs) {
    if (group.count(id) != 0) continue;
    for (void* p : a.in_sets) {
      auto it = M.home_of.find(p);
      if (it != M.home_of.end() && group.count(it->second) != 0) return false;
    }
    for (auto& [p, seed] : a.pending_retire) {
      auto it = M.home_of.find(p);
      if (it != M.home_of.end() && group.count(it->second) != 0) return false;
    }
  }
  return true;
}

// The model's side of ending allocator `id` (called after the library ended it): its objects
// are no longer the program's to touch, its chunks are gone.
void forget(int id) {
  alloc_m& a = alloc_of(id);
  FZ_CHECK(a.pending_retire.empty(), "allocator %d ended with %zu retired objects whose ~T() never ran", id,
           a.pending_retire.size());
  for (void* p : a.in_sets) {
    auto it = M.home_of.find(p);
    if (it != M.home_of.end() && it->second == home_malloc) {
      // Adopted, now in no set: the library forgot it, and the program takes its memory back
      // (legal since the checked registry forgets such objects at term; malloc may hand the
      // address out again, and a later adoption of it must not look like a double free).
      std::free(p);
      M.home_of.erase(it);
    }
  }
  std::vector<void*> drop;
  for (std::size_t i = 0; i < M.live.size(); ++i) {
    if (M.live.at(i).home == id) drop.push_back(M.live.at(i).p);
  }
  for (void* p : drop) M.live.remove(p);
  for (auto it = M.home_of.begin(); it != M.home_of.end();) {
    it = it->second == id ? M.home_of.erase(it) : std::next(it);
  }
  for (auto& [t, k] : M.tickets) {
    FZ_CHECK(k.alloc_id != id || k.done, "allocator %d ended without calling the deleter of %p", id, k.p);
  }
  M.allocs.erase(id);
}

// Threads stop using what an ending allocator gives up (its objects, and what it gives back to
// the system at once): the program would not read them any more.
void drop_refs_into(const std::set<int>& group) {
  for (actor_m& x : M.actor) {
    x.held.erase(std::remove_if(x.held.begin(), x.held.end(), [&](const ref_m& r) {
                   auto it = M.home_of.find(r.p);
                   if (it != M.home_of.end() && group.count(it->second) != 0) return true;
                   for (int id : group) {
                     if (alloc_of(id).pending_retire.count(r.p) != 0) return true;
                   }
                   return false;
                 }),
                 x.held.end());
  }
  // Released/retired malloc'd objects of the group are given back at once: nobody may hold them.
  for (actor_m& x : M.actor) {
    x.held.erase(std::remove_if(x.held.begin(), x.held.end(), [&](const ref_m& r) {
                   if (M.live.find(r.p) != nullptr) return false;
                   auto it = M.home_of.find(r.p);
                   if (it != M.home_of.end()) return false;  // in some set: memory stays
                   for (const mallocd_m& m : M.mallocd) {
                     if (m.p == r.p) return false;
                   }
                   return true;  // released or retired: may be given back by the group now
                 }),
                 x.held.end());
  }
}

// ---- the worker thread -------------------------------------------------------------------

// Code whose branch counts depend on timing (waiting for the other thread, reading a child's
// pipe) is left out of libFuzzer's coverage: with it, the same seed gave another run.
#define FZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))

class worker {
 public:
  // Runs f on the worker thread (started if needed) and waits for it.
  FZ_NO_COVERAGE void run(const std::function<void()>& f) {
    if (!thread_.joinable()) {
      quit_ = false;
      thread_ = std::thread([this] { loop(); });
    }
    std::unique_lock<std::mutex> l(m_);
    job_ = &f;
    cv_.notify_all();
    cv_.wait(l, [this] { return job_ == nullptr; });
  }
  // Ends the worker thread (its thread-exit hooks run).
  FZ_NO_COVERAGE void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> l(m_);
      quit_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  bool running() const { return thread_.joinable(); }

 private:
  FZ_NO_COVERAGE void loop() {
    std::unique_lock<std::mutex> l(m_);
    for (;;) {
      cv_.wait(l, [this] { return job_ != nullptr || quit_; });
      if (job_ == nullptr) return;
      (*job_)();
      job_ = nullptr;
      cv_.notify_all();
    }
  }
  std::thread thread_;
  std::mutex m_;
  std::condition_variable cv_;
  const std::function<void()>* job_ = nullptr;
  bool quit_ = false;
};

worker the_worker;

void on_thread(int actor, const std::function<void()>& f) {
  if (actor == 0) {
    f();
  } else {
    the_worker.run(f);
  }
}

// ---- registration model ------------------------------------------------------------------

void c_registers(actor_m& x) {
  if (!x.has_record) {
    x.has_record = true;
    x.online = true;
  }
  x.c_registered = true;
}

void c_unregisters(actor_m& x) {
  x.c_registered = false;
  if (x.scopes.empty() && !x.this_thread_used) {
    x.has_record = false;
    x.online = false;
  }
}

int c_live_count(const actor_m& x) {
  int n = 0;
  for (int s = 0; s < c_slots; ++s) n += x.c_alloc[s] >= 0;
  return n;
}

// ---- operations --------------------------------------------------------------------------

enum op : int {
  op_c_init,        // slot chunk fs id form: ssmem_alloc_init / _fs_size / _ts (form % 6)
  op_c_alloc,       // slot size count: ssmem_alloc (the first call fixes the size)
  op_free,          // obj:u16 target count: live objects into one of the actor's allocators
  op_free_foreign,  // target count: malloc'd objects adopted through ssmem_free
  op_release,       // target count: malloc'd (or adopted, live) objects, ssmem_release/release
  op_retire,        // target count form: malloc'd objects retired with a deleter
  op_c_term_alloc,  // slot: ssmem_alloc_term
  op_c_term,        // ssmem_term
  op_c_gc_init,     // id: ssmem_gc_thread_init
  op_ts_next,       // form: ssmem_ts_next, ssmem::safe_to_reclaim, scope.safe_to_reclaim
  op_offline,       // form: ssmem_thread_offline, ssmem::offline, scope.offline
  op_online,        // form: likewise, online
  op_scope_push,    // a default-domain thread_scope
  op_scope_pop,     // ends the innermost scope (and the allocators built on it)
  op_cxx_new,       // slot size options(7): ssmem::allocator
  op_cxx_delete,    // slot
  op_cxx_allocate,  // slot count
  op_pool_new,      // slot type options(7): ssmem::object_pool<T>
  op_pool_delete,   // slot
  op_pool_create,   // slot count throw
  op_pool_destroy,  // obj:u16 target count
  op_pool_retire,   // obj:u16 target count
  op_load_refs,     // obj:u16 count: the actor loads objects it may read until its next call
  op_read_refs,     // the actor reads what it holds
  op_check_all,     // every live object's pattern
  op_misuse,        // kind arg: a misuse in a fork()ed child must abort naming it
  op_worker_exit,   // form: the worker thread ends (and a new one starts with its next op)
  op_this_thread,   // the worker's ssmem::this_thread() scope (until it exits)
  op_malloc,        // count size: malloc'd objects, shared (for release, retire, load)
  op_nulls,         // every documented no-op on a null object (free, release, retire, destroy)
  op_debug,         // the debug and statistics printers (stdout goes to /dev/null)
  op_count
};

const char* const op_names[op_count] = {
    "c_init",       "c_alloc",     "free",        "free_foreign", "release",     "retire",
    "c_term_alloc", "c_term",      "c_gc_init",   "ts_next",      "offline",     "online",
    "scope_push",   "scope_pop",   "cxx_new",     "cxx_delete",   "cxx_allocate", "pool_new",
    "pool_delete",  "pool_create", "pool_destroy", "pool_retire", "load_refs",   "read_refs",
    "check_all",    "misuse",      "worker_exit", "this_thread",  "malloc",      "nulls",
    "debug"};

ssmem::options options_from(reader& in) {
  ssmem::options o;
  o.free_set_size = free_set_size_of(in.u8());
  o.release_set_size = release_set_size_of(in.u8());
  o.stamp_batch = stamp_batch_of(in.u8());
  o.stamp_backlog = stamp_backlog_of(in.u8());
  o.chunk_size = chunk_size_of(in.u8());
  o.chunk_size_max = chunk_size_max_of(in.u8());
  std::uint8_t flags = in.u8();
  o.chunk_doubling = (flags & 1) == 0;
  o.zero_memory = (flags & 2) != 0;
  o.huge_pages = (flags & 4) != 0;
  o.bump_on = static_cast<ssmem::ts_policy>((flags >> 3) % 4);
  return o;
}

// The actor's allocators (C and C++, not pools) whose object size is `size`.
std::vector<int> raw_targets(const actor_m& x, std::size_t size) {
  std::vector<int> t;
  for (int s = 0; s < c_slots; ++s) {
    if (x.c_alloc[s] >= 0 && alloc_of(x.c_alloc[s]).obj_size == size) t.push_back(x.c_alloc[s]);
  }
  for (int s = 0; s < cxx_slots; ++s) {
    if (x.cxx_alloc[s] >= 0 && alloc_of(x.cxx_alloc[s]).obj_size == size) t.push_back(x.cxx_alloc[s]);
  }
  return t;
}
// The actor's allocators that release and retire (C and C++, any size).
std::vector<int> release_targets(const actor_m& x) {
  std::vector<int> t;
  for (int s = 0; s < c_slots; ++s) {
    if (x.c_alloc[s] >= 0) t.push_back(x.c_alloc[s]);
  }
  for (int s = 0; s < cxx_slots; ++s) {
    if (x.cxx_alloc[s] >= 0) t.push_back(x.cxx_alloc[s]);
  }
  return t;
}

void raw_free(alloc_m& a, void* p) {
  if (a.kind == akind::c_api) {
    ssmem_free(&M.actor[a.actor].c[a.slot], p);
  } else {
    a.cxx->deallocate(p);
  }
}

// Deleters of retired malloc'd objects (every form ends here).
void on_deleter(std::uint64_t ticket, void* obj) {
  auto it = M.tickets.find(ticket);
  FZ_CHECK(it != M.tickets.end(), "a deleter ran for an unknown retire (ticket %llu)", (unsigned long long)ticket);
  ticket_m& k = it->second;
  FZ_CHECK(!k.done, "the deleter of %p ran twice", k.p);
  FZ_CHECK(obj == k.p, "a deleter got %p, retired as %p", obj, k.p);
  check_not_held(obj, k.size, "a deleter ran on");
  long bad = pattern_damage(obj, k.size, k.seed);
  FZ_CHECK(bad < 0, "the deleter of %p: word %ld changed while it waited", obj, bad);
  k.done = true;
  M.waiting_ticket.erase(obj);
  scribble(obj, k.size);
  std::free(obj);
}
void c_deleter(void* obj, void* context) {
  on_deleter(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(context)), obj);
}

mallocd_m take_mallocd(std::size_t size_hint) {
  if (!M.mallocd.empty()) {
    mallocd_m m = M.mallocd.back();
    M.mallocd.pop_back();
    return m;
  }
  std::size_t size = std::max<std::size_t>(16, size_hint & ~std::size_t{7});
  void* p = std::malloc(size);
  if (p == nullptr) fail("malloc(%zu) failed", size);
  std::uint64_t seed = M.next_seed++;
  write_pattern(p, size, seed);
  return mallocd_m{p, size, seed};
}

// ---- fork()ed misuse ----------------------------------------------------------------------

struct child_result {
  bool aborted;
  std::string err;
};

FZ_NO_COVERAGE child_result in_child(const std::function<void()>& misuse) {
  int fds[2];
  if (pipe(fds) != 0) fail("pipe");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL);  // die by the abort, not through libFuzzer's crash handler
    dup2(fds[1], 2);
    close(fds[0]);
    misuse();
    std::fflush(stderr);
    _exit(0);
  }
  close(fds[1]);
  child_result r{false, {}};
  char buf[512];
  for (;;) {  // libFuzzer's timeout alarm may interrupt the reads and the wait (EINTR)
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      r.err.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) fail("waitpid: %s", std::strerror(errno));
  }
  r.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return r;
}

void expect_caught(const char* misuse, const std::function<void()>& body, const char* words) {
  note("  misuse: %s\n", misuse);
  child_result r = in_child(body);
  if (!r.aborted || r.err.find(words) == std::string::npos) {
    fail("misuse not caught: %s: expected an abort naming '%s'; the child %s, stderr: %s", misuse, words,
         r.aborted ? "aborted" : "did not abort", r.err.c_str());
  }
}

// Runs on the main thread (only it exists in the child).
void do_misuse(std::uint8_t kind, std::uint8_t arg) {
  actor_m& x = M.actor[0];
  auto live_c = [&](int k) -> int {  // a live C allocator slot of the main thread, or -1
    for (int i = 0; i < c_slots; ++i) {
      int s = (k + i) % c_slots;
      if (x.c_alloc[s] >= 0) return s;
    }
    return -1;
  };
  auto fixed_c = [&](int k) -> int {
    for (int i = 0; i < c_slots; ++i) {
      int s = (k + i) % c_slots;
      if (x.c_alloc[s] >= 0 && alloc_of(x.c_alloc[s]).obj_size != 0) return s;
    }
    return -1;
  };
  auto raw_live = [&](int k) -> obj_m* {  // a live chunk object (not adopted), or nullptr
    for (std::size_t i = 0; i < M.live.size(); ++i) {
      obj_m& o = M.live.at((k + i) % M.live.size());
      if (o.pool_type == no_pool && o.home != home_malloc) return &o;
    }
    return nullptr;
  };
  switch (kind % 13) {
    case 0: {  // double free: an object already in some allocator's set, freed again
      int s = fixed_c(arg);
      if (s < 0) return;
      alloc_m& a = alloc_of(x.c_alloc[s]);
      for (auto& [id, b] : M.allocs) {
        for (void* p : b.in_sets) {
          if (b.obj_size == a.obj_size && b.kind != akind::pool) {
            expect_caught("double free", [&] { ssmem_free(&x.c[s], p); }, "double free");
            return;
          }
        }
      }
      return;
    }
    case 1: {  // a live object freed into an allocator of another size
      int s = fixed_c(arg);
      obj_m* o = raw_live(arg);
      if (s < 0 || o == nullptr || o->size == alloc_of(x.c_alloc[s]).obj_size) return;
      void* p = o->p;
      expect_caught("free into an allocator of another object size", [&] { ssmem_free(&x.c[s], p); },
                    "wrong size");
      return;
    }
    case 2: {  // an interior pointer, into an allocator of the object's size
      obj_m* o = raw_live(arg);
      if (o == nullptr || o->size < 16) return;
      int s = -1;
      for (int k = 0; k < c_slots; ++k) {
        if (x.c_alloc[k] >= 0 && alloc_of(x.c_alloc[k]).obj_size == o->size) s = k;
      }
      if (s < 0) return;
      void* p = static_cast<char*>(o->p) + 8;
      expect_caught("free of an interior pointer", [&] { ssmem_free(&x.c[s], p); }, "foreign pointer");
      return;
    }
    case 3: {  // ssmem_release of an ssmem object
      int s = live_c(arg);
      obj_m* o = raw_live(arg);
      if (s < 0 || o == nullptr) return;
      void* p = o->p;
      expect_caught("ssmem_release of an object from ssmem_alloc", [&] { ssmem_release(&x.c[s], p); },
                    "release of an object that came from ssmem_alloc");
      return;
    }
    case 4: {  // ssmem_retire of an ssmem object
      int s = live_c(arg);
      obj_m* o = raw_live(arg);
      if (s < 0 || o == nullptr) return;
      void* p = o->p;
      expect_caught("ssmem_retire of an object from ssmem_alloc",
                    [&] { ssmem_retire(&x.c[s], p, c_deleter, nullptr); },
                    "release of an object that came from ssmem_alloc");
      return;
    }
    case 5: {  // a size larger than the allocator's objects
      int s = fixed_c(arg);
      if (s < 0) return;
      // Just above the object size, or far above it (SIZE_MAX: no rounding may wrap it to a fit).
      std::size_t size = arg % 2 == 0 ? alloc_of(x.c_alloc[s]).obj_size + 1 + arg : size_max - arg / 2;
      expect_caught("ssmem_alloc larger than the object size", [&] { (void)ssmem_alloc(&x.c[s], size); },
                    "wrong size: larger");
      return;
    }
    case 6: {  // an allocator used before init or after term
      for (int s = 0; s < c_slots; ++s) {
        if (x.c_alloc[s] < 0) {
          expect_caught("ssmem_alloc on an allocator not initialised (or terminated)",
                        [&] { (void)ssmem_alloc(&x.c[s], 8); }, "used before ssmem_alloc_init");
          return;
        }
      }
      return;
    }
    case 7: {  // initialised twice
      int s = live_c(arg);
      if (s < 0) return;
      expect_caught("ssmem_alloc_init of a live allocator", [&] { ssmem_alloc_init(&x.c[s], 4096, 0); },
                    "initialised twice");
      return;
    }
    case 8: {  // the timestamp of an unregistered thread
      if (x.has_record) return;
      expect_caught("ssmem_ts_next of an unregistered thread", [] { ssmem_ts_next(); }, "thread not registered");
      return;
    }
    case 9: {  // offline without a registration
      if (x.has_record) return;
      expect_caught("ssmem_thread_offline of an unregistered thread", [] { ssmem_thread_offline(); },
                    "thread not registered");
      return;
    }
    case 10: {  // a pool object retired twice
      for (auto& [id, a] : M.allocs) {
        if (a.kind != akind::pool || a.actor != 0 || a.pending_retire.empty()) continue;
        void* p = a.pending_retire.begin()->first;
        alloc_m* pa = &a;
        expect_caught("object_pool::retire twice", [&] { pa->pool->retire(p); }, "double free");
        return;
      }
      return;
    }
    case 11: {  // scopes ended out of order
      expect_caught("thread_scope ended before the scope nested in it",
                    [] {
                      auto* outer = new ssmem::thread_scope;
                      auto* inner = new ssmem::thread_scope;
                      (void)inner;
                      delete outer;
                    },
                    "reverse order");
      return;
    }
    case 12: {  // another thread's allocator terminated
      actor_m& w = M.actor[1];
      for (int s = 0; s < c_slots; ++s) {
        if (w.c_alloc[s] >= 0) {
          expect_caught("ssmem_alloc_term of another thread's allocator", [&] { ssmem_alloc_term(&w.c[s]); },
                        "belongs to another thread");
          return;
        }
      }
      return;
    }
  }
}

// ---- one operation ----------------------------------------------------------------------

// Ends allocators `group` of actor `x` (on its thread): false if they may not end now.
bool end_allocators(actor_m& x, const std::set<int>& group) {
  if (!may_end(group)) return false;
  drop_refs_into(group);
  // Newest first: a pool may hold retired objects of older pools (see op_pool_retire).
  for (auto it = group.rbegin(); it != group.rend(); ++it) {
    alloc_m& a = alloc_of(*it);
    check_stats(a, true);  // nothing lost, up to the end
    switch (a.kind) {
      case akind::c_api:
        ssmem_alloc_term(&x.c[a.slot]);
        x.c_alloc[a.slot] = -1;
        if (c_live_count(x) == 0 && x.c_registered) c_unregisters(x);  // the last one deregisters
        break;
      case akind::cxx:
        a.cxx.reset();
        x.cxx_alloc[a.slot] = -1;
        break;
      case akind::pool:
        a.pool.reset();
        x.pool_alloc[a.slot] = -1;
        break;
    }
    forget(*it);
  }
  return true;
}

void pop_scope(actor_m& x) {
  scope_m& top = x.scopes.back();
  top.scope.reset();
  bool restores = top.restores_offline;
  x.scopes.pop_back();
  if (restores && x.online) x.online = false;
  if (x.scopes.empty() && !x.c_registered && !x.this_thread_used) {
    x.has_record = false;
    x.online = false;
  }
}

// The allocators built on the actor's scope at `level` or deeper.
std::set<int> built_on_scope(const actor_m& x, std::size_t level) {
  std::set<int> g;
  for (int s = 0; s < cxx_slots; ++s) {
    if (x.cxx_alloc[s] >= 0 && static_cast<std::size_t>(alloc_of(x.cxx_alloc[s]).scope_level) >= level) {
      g.insert(x.cxx_alloc[s]);
    }
  }
  for (int s = 0; s < pool_slots; ++s) {
    if (x.pool_alloc[s] >= 0 && static_cast<std::size_t>(alloc_of(x.pool_alloc[s]).scope_level) >= level) {
      g.insert(x.pool_alloc[s]);
    }
  }
  return g;
}

// Everything the actor holds ends: allocators, scopes, C registration. False if an allocator
// may not end yet (another thread's allocator holds its objects).
bool end_everything(actor_m& x) {
  std::set<int> group;
  for (auto& [id, a] : M.allocs) {
    if (a.actor == x.index) group.insert(id);
  }
  if (!end_allocators(x, group)) return false;
  while (!x.scopes.empty()) pop_scope(x);
  if (x.c_registered) {
    ssmem_term();
    c_unregisters(x);
  }
  return true;
}

void run_op(int actor, op code, reader& in) {
  actor_m& x = M.actor[actor];
  // Any call of the actor may move its version: it stops reading what it loaded before.
  if (code != op_load_refs && code != op_read_refs && code != op_check_all) x.held.clear();
  const bool online = x.has_record && x.online;
  switch (code) {
    case op_c_init: {
      int s = in.u8() % c_slots;
      std::size_t chunk = chunk_size_of(in.u8());
      std::size_t fs = free_set_size_of(in.u8());
      int id = (in.u8() % 4) * 2 + actor;  // even ids for the main thread, odd for the worker
      std::uint8_t form = in.u8() % 6;
      if (x.c_alloc[s] >= 0) return;  // initialising a live allocator twice is a misuse
      note("  ssmem_alloc_init slot %d chunk %zu fs %zu id %d form %d\n", s, chunk, fs, id, form);
      if (form == 0) {
        ssmem_alloc_init(&x.c[s], chunk, id);
        fs = SSMEM_GC_FREE_SET_SIZE;
      } else if (form == 1) {
        ssmem_alloc_init_fs_size(&x.c[s], chunk, fs, id);
      } else {
        ssmem_alloc_init_ts(&x.c[s], chunk, fs, id, form - 2);
      }
      c_registers(x);
      alloc_m a;
      a.id = M.next_alloc_id++;
      a.kind = akind::c_api;
      a.actor = actor;
      a.slot = s;
      a.tiny_chunks = chunk == 0;
      x.c_alloc[s] = a.id;
      M.allocs.emplace(a.id, std::move(a));
      return;
    }
    case op_c_alloc: {
      int s = in.u8() % c_slots;
      std::uint8_t sb = in.u8();
      std::size_t n = count_of(in.u8());
      if (x.c_alloc[s] < 0 || !online) return;
      alloc_m& a = alloc_of(x.c_alloc[s]);
      if (a.tiny_chunks) n = std::min<std::size_t>(n, 64);
      for (std::size_t i = 0; i < n && M.live.size() < max_live; ++i) {
        std::size_t size;
        bool first = a.obj_size == 0;
        if (first) {
          size = object_size_of(sb, true);
        } else {
          // Any size up to the object size is served an object of the allocator's size.
          std::size_t k = (sb + i) % 4;
          size = k == 0 ? a.obj_size : k == 1 ? 0 : k == 2 ? 1 : a.obj_size - (sb % (a.obj_size + 1));
        }
        const std::size_t expect = ssmem::normalize_object_size(size);
        const bool servable = size <= (std::size_t{1} << 36) && expect >= size;
        void* p = ssmem_alloc(&x.c[s], size);
        note("  ssmem_alloc slot %d size %zu -> %p\n", s, size, p);
        if (!servable) {
          FZ_CHECK(p == nullptr, "ssmem_alloc(%zu) served %p: a size no system maps (19.1)", size, p);
            continue;  // the allocator must be as usable as before: its size is still open
        }
        FZ_CHECK(p != nullptr, "ssmem_alloc(%zu) returned NULL (object size %zu)", size, a.obj_size);
        if (first) a.obj_size = expect;
        handed_out(a, p, a.obj_size, no_pool, M.next_seed++, true);
      }
      return;
    }
    case op_free: {
      std::uint16_t from = in.u16();
      std::uint8_t target = in.u8();
      std::size_t n = count_of(in.u8());
      if (!online || M.live.empty()) return;
      std::size_t i = from;
      std::size_t tries = std::min(M.live.size(), n * 4);
      for (std::size_t done = 0; done < n && tries-- > 0 && !M.live.empty(); ++i) {
        obj_m o = M.live.at(i % M.live.size());
        if (o.pool_type != no_pool) continue;
        std::vector<int> t = raw_targets(x, o.size);
        if (t.empty()) continue;
        alloc_m& a = alloc_of(t[target % t.size()]);
        note("  free %p into allocator %d\n", o.p, a.id);
        taken_back(a, o.p);
        raw_free(a, o.p);
        check_stats(a);
        ++done;
      }
      return;
    }
    case op_free_foreign: {
      std::uint8_t target = in.u8();
      std::size_t n = count_of(in.u8());
      if (!online || graveyard.size() >= graveyard_cap || graveyard_bytes >= (std::size_t{64} << 20)) return;
      std::vector<int> t;
      for (int id : release_targets(x)) {
        alloc_m& a = alloc_of(id);
        if (a.obj_size != 0 && a.obj_size <= 4096) t.push_back(id);
      }
      if (t.empty()) return;
      alloc_m& a = alloc_of(t[target % t.size()]);
      for (std::size_t i = 0; i < n; ++i) {
        void* p = std::malloc(a.obj_size);
        if (p == nullptr) fail("malloc failed");
        FZ_CHECK(M.home_of.count(p) == 0, "malloc returned %p, which ssmem still holds", p);
        note("  adopt %p into allocator %d\n", p, a.id);
        M.home_of[p] = home_malloc;
        a.in_sets.insert(p);
        ++a.freed;
        raw_free(a, p);
        check_stats(a);
      }
      return;
    }
    case op_release: {
      std::uint8_t target = in.u8();
      std::size_t n = count_of(in.u8());
      std::uint8_t sb = in.u8();
      std::vector<int> t = release_targets(x);
      if (!online || t.empty()) return;
      alloc_m& a = alloc_of(t[target % t.size()]);
      for (std::size_t i = 0; i < n; ++i) {
        void* p;
        // Now and then a live adopted object goes back to the system (it leaves ssmem).
        obj_m* adopted = nullptr;
        if ((sb + i) % 3 == 0) {
          for (std::size_t k = 0; k < M.live.size() && adopted == nullptr; ++k) {
            if (M.live.at(k).home == home_malloc) adopted = &M.live.at(k);
          }
        }
        if (adopted != nullptr) {
          p = adopted->p;
          long bad = damage(*adopted);
          FZ_CHECK(bad < 0, "%p: word %ld changed while live", p, bad);
          M.live.remove(p);
          M.home_of.erase(p);
        } else {
          p = take_mallocd(8 + sb * 4).p;
        }
        note("  release %p into allocator %d\n", p, a.id);
        ++a.released;
        if (a.kind == akind::c_api) {
          ssmem_release(&x.c[a.slot], p);
        } else {
          a.cxx->release(p);
        }
        check_stats(a);
      }
      return;
    }
    case op_retire: {
      std::uint8_t target = in.u8();
      std::size_t n = count_of(in.u8());
      std::uint8_t form = in.u8();
      std::vector<int> t = release_targets(x);
      if (!online || t.empty()) return;
      alloc_m& a = alloc_of(t[target % t.size()]);
      for (std::size_t i = 0; i < n; ++i) {
        mallocd_m m = take_mallocd(8 + form * 2);
        std::uint64_t id = M.next_ticket++;
        M.tickets[id] = ticket_m{m.p, m.size, m.seed, a.id, false};
        M.waiting_ticket[m.p] = id;
        ++a.released;
        int f = (form + static_cast<int>(i)) % 4;
        note("  retire %p into allocator %d (form %d, ticket %llu)\n", m.p, a.id, f, (unsigned long long)id);
        void* ctx = reinterpret_cast<void*>(static_cast<std::uintptr_t>(id));
        if (a.kind == akind::c_api) {
          if (f == 0) {
            M.tickets[id].done = true;  // a null deleter: released, free()d by the library
            M.waiting_ticket.erase(m.p);
            ssmem_retire(&x.c[a.slot], m.p, nullptr, nullptr);
          } else {
            ssmem_retire(&x.c[a.slot], m.p, c_deleter, ctx);
          }
        } else if (f == 0) {
          a.cxx->retire(m.p, c_deleter, ctx);
        } else if (f == 1) {
          // A stateful callable (moved into a heap box).
          auto* obj = static_cast<std::uint64_t*>(m.p);
          a.cxx->retire(obj, [id](std::uint64_t* q) noexcept { on_deleter(id, q); });
        } else if (f == 2) {
          // A stateless callable: the ticket travels in the model, keyed by the object.
          struct by_address {
            void operator()(std::uint64_t* q) const noexcept {
              auto it = M.waiting_ticket.find(q);
              if (it == M.waiting_ticket.end()) {
                fail("a stateless deleter ran for %p, which waits for no deleter", static_cast<void*>(q));
              }
              on_deleter(it->second, q);
            }
          };
          a.cxx->retire(static_cast<std::uint64_t*>(m.p), by_address{});
        } else {
          M.tickets[id].done = true;
          M.waiting_ticket.erase(m.p);
          a.cxx->retire(m.p, nullptr, nullptr);  // null deleter: as release()
        }
        check_stats(a);
      }
      return;
    }
    case op_c_term_alloc: {
      int s = in.u8() % c_slots;
      if (x.c_alloc[s] < 0) return;
      note("  ssmem_alloc_term slot %d (allocator %d)\n", s, x.c_alloc[s]);
      end_allocators(x, {x.c_alloc[s]});
      return;
    }
    case op_c_term: {
      std::set<int> group;
      for (int s = 0; s < c_slots; ++s) {
        if (x.c_alloc[s] >= 0) group.insert(x.c_alloc[s]);
      }
      if (!may_end(group)) return;
      note("  ssmem_term (%zu allocators)\n", group.size());
      for (int id : group) check_stats(alloc_of(id), true);
      drop_refs_into(group);
      ssmem_term();
      for (int s = 0; s < c_slots; ++s) x.c_alloc[s] = -1;
      for (int id : group) forget(id);
      if (x.c_registered) c_unregisters(x);
      return;
    }
    case op_c_gc_init: {
      int id = (in.u8() % 4) * 2 + actor;
      note("  ssmem_gc_thread_init id %d\n", id);
      ssmem_gc_thread_init(nullptr, id);
      c_registers(x);
      return;
    }
    case op_ts_next: {
      std::uint8_t form = in.u8() % 3;
      if (!x.has_record) return;  // the checked build aborts: a misuse
      if (form == 0) {
        ssmem_ts_next();
      } else if (form == 1 || x.scopes.empty()) {
        ssmem::safe_to_reclaim();
      } else {
        x.scopes.back().scope->safe_to_reclaim();
      }
      return;
    }
    case op_offline:
    case op_online: {
      std::uint8_t form = in.u8() % 3;
      if (!x.has_record) return;  // ssmem_thread_offline aborts: a misuse
      const bool off = code == op_offline;
      if (form == 0) {
        off ? ssmem_thread_offline() : ssmem_thread_online();
      } else if (form == 1 || x.scopes.empty()) {
        off ? ssmem::offline() : ssmem::online();
      } else {
        off ? x.scopes.back().scope->offline() : x.scopes.back().scope->online();
      }
      x.online = !off;
      return;
    }
    case op_scope_push: {
      if (x.scopes.size() >= 3) return;
      bool restores = x.has_record && !x.online;
      x.scopes.push_back(scope_m{std::make_unique<ssmem::thread_scope>(), restores});
      x.has_record = true;
      x.online = true;
      return;
    }
    case op_scope_pop: {
      if (x.scopes.empty()) return;
      if (!end_allocators(x, built_on_scope(x, x.scopes.size() - 1))) return;
      pop_scope(x);
      return;
    }
    case op_cxx_new:
    case op_pool_new: {
      int s = in.u8() % (code == op_cxx_new ? cxx_slots : pool_slots);
      std::uint8_t sb = in.u8();
      ssmem::options o = options_from(in);
      int& slot = code == op_cxx_new ? x.cxx_alloc[s] : x.pool_alloc[s];
      if (slot >= 0 || x.scopes.empty()) return;
      alloc_m a;
      a.id = M.next_alloc_id++;
      a.actor = actor;
      a.slot = s;
      a.scope_level = static_cast<int>(x.scopes.size()) - 1;
      a.zero = o.zero_memory;
      a.tiny_chunks = o.chunk_size == 0 || (!o.chunk_doubling && o.chunk_size < 4096);
      ssmem::thread_scope& scope = *x.scopes.back().scope;
      if (code == op_cxx_new) {
        std::size_t size = object_size_of(sb, false);
        a.kind = akind::cxx;
        a.cxx = std::make_unique<ssmem::allocator>(scope, size, o);
        a.obj_size = a.cxx->object_size();
        a.unservable = size > (std::size_t{1} << 36);
        // Never a positive object size below the size asked for (19.1).
        FZ_CHECK(a.obj_size == 0 || a.obj_size >= size, "allocator of %zu bytes: object_size() %zu", size,
                 a.obj_size);
        note("  allocator %d: size %zu -> object size %zu, fs %zu batch %zu\n", a.id, size, a.obj_size,
             o.free_set_size, o.stamp_batch);
      } else {
        a.kind = akind::pool;
        a.pool_type = sb % pool_types;
        a.obj_size = pool_object_size(a.pool_type);
        a.pool = make_pool(a.pool_type, scope, o);
        note("  pool %d: type %d (%zu bytes)\n", a.id, a.pool_type, a.obj_size);
      }
      slot = a.id;
      M.allocs.emplace(a.id, std::move(a));
      return;
    }
    case op_cxx_delete:
    case op_pool_delete: {
      int s = in.u8() % (code == op_cxx_delete ? cxx_slots : pool_slots);
      int id = code == op_cxx_delete ? x.cxx_alloc[s] : x.pool_alloc[s];
      if (id < 0) return;
      note("  delete allocator %d\n", id);
      end_allocators(x, {id});
      return;
    }
    case op_cxx_allocate: {
      int s = in.u8() % cxx_slots;
      std::size_t n = count_of(in.u8());
      if (x.cxx_alloc[s] < 0 || !online) return;
      alloc_m& a = alloc_of(x.cxx_alloc[s]);
      if (a.tiny_chunks) n = std::min<std::size_t>(n, 64);
      for (std::size_t i = 0; i < n && M.live.size() < max_live; ++i) {
        void* p = nullptr;
        try {
          p = a.cxx->allocate();
        } catch (const std::bad_alloc&) {
          FZ_CHECK(a.unservable, "allocator %d (object size %zu) threw std::bad_alloc", a.id, a.obj_size);
          break;
        }
        FZ_CHECK(!a.unservable, "allocator %d of a size no system maps served %p (object size %zu, 19.1)", a.id,
                 p, a.obj_size);
        handed_out(a, p, a.obj_size, no_pool, M.next_seed++, true);
      }
      check_stats(a);
      return;
    }
    case op_pool_create: {
      int s = in.u8() % pool_slots;
      std::size_t n = count_of(in.u8());
      std::uint8_t throws = in.u8();
      if (x.pool_alloc[s] < 0 || !online) return;
      alloc_m& a = alloc_of(x.pool_alloc[s]);
      if (a.tiny_chunks) n = std::min<std::size_t>(n, 64);
      for (std::size_t i = 0; i < n && M.live.size() < max_live; ++i) {
        std::uint64_t seed = M.next_seed++;
        const bool fails = throws != 0 && (throws + i) % 7 == 0;
        M.last_ctor = nullptr;
        try {
          void* p = a.pool->create(seed, fails);
          FZ_CHECK(!fails, "a throwing constructor returned an object");
          handed_out(a, p, a.obj_size, a.pool_type, seed, false);
        } catch (const std::runtime_error&) {
          // The memory went back to the pool at once: it was handed out and freed.
          void* p = M.last_ctor;
          FZ_CHECK(p != nullptr, "create() threw before constructing");
          handed_out(a, p, a.obj_size, a.pool_type, seed, false);
          M.live.remove(p);
          a.in_sets.insert(p);
          ++a.freed;
        }
      }
      check_stats(a);
      return;
    }
    case op_pool_destroy:
    case op_pool_retire: {
      std::uint16_t from = in.u16();
      std::uint8_t target = in.u8();
      std::size_t n = count_of(in.u8());
      if (!online || M.live.empty()) return;
      std::size_t i = from;
      std::size_t tries = std::min(M.live.size(), n * 4);
      for (std::size_t done = 0; done < n && tries-- > 0 && !M.live.empty(); ++i) {
        obj_m o = M.live.at(i % M.live.size());
        if (o.pool_type == no_pool) continue;
        std::vector<int> t;
        for (int k = 0; k < pool_slots; ++k) {
          int id = x.pool_alloc[k];
          if (id < 0 || alloc_of(id).pool_type != o.pool_type) continue;
          // A pool's destructor runs the ~T() still waiting: an object retired into it must be
          // from an older pool (or its own), which ends after it (end_allocators: newest first).
          if (code == op_pool_retire && o.home > id) continue;
          t.push_back(id);
        }
        if (t.empty()) continue;
        alloc_m& a = alloc_of(t[target % t.size()]);
        long bad = damage(o);
        FZ_CHECK(bad < 0, "%p: word %ld changed while the object was live", o.p, bad);
        if (code == op_pool_destroy) {
          note("  destroy %p into pool %d\n", o.p, a.id);
          M.live.remove(o.p);
          a.in_sets.insert(o.p);
          ++a.freed;
          // Readers that hold it read what ~T() leaves (documented: destroy() is for objects no
          // reader can reach; a reader that does must still not see the memory reused).
          for (actor_m& y : M.actor) {
            for (ref_m& r : y.held) {
              if (r.p == o.p) r.what = ref_m::destroyed;
            }
          }
          M.expect_dtor = o.p;
          a.pool->destroy(o.p);
          FZ_CHECK(M.expect_dtor == nullptr, "destroy(%p) did not run ~T()", o.p);
        } else {
          note("  retire %p into pool %d\n", o.p, a.id);
          M.live.remove(o.p);
          a.pending_retire[o.p] = o.seed;
          ++a.released;
          a.pool->retire(o.p);
        }
        check_stats(a);
        ++done;
      }
      return;
    }
    case op_load_refs: {
      std::uint16_t from = in.u16();
      std::size_t n = 1 + in.u8() % 8;
      if (!online) return;
      // Live objects (any thread's) and shared malloc'd objects: what a reader finds in a
      // shared structure before another thread unlinks and frees it.
      const std::size_t total = M.live.size() + M.mallocd.size();
      for (std::size_t k = 0; k < n && total != 0 && x.held.size() < 64; ++k) {
        std::size_t i = (from + k * 7919) % total;
        if (i < M.live.size()) {
          const obj_m& o = M.live.at(i);
          x.held.push_back(
              ref_m{o.p, o.size, o.seed, o.pool_type != no_pool ? ref_m::pool_object : ref_m::pattern});
        } else {
          const mallocd_m& m = M.mallocd[i - M.live.size()];
          x.held.push_back(ref_m{m.p, m.size, m.seed, ref_m::pattern});
        }
        note("  thread %d loads %p\n", actor, x.held.back().p);
      }
      return;
    }
    case op_read_refs: {
      for (const ref_m& r : x.held) {
        long bad = r.what == ref_m::pool_object ? pool_damage(r.p, r.size, r.seed)
                   : r.what == ref_m::destroyed ? scribble_damage(r.p, r.size)
                                                : pattern_damage(r.p, r.size, r.seed);
        FZ_CHECK(bad < 0, "thread %d reads %p, which it loaded before it was freed and has not moved on "
                 "since: word %ld changed (reused while a thread still held it, I1)", actor, r.p, bad);
      }
      return;
    }
    case op_check_all: {
      for (std::size_t i = 0; i < M.live.size(); ++i) {
        long bad = damage(M.live.at(i));
        FZ_CHECK(bad < 0, "live object %p: word %ld changed", M.live.at(i).p, bad);
      }
      return;
    }
    case op_misuse: {
      std::uint8_t kind = in.u8();
      std::uint8_t arg = in.u8();
      if (actor != 0) return;  // only the forking thread exists in the child
      do_misuse(kind, arg);
      return;
    }
    case op_nulls: {
      // Null objects are no-ops in every form; a deleter given with one never runs.
      for (int s = 0; s < c_slots; ++s) {
        if (x.c_alloc[s] < 0) continue;
        ssmem_free(&x.c[s], nullptr);
        ssmem_release(&x.c[s], nullptr);
        ssmem_retire(&x.c[s], nullptr, [](void*, void*) { fail("ssmem_retire(a, NULL, fn, c) called fn"); },
                     nullptr);
      }
      for (int s = 0; s < cxx_slots; ++s) {
        if (x.cxx_alloc[s] < 0) continue;
        alloc_m& a = alloc_of(x.cxx_alloc[s]);
        a.cxx->deallocate(nullptr);
        a.cxx->release(nullptr);
        a.cxx->retire(nullptr, [](void*, void*) { fail("retire(nullptr, fn, c) called fn"); }, nullptr);
        a.cxx->retire(static_cast<std::uint64_t*>(nullptr),
                      [](std::uint64_t*) noexcept { fail("retire(nullptr, deleter) called the deleter"); });
        check_stats(a);
      }
      for (int s = 0; s < pool_slots; ++s) {
        if (x.pool_alloc[s] < 0) continue;
        alloc_m& a = alloc_of(x.pool_alloc[s]);
        a.pool->destroy(nullptr);
        a.pool->retire(nullptr);
        check_stats(a);
      }
      return;
    }
    case op_debug: {
      std::size_t n = ssmem_ts_set_size();
      size_t* set = ssmem_ts_set_collect();
      FZ_CHECK(set != nullptr, "ssmem_ts_set_collect returned NULL");
      FZ_CHECK(ssmem_ts_set_size() >= n, "the domain shrank");
      ssmem_ts_set_print(set);
      std::free(set);
      ssmem_ts_list_print();
      for (int s = 0; s < c_slots; ++s) {
        if (x.c_alloc[s] < 0) continue;
        check_stats(alloc_of(x.c_alloc[s]), true);
        ssmem_free_list_print(&x.c[s]);
        ssmem_collected_list_print(&x.c[s]);
        ssmem_available_list_print(&x.c[s]);
        ssmem_all_list_print(&x.c[s], actor);
        ssmem_stats_print(&x.c[s]);
      }
      std::ostringstream out;
      for (int s = 0; s < cxx_slots; ++s) {
        if (x.cxx_alloc[s] >= 0) out << alloc_of(x.cxx_alloc[s]).cxx->stats() << "\n";
      }
      for (int s = 0; s < pool_slots; ++s) {
        if (x.pool_alloc[s] >= 0) out << alloc_of(x.pool_alloc[s]).pool->stats() << "\n";
      }
      ssmem::domain_stats d = ssmem::default_domain().stats();
      out << d;
      FZ_CHECK(d.slots == d.online + d.offline + d.free, "domain stats: %zu slots != %zu + %zu + %zu", d.slots,
               d.online, d.offline, d.free);
      FZ_CHECK(d.online + d.offline >= static_cast<std::size_t>(M.actor[0].has_record + M.actor[1].has_record),
               "domain stats: fewer registered records than registered threads");
      return;
    }
    case op_worker_exit:
    case op_this_thread:
    case op_malloc:
    case op_count:
      break;
  }
}

// ---- one input ---------------------------------------------------------------------------

void reset_actor(actor_m& x, int index) {
  x.index = index;
  for (int s = 0; s < c_slots; ++s) x.c_alloc[s] = -1;
  for (int s = 0; s < cxx_slots; ++s) x.cxx_alloc[s] = -1;
  for (int s = 0; s < pool_slots; ++s) x.pool_alloc[s] = -1;
  x.c_registered = false;
  x.scopes.clear();
  x.this_thread_used = false;
  x.this_thread_restores = false;
  x.has_record = false;
  x.online = false;
  x.held.clear();
}

// The worker ends: everything it holds first (false: not yet possible), then the thread.
bool worker_exit(std::uint8_t form) {
  actor_m& w = M.actor[1];
  if (!the_worker.running()) return true;
  bool ended = false;
  int stale = -1;
  on_thread(1, [&] {
    if (!end_everything(w)) return;
    ended = true;
    // Leave something for the thread-exit hooks: an initialised, untouched allocator whose
    // storage a later worker reuses, a bare registration, or the this_thread() scope.
    switch (form % 4) {
      case 1:
        stale = form / 4 % c_slots;
        ssmem_alloc_init(&w.c[stale], 4096, 1);
        break;
      case 2:
        ssmem_gc_thread_init(nullptr, 3);
        break;
      case 3:
        ssmem::this_thread().safe_to_reclaim();
        break;
      default:
        break;
    }
  });
  if (!ended) return false;
  note("  worker exits (form %d)\n", form % 4);
  the_worker.stop();
  reset_actor(w, 1);
  return true;
}

void teardown() {
  for (actor_m& x : M.actor) x.held.clear();
  // Offline threads come back online: the end releases objects, which is a free step.
  for (int i = 0; i < actors; ++i) {
    actor_m& x = M.actor[i];
    if (i == 1 && !the_worker.running()) continue;
    if (x.has_record && !x.online) {
      on_thread(i, [&] {
        ssmem_thread_online();
        x.online = true;
      });
    }
  }
  // Live adopted objects go back to the system through a live allocator of the thread that
  // handed them out (releasing a live adopted object ends its tracking); then every allocator
  // ends, newest first.
  std::vector<void*> adopted;
  for (std::size_t i = 0; i < M.live.size(); ++i) {
    if (M.live.at(i).home == home_malloc) adopted.push_back(M.live.at(i).p);
  }
  for (void* p : adopted) {
    int via = -1;
    for (auto& [id, a] : M.allocs) {
      if (a.kind != akind::pool && M.actor[a.actor].has_record && M.actor[a.actor].online) via = id;
    }
    if (via < 0) {  // no allocator left to release it through: it stays adopted, never freed
      M.live.remove(p);
      M.home_of.erase(p);
      graveyard.push_back(p);
      continue;
    }
    alloc_m& a = alloc_of(via);
    M.live.remove(p);
    M.home_of.erase(p);
    ++a.released;
    on_thread(a.actor, [&] {
      if (a.kind == akind::c_api) {
        ssmem_release(&M.actor[a.actor].c[a.slot], p);
      } else {
        a.cxx->release(p);
      }
    });
  }
  while (!M.allocs.empty()) {
    alloc_m& a = M.allocs.rbegin()->second;
    actor_m& x = M.actor[a.actor];
    int id = a.id;
    on_thread(a.actor, [&] {
      // At the end nothing allocates again: every allocator may end, newest first.
      check_stats(a, true);
      switch (a.kind) {
        case akind::c_api:
          ssmem_alloc_term(&x.c[a.slot]);
          x.c_alloc[a.slot] = -1;
          if (c_live_count(x) == 0 && x.c_registered) c_unregisters(x);
          break;
        case akind::cxx:
          a.cxx.reset();
          x.cxx_alloc[a.slot] = -1;
          break;
        case akind::pool:
          a.pool.reset();
          x.pool_alloc[a.slot] = -1;
          break;
      }
      forget(id);
    });
  }
  for (int i = actors - 1; i >= 0; --i) {
    actor_m& x = M.actor[i];
    if (i == 1 && !the_worker.running()) continue;
    on_thread(i, [&] {
      while (!x.scopes.empty()) pop_scope(x);
      if (x.c_registered) {
        ssmem_term();
        c_unregisters(x);
      }
      check_record(x);
    });
  }
  the_worker.stop();
  for (auto& [id, k] : M.tickets) {
    FZ_CHECK(k.done, "the deleter of %p never ran (every allocator has ended)", k.p);
  }
  for (const mallocd_m& m : M.mallocd) std::free(m.p);
  M.mallocd.clear();
  M.tickets.clear();
  M.waiting_ticket.clear();
  M.live.clear();
  M.home_of.clear();
  reset_actor(M.actor[0], 0);
  reset_actor(M.actor[1], 1);
}

void run_input(const std::uint8_t* data, std::size_t size) {
  reader in{data, size};
  M.next_alloc_id = 1;
  M.next_seed = 1;
  M.next_ticket = 1;
  reset_actor(M.actor[0], 0);
  reset_actor(M.actor[1], 1);
  while (in.more()) {
    std::uint8_t b = in.u8();
    int actor = b >> 7;
    op code = static_cast<op>((b & 0x3f) % op_count);
    note("[%d] %s\n", actor, op_names[code]);
    if (code == op_worker_exit) {
      std::uint8_t form = in.u8();
      if (actor == 1) worker_exit(form);
      continue;
    }
    if (code == op_malloc) {
      std::size_t n = count_of(in.u8());
      std::uint8_t sb = in.u8();
      for (std::size_t i = 0; i < n && M.mallocd.size() < max_mallocd; ++i) {
        std::size_t sz = 16 + 8 * ((sb + i) % 16);
        void* p = std::malloc(sz);
        if (p == nullptr) fail("malloc failed");
        std::uint64_t seed = M.next_seed++;
        write_pattern(p, sz, seed);
        M.mallocd.push_back(mallocd_m{p, sz, seed});
      }
      continue;
    }
    if (code == op_this_thread) {
      if (actor != 1) continue;
      actor_m& w = M.actor[1];
      on_thread(1, [&] {
        if (!w.this_thread_used) {
          w.this_thread_restores = w.has_record && !w.online;
          w.this_thread_used = true;
          w.has_record = true;
          w.online = true;
        }
        w.held.clear();
        ssmem::this_thread().safe_to_reclaim();
        check_record(w);
      });
      continue;
    }
    on_thread(actor, [&] {
      run_op(actor, code, in);
      check_record(M.actor[actor]);
    });
  }
  teardown();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("SSMEM_QUIET", "1", 1);
  // The debug printers (op_debug) write to stdout; libFuzzer reports on stderr.
  // A temporary file: c_stats() reads ssmem_stats_print's line back from it.
  std::FILE* tmp = std::tmpfile();
  if (tmp == nullptr || dup2(fileno(tmp), 1) != 1) fail("cannot send stdout to a temporary file");
  const char* t = std::getenv("SSMEM_FUZZ_TRACE");
  trace = t != nullptr && t[0] == '1';
  const char* bugs = std::getenv("SSMEM_FUZZ_KNOWN_BUGS");
  if (bugs != nullptr) {
    std::string list = std::string(",") + bugs + ",";
    for (known_bug& b : known_bugs) {
      b.enabled = list.find(",all,") != std::string::npos || list.find(std::string(",") + b.name + ",") != std::string::npos;
      if (b.enabled && b.open) std::fprintf(stderr, "api_fuzzer: reaching the open bug %s (%s)\n", b.name, b.what);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run_input(data, size);
  return 0;
}
