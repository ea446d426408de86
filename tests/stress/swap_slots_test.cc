// The correctness workload of the original ssmem test: a shared array of N slots, each
// pointing to an object that holds the slot's index. Threads pick a random slot, read its
// object, copy the value into a new object, exchange it into the slot and free the old one.
// If an object were reused while a thread still reads it, that thread would copy another
// slot's index (the value check fails now or at the end) and, with ThreadSanitizer, the
// reuse's write races with the read. Phases cover both APIs, every timestamp policy, several
// allocators per thread, and the release path (objects from malloc, given back through
// release, so AddressSanitizer sees a premature free as a heap-use-after-free), and deferred
// destruction (retire with a deleter that scribbles over the object before freeing or reusing
// it: a deleter run too early races with the reader).
#include <barrier>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "tests/stress/apis.hpp"
#include "tests/stress/harness.hpp"

namespace {

using stress::rng;

constexpr unsigned origin_ssmem = 0x55;
constexpr unsigned origin_malloc = 0xAA;

// Plain fields: a reuse that overlaps a reader is a data race (TSan) and a value mismatch.
struct slot_object {
  std::uint64_t value;
  std::uint64_t check;  // ~value: a torn or recycled object shows as value != ~check
  unsigned origin;      // origin_ssmem or origin_malloc: which path gives it back
  unsigned owner;       // ssmem objects: thread * 16 + allocator index (retire_own needs its own)
};

struct phase_spec {
  const char* api;            // "c++" or "c"
  ssmem::ts_policy bump_on;
  unsigned allocators;        // per thread
  unsigned malloc_percent;    // share of new objects from malloc (released, not freed)
  bool retire = false;        // deferred destruction: malloc'd objects retired with a deleter
                              // (scribble, free); C++: the allocator's own retired too (scribble,
                              // reuse)
};

// Over the C++ API's phases of the run (the C API keeps no statistics).
std::atomic<std::uint64_t> cxx_ops{0}, cxx_collected{0};

struct shared_state {
  explicit shared_state(std::size_t n) : slots(n) {}
  std::vector<std::atomic<slot_object*>> slots;
};

// A short random pause between loading a pointer and reading through it: widens the window
// in which a wrong reuse would overwrite the object under the reader.
inline void dawdle(rng& r) {
  if (r.chance(20)) {
    for (unsigned i = 0, n = static_cast<unsigned>(r.below(64)); i < n; ++i) {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // keeps the loop
    }
  }
  if (r.chance(1)) std::this_thread::yield();
}

template <class Worker>
std::uint64_t run_phase(const stress::config& cfg, unsigned phase, const phase_spec& spec,
                        unsigned threads, std::size_t nslots, std::uint64_t ms) {
  shared_state st(nslots);
  ssmem::domain dom;  // the C++ API's own domain; the C API uses the default one
  std::barrier sync(threads);
  std::atomic<std::uint64_t> total_ops{0}, total_collected{0};  // collected: reused + returned
  stress::deadline stop(ms);

  stress::run_threads(threads, [&](unsigned t) {
    rng r = cfg.thread_rng(phase, t);
    stress::worker_options wo;
    wo.object_size = sizeof(slot_object);
    wo.allocators = spec.allocators;
    cfg.draw_options(r, cfg.profile_of(phase, t), wo.opts);
    wo.opts.chunk_size = std::size_t{16} << 10;  // small chunks: chunk growth is exercised
    wo.opts.bump_on = spec.bump_on;
    Worker w(dom, t, wo);

    auto make = [&](std::uint64_t v) -> slot_object* {
      unsigned k = static_cast<unsigned>(r.below(w.allocators()));
      slot_object* n;
      if (spec.malloc_percent != 0 && r.chance(spec.malloc_percent)) {
        n = static_cast<slot_object*>(std::malloc(sizeof(slot_object)));
        if (n == nullptr) std::abort();
        n->origin = origin_malloc;
      } else {
        n = static_cast<slot_object*>(w.alloc(k));
        STRESS_CHECK(n != nullptr, "allocation failed");
        n->origin = origin_ssmem;
        n->owner = t * 16 + k;
      }
      n->value = v;
      n->check = ~v;
      return n;
    };
    auto dispose = [&](slot_object* o) {
      unsigned k = static_cast<unsigned>(r.below(w.allocators()));
      if (o->origin == origin_malloc) {
        if (spec.retire) {
          w.retire(k, o);
        } else {
          w.release(k, o);
        }
      } else {
        STRESS_CHECK(o->origin == origin_ssmem, "object %p has a corrupt origin %u", (void*)o,
                     o->origin);
        // retire_own takes only the allocator's own objects (its destructor runs the pending
        // deleters, which write them); others are freed, which any allocator may take.
        if (spec.retire && o->owner / 16 == t && r.chance(50)) {
          w.retire_own(o->owner % 16, o);
        } else {
          w.free(k, o);
        }
      }
    };

    if (t == 0) {
      for (std::size_t i = 0; i < nslots; ++i) {
        st.slots[i].store(make(i), std::memory_order_release);
      }
    }
    sync.arrive_and_wait();  // slots filled

    std::uint64_t ops = 0;
    unsigned until_safe = static_cast<unsigned>(r.between(1, 8));
    while (ops < cfg.max_iters && (ops % 64 != 0 || !stop.passed())) {
      std::size_t i = static_cast<std::size_t>(r.below(nslots));
      // acquire: pairs with the release of the exchange that published the object.
      slot_object* p = st.slots[i].load(std::memory_order_acquire);
      dawdle(r);
      std::uint64_t v = p->value;
      std::uint64_t c = p->check;
      STRESS_CHECK(v == i && c == ~v,
                   "slot %zu: object %p holds value %llu check %llx (reused while read?)", i,
                   (void*)p, (unsigned long long)v, (unsigned long long)c);
      slot_object* n = make(v);
      slot_object* old = st.slots[i].exchange(n, std::memory_order_acq_rel);
      dispose(old);
      if (spec.bump_on == ssmem::ts_policy::none && --until_safe == 0) {
        w.safe_to_reclaim();  // no reference held between operations
        until_safe = static_cast<unsigned>(r.between(1, 8));
      }
      ++ops;
    }
    total_ops.fetch_add(ops);
    total_collected.fetch_add(w.collected() + w.returned());

    sync.arrive_and_wait();  // every thread has stopped
    if (t == 0) {
      for (std::size_t i = 0; i < nslots; ++i) {
        slot_object* p = st.slots[i].load(std::memory_order_acquire);
        STRESS_CHECK(p->value == i && p->check == ~p->value,
                     "final: slot %zu holds value %llu", i, (unsigned long long)p->value);
        if (p->origin == origin_malloc) std::free(p);
      }
    }
    sync.arrive_and_wait();  // checked: allocators may now return their memory
  });

  std::uint64_t ops = total_ops.load();
  if (std::string(spec.api) == "c++") {
    // The workload has teeth only if objects were actually reused: over the whole run (main),
    // and in a phase long enough that each thread's option set, the default sets of 507 and
    // the sets of 2048 included, stamped and collected several times.
    STRESS_CHECK(ops < 200'000 || total_collected.load() > 0,
                 "no object was ever collected or returned in %llu operations", (unsigned long long)ops);
    cxx_ops.fetch_add(ops);
    cxx_collected.fetch_add(total_collected.load());
  }
  return ops;
}

}  // namespace

int main() {
  using ssmem::ts_policy;
  const phase_spec phases[] = {
      {"c++", ts_policy::both, 1, 0},      {"c++", ts_policy::on_alloc, 3, 0},
      {"c++", ts_policy::on_free, 2, 0},   {"c++", ts_policy::none, 2, 0},
      {"c++", ts_policy::both, 2, 50},     {"c", ts_policy::both, 2, 50},
      {"c", ts_policy::none, 1, 0},        {"c", ts_policy::on_alloc, 1, 20},
      {"c", ts_policy::on_free, 2, 0},    {"c++", ts_policy::on_free, 1, 100},
      {"c++", ts_policy::both, 2, 50, true}, {"c", ts_policy::on_free, 1, 50, true},
  };
  int rc = stress::run_phases(
      "swap_slots_test", phases,
      [](auto worker, const stress::config& cfg, unsigned ph, const phase_spec& s,
         unsigned threads, std::uint64_t ms) {
        return run_phase<typename decltype(worker)::type>(cfg, ph, s, threads, 64, ms);
      },
      [](const phase_spec& s, unsigned threads) {
        char title[128];
        std::snprintf(title, sizeof title, "%s ts=%s allocators=%u malloc=%u%%%s threads=%u",
                      s.api, stress::ts_name(s.bump_on), s.allocators, s.malloc_percent,
                      s.retire ? " retire" : "", threads);
        return std::string(title);
      });
  if (cxx_ops.load() >= 1000 && cxx_collected.load() == 0) {
    std::fprintf(stderr, "FAILED: no object was ever collected or returned in %llu operations of the C++ phases\n",
                 (unsigned long long)cxx_ops.load());
    rc = 1;
  }
  return rc;
}
