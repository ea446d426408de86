// Thread lifecycle under load, on the swap-slots workload (see swap_slots_test.cc): slots keep
// their index through copy/exchange/free only if no object is reused while a thread reads it.
//   join/leave    short-lived threads register, work and leave (thread_scope destroyed)
//                 while others run; new threads adopt the freed records (the domain must
//                 not grow beyond the peak number of concurrent threads).
//   offline/idle  threads go offline between operations, sleep, and come back (C++ scope and
//                 C API ssmem_thread_offline/online); one thread is idle most of the time.
//                 Collection must go on while they are offline.
//   oversubscribed  8 threads on the machine's cores, with yields inside the read window.
// A leaving thread keeps its allocators (their chunks hold objects still in the slots) in a
// graveyard until the end of the phase: the allocator contract forbids destroying them while
// their objects are in use; they are never used again after the thread left.
#include <barrier>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/stress/apis.hpp"
#include "tests/stress/harness.hpp"

namespace {

using stress::rng;

struct slot_object {
  std::uint64_t value;
  std::uint64_t check;  // ~value
};

struct slots {
  explicit slots(std::size_t n) : s(n) {}
  std::vector<std::atomic<slot_object*>> s;
};

// One copy/exchange/free step on a random slot through `alloc`/`free`.
template <class Alloc, class Free>
void swap_step(slots& st, rng& r, Alloc alloc, Free free, bool yield_in_window) {
  std::size_t i = static_cast<std::size_t>(r.below(st.s.size()));
  slot_object* p = st.s[i].load(std::memory_order_acquire);
  if (yield_in_window && r.chance(5)) std::this_thread::yield();
  std::uint64_t v = p->value;
  std::uint64_t c = p->check;
  STRESS_CHECK(v == i && c == ~v, "slot %zu: object %p holds value %llu (reused while read?)",
               i, (void*)p, (unsigned long long)v);
  auto* n = static_cast<slot_object*>(alloc());
  n->value = v;
  n->check = ~v;
  free(st.s[i].exchange(n, std::memory_order_acq_rel));
}

void check_slots(slots& st) {
  for (std::size_t i = 0; i < st.s.size(); ++i) {
    slot_object* p = st.s[i].load(std::memory_order_acquire);
    STRESS_CHECK(p->value == i && p->check == ~p->value, "final: slot %zu holds %llu", i,
                 (unsigned long long)p->value);
  }
}

// The options of a thread: option set `profile` (stress::config::draw_options).
ssmem::options thread_options(const stress::config& cfg, rng& r, unsigned profile, ssmem::ts_policy p) {
  ssmem::options o;
  cfg.draw_options(r, profile, o);
  o.chunk_size = std::size_t{16} << 10;
  o.bump_on = p;
  return o;
}

// Main's part of a phase: a domain, a registered main thread that fills the slots and stays
// offline while the workers run, then checks the slots.
struct phase_base {
  ssmem::domain dom;
  ssmem::thread_scope main_scope{dom};
  ssmem::allocator init_alloc{main_scope, sizeof(slot_object)};
  slots st;
  explicit phase_base(std::size_t n) : st(n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto* o = static_cast<slot_object*>(init_alloc.allocate());
      o->value = i;
      o->check = ~i;
      st.s[i].store(o, std::memory_order_release);
    }
    main_scope.offline();  // main holds nothing while the workers run
  }
  // Main only, after the workers: online again (the scope belongs to main).
  void main_online() { main_scope.online(); }
};

// join/leave: `lanes` threads each run a sequence of short-lived workers.
std::uint64_t phase_join_leave(const stress::config& cfg, unsigned phase, unsigned lanes,
                               std::uint64_t ms) {
  phase_base b(64);
  std::mutex grave_mu;
  std::vector<std::unique_ptr<ssmem::allocator>> graveyard;
  std::atomic<std::uint64_t> ops{0}, lives{0}, collected{0};
  stress::deadline stop(ms);
  stress::run_threads(lanes, [&](unsigned lane) {
    rng lr = cfg.thread_rng(phase, lane);
    for (unsigned life = 0; !stop.passed(); ++life) {
      std::uint64_t seed = lr.next();
      std::thread([&, seed] {
        rng r(seed);
        std::unique_ptr<ssmem::allocator> a;
        {
          ssmem::thread_scope me(b.dom);  // adopts a free record when there is one
          a = std::make_unique<ssmem::allocator>(
              me, sizeof(slot_object), thread_options(cfg, r, cfg.profile_drawn(r), ssmem::ts_policy::both));
          std::uint64_t n = r.between(1, 400), k = 0;
          for (; k < n && (k % 32 != 0 || !stop.passed()); ++k) {
            swap_step(
                b.st, r, [&] { return a->allocate(); }, [&](void* p) { a->deallocate(p); },
                false);
          }
          ops.fetch_add(k);
          collected.fetch_add(a->stats().collected);
        }  // the thread leaves: its record is now free for adoption
        std::lock_guard<std::mutex> g(grave_mu);
        graveyard.push_back(std::move(a));
      }).join();
      lives.fetch_add(1);
    }
  });
  b.main_online();
  check_slots(b.st);  // the graveyard keeps every object's chunk mapped
  std::size_t records = b.dom.slot_count();
  std::printf("    %llu thread lives over %zu records, %llu objects collected\n",
              (unsigned long long)lives.load(), records, (unsigned long long)collected.load());
  // main + at most one record per lane: leaving threads' records are adopted, not leaked.
  STRESS_CHECK(records <= lanes + 1, "domain grew to %zu records for %u concurrent threads",
               records, lanes + 1);
  STRESS_CHECK(ops.load() < 5000 || collected.load() > 0, "nothing collected in %llu operations",
               (unsigned long long)ops.load());
  graveyard.clear();
  return ops.load();
}

// offline/idle through either API: threads go offline between operations and sleep; thread 0
// is idle (offline, sleeping) most of the time. Collection must not stall on them.
template <class Worker>
std::uint64_t phase_offline(const stress::config& cfg, unsigned phase, unsigned threads,
                            std::uint64_t ms) {
  phase_base b(64);
  std::barrier sync(threads);
  std::atomic<std::uint64_t> ops{0}, collected{0};
  stress::deadline stop(ms);
  stress::run_threads(threads, [&](unsigned t) {
    rng r = cfg.thread_rng(phase, t);
    stress::worker_options wo;
    wo.object_size = sizeof(slot_object);
    wo.allocators = 1;
    wo.opts = thread_options(cfg, r, cfg.profile_of(phase, t), ssmem::ts_policy::both);
    Worker w(b.dom, t, wo);
    std::uint64_t k = 0;
    while (k < cfg.max_iters && (k % 32 != 0 || !stop.passed())) {
      swap_step(
          b.st, r, [&] { return w.alloc(0); }, [&](void* p) { w.free(0, p); }, false);
      ++k;
      unsigned idle_percent = t == 0 ? 30 : 2;
      if (r.chance(idle_percent)) {
        w.offline();  // holds no reference from here on
        std::this_thread::sleep_for(std::chrono::microseconds(r.between(10, t == 0 ? 2000 : 200)));
        w.online();
      }
    }
    ops.fetch_add(k);
    collected.fetch_add(w.collected());
    sync.arrive_and_wait();
    if (t == 0) check_slots(b.st);  // before the workers' allocators unmap their chunks
    sync.arrive_and_wait();
  });
  b.main_online();
  if (std::string(Worker::name) == "C++ API") {
    STRESS_CHECK(ops.load() < 5000 || collected.load() > 0,
                 "nothing collected in %llu operations with idle threads offline",
                 (unsigned long long)ops.load());
  }
  return ops.load();
}

// More threads than cores, with yields inside the read window.
std::uint64_t phase_oversubscribed(const stress::config& cfg, unsigned phase, unsigned threads,
                                   std::uint64_t ms) {
  phase_base b(32);
  std::barrier sync(threads);
  std::atomic<std::uint64_t> ops{0};
  stress::deadline stop(ms);
  stress::run_threads(threads, [&](unsigned t) {
    rng r = cfg.thread_rng(phase, t);
    ssmem::thread_scope me(b.dom);
    ssmem::allocator a(me, sizeof(slot_object),
                       thread_options(cfg, r, cfg.profile_of(phase, t), t % 2 == 0 ? ssmem::ts_policy::both
                                                        : ssmem::ts_policy::on_free));
    std::uint64_t k = 0;
    while (k < cfg.max_iters && (k % 32 != 0 || !stop.passed())) {
      swap_step(
          b.st, r, [&] { return a.allocate(); }, [&](void* p) { a.deallocate(p); }, true);
      ++k;
    }
    ops.fetch_add(k);
    sync.arrive_and_wait();
    if (t == 0) check_slots(b.st);
    sync.arrive_and_wait();
  });
  b.main_online();
  return ops.load();
}

}  // namespace

int main() {
  stress::config cfg = stress::config::from_env("thread_churn_test");
  const std::uint64_t ms = cfg.budget_ms / 4;
  struct {
    const char* title;
    std::uint64_t (*run)(const stress::config&, unsigned, std::uint64_t);
  } phases[] = {
      {"join/leave: 3 lanes of short-lived C++ threads",
       [](const stress::config& c, unsigned ph, std::uint64_t m) { return phase_join_leave(c, ph, 3, m); }},
      {"offline/idle: 4 threads, C++ scope offline()/online()",
       [](const stress::config& c, unsigned ph, std::uint64_t m) {
         return phase_offline<stress::cxx_worker>(c, ph, 4, m);
       }},
      {"offline/idle: 4 threads, C ssmem_thread_offline/online",
       [](const stress::config& c, unsigned ph, std::uint64_t m) {
         return phase_offline<stress::c_worker>(c, ph, 4, m);
       }},
      {"oversubscribed: 8 threads, yields in the read window",
       [](const stress::config& c, unsigned ph, std::uint64_t m) { return phase_oversubscribed(c, ph, 8, m); }},
  };
  unsigned ph = 0;
  for (auto& p : phases) {
    if (stress::failures.load() != 0) break;
    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t ops = p.run(cfg, ph++, ms);
    stress::report_phase(p.title, ops, stress::since(t0));
  }
  return stress::finish("thread_churn_test");
}
