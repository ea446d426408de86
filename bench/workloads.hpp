// The workloads, each written once over the peer interface of peers/common.hpp:
//   W1 pair      allocate and free one object per iteration per thread (allocators)
//   W2 swap      the original ssmem test: 2048 shared slots; read a slot, copy its value into a
//                new object, exchange it in, retire the old one; every slot is value-checked
//   W3 set       a hash set of Harris-Michael lists (64 buckets, keys 0..1023, half present),
//                update_percent of the operations insert or remove, the rest look up
//   W4 release   W2 on objects from malloc, given back to malloc after the grace period
//   W5 stall     W1 or W2 with run_params::stall_sleep set: the last worker periodically
//                sleeps while registered (stall_clock; the peer's stall() or the default
//                below: holding an object in W1, inside an operation holding a reference in W2)
// Each returns a run_fn for the registry; a failed check makes the run's result !ok.
#ifndef SSMEM_BENCH_WORKLOADS_HPP
#define SSMEM_BENCH_WORKLOADS_HPP

#include <atomic>
#include <barrier>
#include <cstdint>
#include <chrono>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.hpp"
#include "bench/peers/common.hpp"

namespace bench {

/// Ops between two publications of a worker's pending count.
constexpr unsigned pending_every_batches = 4;

/// W2's slots.
constexpr std::size_t swap_slots = 2048;

/// At the end of a worker's measured loop: the peer thread's counters and its share of the
/// bound on pending objects, where it has them (peers/common.hpp).
template <class T>
void report_extras(T& t, run_control& ctl) {
  if constexpr (requires(counters& c) { t.report(c); }) {
    counters c;
    t.report(c);
    ctl.add_counters(c);
  }
  if constexpr (requires { t.pending_bound(); }) ctl.add_pending_bound(t.pending_bound());
}

// ---------------------------------------------------------------------------------------
// W5: the stalls, out of line: the loops that call them keep their locals in registers.

/// W1's stall: the peer's, or registered and holding one object (ssmem: its version unchanged).
template <class A>
[[gnu::noinline, gnu::cold]] void stall_pair(typename A::thread& t, stall_clock& stall) {
  stall.take([&](std::chrono::microseconds d) {
    if constexpr (requires { t.stall(d); }) {
      t.stall(d);
    } else {
      void* o = t.allocate();
      escape(o);
      std::this_thread::sleep_for(d);
      t.deallocate(o);
    }
  });
}

/// W2's stall: the peer's, or inside an operation holding a reference to a slot's object;
/// returns 1 if that object no longer held its slot's index after the sleep (reused while
/// protected), else 0.
template <class S, class Node>
[[gnu::noinline, gnu::cold]] std::uint64_t stall_swap(typename S::thread& t, std::atomic<Node*>* slots,
                                                      stall_clock& stall) {
  std::uint64_t stale = 0;
  stall.take([&](std::chrono::microseconds d) {
    if constexpr (requires { t.stall(d); }) {
      t.stall(d);
    } else {
      const std::size_t s = stall.count() * 7919 % swap_slots;
      t.begin();
      Node* cur = t.protect(0, slots[s], [](Node* n) { return n; });
      std::this_thread::sleep_for(d);
      stale = cur->value != s;
      t.end();
    }
  });
  return stale;
}

// ---------------------------------------------------------------------------------------
// W1: pair.
template <class A>
run_result run_pair(const run_params& p) {
  typename A::global g(p);
  return measure(p, [&](unsigned i, run_control& ctl) -> std::string {
    typename A::thread t(g, i, p.object_size);
    if constexpr (A::tracks_pending) ctl.tracks_pending.store(true);
    worker_slot& slot = ctl.slot(i);
    stall_clock stall(p, i);
    ctl.wait_for_start();
    stall.start();
    std::uint64_t ops = 0;
    unsigned batches = 0;
    while (!ctl.stopped()) {
      if (stall.due()) [[unlikely]] stall_pair<A>(t, stall);
      if constexpr (requires { t.pair_batch(batch); }) {
        t.pair_batch(batch);  // the peer runs this same body itself (ssmem-c: compiled as C)
      } else {
        for (unsigned k = 0; k < batch; ++k) {
          void* o = t.allocate();
          static_cast<char*>(o)[0] = static_cast<char>(k);  // use the object
          escape(o);
          t.deallocate(o);
        }
      }
      ops += batch;
      if constexpr (A::tracks_pending) {
        if (++batches % pending_every_batches == 0) slot.pending.store(t.pending(), std::memory_order_relaxed);
      }
    }
    slot.ops.store(ops, std::memory_order_relaxed);
    report_extras(t, ctl);
    stall.report(ctl);
    return {};
  });
}

template <class A>
run_fn pair_fn() {
  return [](const run_params& p) { return run_pair<A>(p); };
}

// ---------------------------------------------------------------------------------------
// W2 swap and W4 release.
template <class S>
struct swap_node {
  [[no_unique_address]] typename S::hook hook;  // first: schemes find the object from it
  std::uint64_t value;
};

template <class S>
run_result run_swap(const run_params& p, use u) {
  using node = swap_node<S>;
  const std::size_t bytes = u == use::release && p.object_size > sizeof(node) ? p.object_size : sizeof(node);
  typename S::global g(p);
  std::vector<std::atomic<node*>> slots(swap_slots);
  std::barrier sync(p.threads);
  auto identity = [](node* n) { return n; };
  return measure(p, [&](unsigned i, run_control& ctl) -> std::string {
    typename S::thread t(g, i, bytes, u);
    if constexpr (S::tracks_pending) ctl.tracks_pending.store(true);
    worker_slot& slot = ctl.slot(i);
    if (i == 0) {
      for (std::size_t k = 0; k < swap_slots; ++k) {
        node* n = ::new (t.alloc()) node;
        n->value = k;
        slots[k].store(n, std::memory_order_release);
      }
    }
    sync.arrive_and_wait();  // slots filled
    rng r(p.seed * 7919 + i);
    std::uint64_t stale = 0;
    stall_clock stall(p, i);
    ctl.wait_for_start();
    stall.start();
    std::uint64_t ops = 0;
    unsigned batches = 0;
    while (!ctl.stopped()) {
      if (stall.due()) [[unlikely]] stale += stall_swap<S>(t, slots.data(), stall);
      if constexpr (requires { t.swap_batch(slots.data(), swap_slots, r, batch); }) {
        // The peer runs this same body itself (ssmem-c: compiled as C, same slot sequence).
        stale += t.swap_batch(slots.data(), swap_slots, r, batch);
      } else {
        for (unsigned k = 0; k < batch; ++k) {
          const std::size_t s = r.below_pow2(swap_slots);
          node* n = ::new (t.alloc()) node;  // before the load: ssmem's bump on alloc
          t.begin();
          node* cur = t.protect(0, slots[s], identity);
          const std::uint64_t v = cur->value;
          n->value = v;
          // acq_rel: release publishes n's value; acquire orders our read of cur before the
          // exchange that unlinks it (the retire below comes after).
          node* old = slots[s].exchange(n, std::memory_order_acq_rel);
          t.end();
          t.retire(old);
          stale += v != s;
        }
      }
      ops += batch;
      if constexpr (S::tracks_pending) {
        if (++batches % pending_every_batches == 0) slot.pending.store(t.pending(), std::memory_order_relaxed);
      }
    }
    slot.ops.store(ops, std::memory_order_relaxed);
    report_extras(t, ctl);
    stall.report(ctl);
    t.idle();
    sync.arrive_and_wait();  // every worker stopped
    std::string error;
    if (i == 0) {
      if (p.corrupt) slots[swap_slots / 2].load(std::memory_order_acquire)->value = swap_slots / 2 + 1;
      std::size_t bad = 0, first_bad = 0;
      for (std::size_t k = 0; k < swap_slots; ++k) {
        if (slots[k].load(std::memory_order_acquire)->value != k) {
          if (bad++ == 0) first_bad = k;
        }
      }
      if (bad != 0) {
        error = "value check failed: " + std::to_string(bad) + " slot(s) do not hold their index (first: slot " +
                std::to_string(first_bad) + ")";
      }
    }
    if (stale != 0 && error.empty()) {
      error = "value check failed: " + std::to_string(stale) + " copy(ies) read another slot's value";
    }
    sync.arrive_and_wait();  // checked
    if (i == 0) {
      for (std::size_t k = 0; k < swap_slots; ++k) t.dispose_now(slots[k].load(std::memory_order_relaxed));
    }
    sync.arrive_and_wait();  // disposed: the objects' memory may now go away
    return error;
  });
}

template <class S>
run_fn swap_fn() {
  return [](const run_params& p) { return run_swap<S>(p, use::swap); };
}
template <class S>
run_fn release_fn() {
  return [](const run_params& p) { return run_swap<S>(p, use::release); };
}

// ---------------------------------------------------------------------------------------
// W3: a hash set of Harris-Michael lists (Michael 2002: marked next pointers; a traversal
// unlinks the marked nodes it meets and the thread whose CAS unlinks a node retires it).
// Hazard slots rotate among three (prev, cur, next); epoch schemes ignore them.
constexpr std::uint64_t set_keys = 1024;
constexpr std::size_t set_buckets = 64;

template <class S>
struct set_node {
  [[no_unique_address]] typename S::hook hook;
  std::atomic<std::uintptr_t> next;  // low bit: this node is logically removed
  std::uint64_t key;
};

template <class S>
class hm_set {
 public:
  using node = set_node<S>;
  using thread = typename S::thread;

  static node* ptr(std::uintptr_t w) { return reinterpret_cast<node*>(w & ~std::uintptr_t{1}); }
  static bool marked(std::uintptr_t w) { return (w & 1) != 0; }

  bool contains(thread& t, std::uint64_t key) {
    position pos = find(t, key);
    return pos.found;
  }

  /// Inserts `spare` with `key`; on success spare is consumed (nullptr).
  bool insert(thread& t, std::uint64_t key, node*& spare) {
    for (;;) {
      position pos = find(t, key);
      if (pos.found) return false;
      spare->key = key;
      spare->next.store(reinterpret_cast<std::uintptr_t>(pos.cur), std::memory_order_relaxed);
      std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(pos.cur);
      // release: publishes the node's key and next.
      if (pos.prev->compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(spare),
                                            std::memory_order_release, std::memory_order_relaxed)) {
        spare = nullptr;
        return true;
      }
    }
  }

  bool remove(thread& t, std::uint64_t key) {
    for (;;) {
      position pos = find(t, key);
      if (!pos.found) return false;
      std::uintptr_t next = pos.cur->next.load(std::memory_order_acquire);
      if (marked(next)) continue;  // someone else is removing it: help, then look again
      if (!pos.cur->next.compare_exchange_strong(next, next | 1, std::memory_order_acq_rel,
                                                 std::memory_order_relaxed)) {
        continue;
      }
      std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(pos.cur);
      if (pos.prev->compare_exchange_strong(expected, next, std::memory_order_acq_rel,
                                            std::memory_order_relaxed)) {
        t.retire(pos.cur);
      } else {
        find(t, key);  // unlinks (and retires) it
      }
      return true;
    }
  }

  std::atomic<std::uintptr_t>& bucket(std::uint64_t key) { return buckets_[key % set_buckets]; }

  /// Quiescent: checks every list (sorted, right bucket, unmarked), returns the size or -1.
  long long check_and_count(std::string& error) {
    long long n = 0;
    for (std::size_t b = 0; b < set_buckets; ++b) {
      std::uint64_t last = 0;
      bool first = true;
      for (std::uintptr_t w = buckets_[b].load(std::memory_order_acquire); ptr(w) != nullptr;) {
        node* c = ptr(w);
        std::uintptr_t next = c->next.load(std::memory_order_acquire);
        if (marked(next)) {
          w = next;
          continue;  // a removed node still linked is allowed; not counted
        }
        if (c->key % set_buckets != b || (!first && c->key <= last) || c->key >= set_keys) {
          error = "set check failed: bucket " + std::to_string(b) + " is not a sorted list of its keys";
          return -1;
        }
        first = false;
        last = c->key;
        ++n;
        w = next;
      }
    }
    return n;
  }

  /// Quiescent: hands every node still linked to dispose.
  template <class F>
  void dispose_all(F dispose) {
    for (auto& b : buckets_) {
      for (std::uintptr_t w = b.load(std::memory_order_relaxed); ptr(w) != nullptr;) {
        node* c = ptr(w);
        w = c->next.load(std::memory_order_relaxed);
        dispose(c);
      }
    }
  }

 private:
  struct position {
    std::atomic<std::uintptr_t>* prev;
    node* cur;
    bool found;
  };

  // Forced inline for every scheme: left to the compiler, the inlining differed between
  // schemes (out of line for ssmem, inline for leak and ck-epoch), which alone moved W3 by
  // 5-10%. Forced out of line, every scheme ran 3-8% slower and the order stayed.
  [[gnu::always_inline]] position find(thread& t, std::uint64_t key) {
    auto strip = [](std::uintptr_t w) { return ptr(w); };
  retry:
    std::atomic<std::uintptr_t>* prev = &bucket(key);
    unsigned hp_prev = 0, hp_cur = 1, hp_next = 2;
    std::uintptr_t cur = t.protect(hp_cur, *prev, strip);
    for (;;) {
      if (marked(cur)) goto retry;  // prev's node was removed under us
      node* c = ptr(cur);
      if (c == nullptr) return {prev, nullptr, false};
      std::uintptr_t next = t.protect(hp_next, c->next, strip);
      if (marked(next)) {
        std::uintptr_t expected = cur;
        if (!prev->compare_exchange_strong(expected, next & ~std::uintptr_t{1}, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
          goto retry;
        }
        t.retire(c);
        cur = next & ~std::uintptr_t{1};
        std::swap(hp_cur, hp_next);  // the new cur is protected by the next slot
        continue;
      }
      const std::uint64_t ckey = c->key;
      // c was still reachable from prev after we read its next and key.
      if (prev->load(std::memory_order_acquire) != cur) goto retry;
      if (ckey >= key) return {prev, c, ckey == key};
      prev = &c->next;
      const unsigned old_prev = hp_prev;
      hp_prev = hp_cur;
      hp_cur = hp_next;
      hp_next = old_prev;
      cur = next;
    }
  }

  std::atomic<std::uintptr_t> buckets_[set_buckets] = {};
};

template <class S>
run_result run_set(const run_params& p) {
  using set_t = hm_set<S>;
  using node = typename set_t::node;
  typename S::global g(p);
  set_t set;
  std::barrier sync(p.threads);
  std::atomic<long long> delta{0};  // successful inserts - removes
  long long initial = 0;
  return measure(p, [&](unsigned i, run_control& ctl) -> std::string {
    typename S::thread t(g, i, sizeof(node), use::set);
    if constexpr (S::tracks_pending) ctl.tracks_pending.store(true);
    worker_slot& slot = ctl.slot(i);
    node* spare = nullptr;
    if (i == 0) {
      for (std::uint64_t k = 0; k < set_keys; k += 2) {
        if (spare == nullptr) spare = ::new (t.alloc()) node;
        t.begin();
        initial += set.insert(t, k, spare);
        t.end();
      }
    }
    sync.arrive_and_wait();
    rng r(p.seed * 104729 + i);
    long long my_delta = 0;
    ctl.wait_for_start();
    std::uint64_t ops = 0;
    unsigned batches = 0;
    while (!ctl.stopped()) {
      for (unsigned k = 0; k < batch; ++k) {
        const std::uint64_t x = r.next();
        const std::uint64_t key = x % set_keys;
        const unsigned dice = static_cast<unsigned>((x >> 32) % 200);  // < 2*update: update
        if (spare == nullptr) spare = ::new (t.alloc()) node;  // outside the section
        t.begin();
        if (dice < p.update_percent) {
          my_delta += set.insert(t, key, spare);
        } else if (dice < 2 * p.update_percent) {
          my_delta -= set.remove(t, key);
        } else {
          escape(reinterpret_cast<void*>(static_cast<std::uintptr_t>(set.contains(t, key))));
        }
        t.end();
      }
      ops += batch;
      if constexpr (S::tracks_pending) {
        if (++batches % pending_every_batches == 0) slot.pending.store(t.pending(), std::memory_order_relaxed);
      }
    }
    slot.ops.store(ops, std::memory_order_relaxed);
    report_extras(t, ctl);
    delta.fetch_add(my_delta, std::memory_order_relaxed);
    t.idle();
    sync.arrive_and_wait();
    std::string error;
    if (i == 0) {
      long long n = set.check_and_count(error);
      long long expected = initial + delta.load(std::memory_order_relaxed);
      if (error.empty() && n != expected) {
        error = "set check failed: " + std::to_string(n) + " keys present, " + std::to_string(expected) +
                " expected from the successful inserts and removes";
      }
    }
    sync.arrive_and_wait();
    if (spare != nullptr) t.dispose_now(spare);
    if (i == 0) set.dispose_all([&](node* n) { t.dispose_now(n); });
    sync.arrive_and_wait();  // disposed: the nodes' memory (ssmem's chunks) may now go away
    return error;
  });
}

template <class S>
run_fn set_fn() {
  return [](const run_params& p) { return run_set<S>(p); };
}

}  // namespace bench

#endif
