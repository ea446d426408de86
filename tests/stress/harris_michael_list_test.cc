// A Harris–Michael lock-free sorted linked list (a set of keys) whose unlinked nodes are freed
// through ssmem. Removal marks a node's `next` (logical delete), then one CAS on the
// predecessor unlinks it; the thread whose CAS unlinked a node frees it, at the end of its
// operation (after its last access to shared nodes, so that a bump on free is safe).
// Traversals read nodes that other threads are unlinking and freeing at the same time: a
// premature reuse shows as a wrong key, a broken order, a lost node or, under TSan, a race.
//
// Sequential model: thread t owns the keys k with k % threads == t, so the result of each of
// its operations is determined by its own history: insert/remove/contains must agree with a
// private bitmap, and at the end the list must hold exactly the union of the bitmaps, sorted,
// with no marked node left.
#include <barrier>
#include <new>
#include <string>
#include <vector>

#include "tests/stress/apis.hpp"
#include "tests/stress/harness.hpp"

namespace {

using stress::rng;

using link_t = std::uintptr_t;  // node address | 1 when the node holding the link is deleted
constexpr link_t mark_bit = 1;
struct lnode;
inline lnode* ptr(link_t l) { return reinterpret_cast<lnode*>(l & ~mark_bit); }
inline bool marked(link_t l) { return (l & mark_bit) != 0; }

struct lnode {
  std::uint64_t key;             // plain: written before the publishing CAS
  std::atomic<link_t> next;
};

class list {
 public:
  // The position of `key`: *prev is the link that pointed to curr (unmarked) when read, and
  // curr is the first node with key >= key (or null). Unlinks marked nodes on the way; the
  // unlinked ones go to `retired` (freed by the caller at the end of its operation).
  bool find(std::uint64_t key, std::atomic<link_t>*& prev, lnode*& curr,
            std::vector<lnode*>& retired) {
  retry:
    prev = &head_;
    // acquire: pairs with the release CAS that published the node (its key and next).
    curr = ptr(prev->load(std::memory_order_acquire));
    for (;;) {
      if (curr == nullptr) return false;
      link_t next = curr->next.load(std::memory_order_acquire);
      std::uint64_t ckey = curr->key;
      if (prev->load(std::memory_order_acquire) != reinterpret_cast<link_t>(curr)) goto retry;
      if (!marked(next)) {
        if (ckey >= key) return ckey == key;
        prev = &curr->next;
      } else {
        link_t expected = reinterpret_cast<link_t>(curr);
        // acq_rel: the unlink publishes nothing new, but orders with the other unlinkers.
        if (!prev->compare_exchange_strong(expected, next & ~mark_bit, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
          goto retry;
        }
        retired.push_back(curr);
      }
      curr = ptr(next);
    }
  }

  // Inserts `spare` with `key` unless present; true if it was used (*spare then null).
  bool insert(std::uint64_t key, lnode*& spare, std::vector<lnode*>& retired) {
    std::atomic<link_t>* prev;
    lnode* curr;
    for (;;) {
      if (find(key, prev, curr, retired)) return false;
      spare->key = key;
      spare->next.store(reinterpret_cast<link_t>(curr), std::memory_order_relaxed);
      link_t expected = reinterpret_cast<link_t>(curr);
      // release: publishes the node's key and next.
      if (prev->compare_exchange_strong(expected, reinterpret_cast<link_t>(spare),
                                        std::memory_order_release, std::memory_order_relaxed)) {
        spare = nullptr;
        return true;
      }
    }
  }

  bool remove(std::uint64_t key, std::vector<lnode*>& retired) {
    std::atomic<link_t>* prev;
    lnode* curr;
    for (;;) {
      if (!find(key, prev, curr, retired)) return false;
      link_t next = curr->next.load(std::memory_order_acquire);
      if (marked(next)) continue;
      // The logical delete: whoever marks the node owns the removal.
      if (!curr->next.compare_exchange_strong(next, next | mark_bit, std::memory_order_acq_rel,
                                              std::memory_order_relaxed)) {
        continue;
      }
      link_t expected = reinterpret_cast<link_t>(curr);
      if (prev->compare_exchange_strong(expected, next, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
        retired.push_back(curr);
      } else {
        find(key, prev, curr, retired);  // unlinks it (whoever succeeds frees it)
      }
      return true;
    }
  }

  bool contains(std::uint64_t key, std::vector<lnode*>& retired) {
    std::atomic<link_t>* prev;
    lnode* curr;
    return find(key, prev, curr, retired);
  }

  std::atomic<link_t>& head() { return head_; }

 private:
  std::atomic<link_t> head_{0};
};

struct phase_spec {
  const char* api;
  ssmem::ts_policy bump_on;
  unsigned allocators;
};

template <class Worker>
std::uint64_t run_phase(const stress::config& cfg, unsigned phase, const phase_spec& spec,
                        unsigned threads, unsigned keys_per_thread, std::uint64_t ms) {
  list l;
  ssmem::domain dom;
  std::barrier sync(threads);
  std::vector<std::vector<bool>> models(threads, std::vector<bool>(keys_per_thread, false));
  std::atomic<std::uint64_t> total_ops{0};
  stress::deadline stop(ms);

  stress::run_threads(threads, [&](unsigned t) {
    rng r = cfg.thread_rng(phase, t);
    stress::worker_options wo;
    wo.object_size = sizeof(lnode);
    wo.allocators = spec.allocators;
    cfg.draw_options(r, cfg.profile_of(phase, t), wo.opts);
    wo.opts.chunk_size = std::size_t{16} << 10;
    wo.opts.bump_on = spec.bump_on;
    Worker w(dom, t, wo);
    std::vector<bool>& model = models[t];
    std::vector<lnode*> retired;
    lnode* spare = nullptr;

    std::uint64_t ops = 0;
    while (ops < cfg.max_iters && (ops % 64 != 0 || !stop.passed())) {
      unsigned slot = static_cast<unsigned>(r.below(keys_per_thread));
      std::uint64_t key = std::uint64_t{slot} * threads + t;
      unsigned what = static_cast<unsigned>(r.below(100));
      if (what < 40) {
        // Allocate before the traversal: a bump on allocation must not fall inside it.
        if (spare == nullptr) {
          spare = ::new (w.alloc(static_cast<unsigned>(r.below(w.allocators())))) lnode{0, {0}};
        }
        bool done = l.insert(key, spare, retired);
        STRESS_CHECK(done == !model[slot], "insert(%llu) returned %d, model says %d",
                     (unsigned long long)key, done, !model[slot]);
        model[slot] = true;
      } else if (what < 80) {
        bool done = l.remove(key, retired);
        STRESS_CHECK(done == model[slot], "remove(%llu) returned %d, model says %d",
                     (unsigned long long)key, done, static_cast<int>(model[slot]));
        model[slot] = false;
      } else {
        bool in = l.contains(key, retired);
        STRESS_CHECK(in == model[slot], "contains(%llu) returned %d, model says %d",
                     (unsigned long long)key, in, static_cast<int>(model[slot]));
      }
      // End of the operation: no reference held any more, the unlinked nodes can go.
      for (lnode* n : retired) w.free(static_cast<unsigned>(r.below(w.allocators())), n);
      retired.clear();
      if (spec.bump_on == ssmem::ts_policy::none) w.safe_to_reclaim();
      ++ops;
    }
    if (spare != nullptr) w.free(0, spare);
    total_ops.fetch_add(ops);

    sync.arrive_and_wait();  // every thread has stopped
    if (t == 0) {
      std::vector<std::uint64_t> expected;
      for (std::uint64_t k = 0; k < std::uint64_t{keys_per_thread} * threads; ++k) {
        if (models[k % threads][k / threads]) expected.push_back(k);
      }
      std::size_t i = 0;
      std::uint64_t prev_key = 0;
      for (link_t c = l.head().load(std::memory_order_acquire); ptr(c) != nullptr;
           c = ptr(c)->next.load(std::memory_order_acquire), ++i) {
        lnode* n = ptr(c);
        link_t nx = n->next.load(std::memory_order_relaxed);
        STRESS_CHECK(!marked(nx), "final: marked node %llu still linked",
                     (unsigned long long)n->key);
        STRESS_CHECK(i == 0 || n->key > prev_key, "final: keys out of order: %llu after %llu",
                     (unsigned long long)n->key, (unsigned long long)prev_key);
        STRESS_CHECK(i < expected.size() && expected[i] == n->key,
                     "final: position %zu holds %llu, model expects %lld", i,
                     (unsigned long long)n->key,
                     i < expected.size() ? (long long)expected[i] : -1ll);
        prev_key = n->key;
        if (i > expected.size() + 1 || stress::failures.load() != 0) break;
      }
      STRESS_CHECK(i == expected.size() || stress::failures.load() != 0,
                   "final: list holds %zu keys, model %zu", i, expected.size());
    }
    sync.arrive_and_wait();  // checked: allocators may return their memory
  });
  return total_ops.load();
}

}  // namespace

int main() {
  using ssmem::ts_policy;
  const phase_spec phases[] = {
      {"c++", ts_policy::both, 1},
      {"c++", ts_policy::on_alloc, 2},
      {"c", ts_policy::on_free, 1},
      {"c", ts_policy::none, 2},
  };
  return stress::run_phases(
      "harris_michael_list_test", phases,
      [](auto worker, const stress::config& cfg, unsigned ph, const phase_spec& s,
         unsigned threads, std::uint64_t ms) {
        return run_phase<typename decltype(worker)::type>(cfg, ph, s, threads, 16, ms);
      },
      [](const phase_spec& s, unsigned threads) {
        char title[128];
        std::snprintf(title, sizeof title, "%s ts=%s allocators=%u threads=%u keys=%u", s.api,
                      stress::ts_name(s.bump_on), s.allocators, threads, 16 * threads);
        return std::string(title);
      });
}
