// C and C++ registrations racing (issue 20): lanes of short-lived threads register in the
// default domain through the C API, the C++ API or both (one record per thread, shared by the
// two APIs: ssmem.cc's take_default_record and register_me), work on the swap-slots workload
// (see swap_slots_test.cc: a slot's object keeps the slot's index unless it is reused while
// read), and leave in every way the library supports: ssmem_term, the end of the scope, the
// last use of a shared record, or thread exit without ssmem_term (the thread-exit hook). A
// thread registered only for collection (ssmem_gc_thread_init) reads the slots. Under TSan
// the registrations, the thread-exit hook and the C API's registry race for real; the value
// check catches a thread whose reads the collectors did not wait for; at the end the default
// domain holds at most one record per lane and the main thread's, none of them online but
// main's.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"
#include "tests/stress/harness.hpp"

namespace {

using stress::rng;

struct slot_object {
  std::uint64_t value;
  std::uint64_t check;  // ~value
};

std::vector<std::atomic<slot_object*>>* slots = nullptr;

// Objects of allocators whose thread left stay in the slots, so their chunks must stay mapped
// until the end: C++ allocators are kept here, and C allocators of threads that exit without
// ssmem_term are never terminated (their storage is kept here, reachable for LeakSanitizer).
std::mutex grave_mu;
std::vector<std::unique_ptr<ssmem::allocator>> graveyard;
// (Never destroyed: their free sets must stay reachable through it when LeakSanitizer looks,
// after the static destructors.)
auto* const c_graveyard = new std::vector<std::unique_ptr<ssmem_allocator_t>>;

template <class Alloc, class Free>
void swap_steps(rng& r, unsigned n, Alloc alloc, Free free_) {
  for (unsigned k = 0; k < n; ++k) {
    std::size_t i = static_cast<std::size_t>(r.below(slots->size()));
    slot_object* p = (*slots)[i].load(std::memory_order_acquire);
    if (r.chance(5)) std::this_thread::yield();
    std::uint64_t v = p->value;
    std::uint64_t c = p->check;
    STRESS_CHECK(v == i && c == ~v, "slot %zu: object %p holds value %llu (reused while read?)", i,
                 (void*)p, (unsigned long long)v);
    auto* n2 = static_cast<slot_object*>(alloc());
    STRESS_CHECK(n2 != nullptr, "allocation failed");
    n2->value = v;
    n2->check = ~v;
    free_((*slots)[i].exchange(n2, std::memory_order_acq_rel));
  }
}

void read_steps(rng& r, unsigned n) {
  for (unsigned k = 0; k < n; ++k) {
    std::size_t i = static_cast<std::size_t>(r.below(slots->size()));
    slot_object* p = (*slots)[i].load(std::memory_order_acquire);
    if (r.chance(5)) std::this_thread::yield();
    STRESS_CHECK(p->value == i && p->check == ~p->value, "slot %zu: reader read %llu", i,
                 (unsigned long long)p->value);
    if (k % 4 == 3) SSMEM_SAFE_TO_RECLAIM();
  }
}

ssmem::options options_for(const stress::config& cfg, rng& r) {
  ssmem::options o;
  cfg.draw_options(r, cfg.profile_drawn(r), o);
  o.chunk_size = std::size_t{16} << 10;
  return o;
}

std::unique_ptr<ssmem::allocator> cxx_allocator(ssmem::thread_scope& s, const stress::config& cfg, rng& r) {
  return std::make_unique<ssmem::allocator>(s, sizeof(slot_object), options_for(cfg, r));
}

void bury(std::unique_ptr<ssmem::allocator> a) {
  std::lock_guard<std::mutex> g(grave_mu);
  graveyard.push_back(std::move(a));
}

// One short-lived thread: a registration recipe, some work, a way of leaving.
void one_life(const stress::config& cfg, std::uint64_t seed, int id) {
  rng r(seed);
  const unsigned steps = static_cast<unsigned>(r.between(1, 200));
  switch (r.below(5)) {
    case 0: {  // the C++ API alone
      ssmem::thread_scope me;
      auto a = cxx_allocator(me, cfg, r);
      swap_steps(r, steps, [&] { return a->allocate(); }, [&](void* p) { a->deallocate(p); });
      bury(std::move(a));
      break;
    }
    case 1: {  // the C API alone; the thread exits without ssmem_term (the exit hook leaves)
      auto a = std::make_unique<ssmem_allocator_t>();
      ssmem_alloc_init_fs_size(a.get(), std::size_t{16} << 10, cfg.free_set_size(r), id);
      swap_steps(r, steps, [&] { return ssmem_alloc(a.get(), sizeof(slot_object)); },
                 [&](void* p) { ssmem_free(a.get(), p); });
      std::lock_guard<std::mutex> g(grave_mu);
      c_graveyard->push_back(std::move(a));
      break;
    }
    case 2: {  // a scope, the C API inside it (the same record), ssmem_term, then the scope's work
      ssmem::thread_scope me;
      ssmem_allocator_t c;
      ssmem_alloc_init(&c, std::size_t{16} << 10, id);
      for (unsigned k = 0; k < steps; ++k) ssmem_free(&c, ssmem_alloc(&c, 24));  // private objects
      ssmem_term();  // the scope still holds the record
      auto a = cxx_allocator(me, cfg, r);
      swap_steps(r, steps, [&] { return a->allocate(); }, [&](void* p) { a->deallocate(p); });
      bury(std::move(a));
      break;
    }
    case 3: {  // the C API, a scope inside it, then ssmem_term or thread exit
      auto c = std::make_unique<ssmem_allocator_t>();
      ssmem_alloc_init(c.get(), std::size_t{16} << 10, id);
      {
        ssmem::thread_scope me;
        auto a = cxx_allocator(me, cfg, r);
        swap_steps(r, steps, [&] { return a->allocate(); }, [&](void* p) { a->deallocate(p); });
        bury(std::move(a));
      }
      for (unsigned k = 0; k < steps; ++k) ssmem_free(c.get(), ssmem_alloc(c.get(), 24));
      if (r.chance(50)) {
        ssmem_term();
      } else {  // the exit hook; c stays allocated (its memory stays mapped, as documented)
        std::lock_guard<std::mutex> g(grave_mu);
        c_graveyard->push_back(std::move(c));
      }
      break;
    }
    default: {  // registered only for collection: reads the slots, then ssmem_term or exit
      ssmem_gc_thread_init(nullptr, id);
      read_steps(r, steps);
      if (r.chance(50)) ssmem_term();
      break;
    }
  }
}

}  // namespace

int main() {
  const stress::config cfg = stress::config::from_env("registration_race_test");
  constexpr unsigned lanes = 4;
  std::vector<std::atomic<slot_object*>> s(64);
  slots = &s;
  std::uint64_t lives = 0;
  {
    ssmem::thread_scope main_scope;  // fills the slots, then stays offline
    ssmem::allocator init(main_scope, sizeof(slot_object));
    for (std::size_t i = 0; i < s.size(); ++i) {
      auto* o = static_cast<slot_object*>(init.allocate());
      o->value = i;
      o->check = ~i;
      s[i].store(o, std::memory_order_release);
    }
    main_scope.offline();
    std::atomic<std::uint64_t> count{0};
    stress::deadline stop(cfg.budget_ms);
    const auto t0 = std::chrono::steady_clock::now();
    stress::run_threads(lanes, [&](unsigned lane) {
      rng lr = cfg.thread_rng(0, lane);
      for (unsigned life = 0; !stop.passed(); ++life) {
        const std::uint64_t seed = lr.next();
        const int id = static_cast<int>(1000 + lane * 100000 + life % 100000);  // unique while live
        std::thread([&cfg, seed, id] { one_life(cfg, seed, id); }).join();
        count.fetch_add(1);
      }
    });
    lives = count.load();
    stress::report_phase("4 lanes of short-lived threads, C and C++ registrations", lives,
                         stress::since(t0));
    main_scope.online();
    for (std::size_t i = 0; i < s.size(); ++i) {
      slot_object* p = s[i].load(std::memory_order_acquire);
      STRESS_CHECK(p->value == i && p->check == ~p->value, "final: slot %zu holds %llu", i,
                   (unsigned long long)p->value);
    }
    const ssmem::domain_stats d = ssmem::default_domain().stats();
    std::printf("    %llu thread lives over %zu records of the default domain\n",
                (unsigned long long)lives, d.slots);
    STRESS_CHECK(d.slots <= lanes + 1, "the default domain grew to %zu records for %u threads",
                 d.slots, lanes + 1);
    STRESS_CHECK(d.online == 1 && d.offline == 0,
                 "records left registered: %zu online (main's only expected), %zu offline",
                 d.online, d.offline);
    STRESS_CHECK(lives >= 20, "only %llu thread lives: the races did not run",
                 (unsigned long long)lives);
    graveyard.clear();  // after the last read of the slots
  }
  return stress::finish("registration_race_test");
}
