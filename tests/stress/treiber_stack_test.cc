// A Treiber stack whose popped nodes are freed through ssmem. Reclamation is what makes the
// pop's read of top->next and its CAS safe: the popped node cannot be reused (and pushed again:
// ABA) while another thread still holds it between its load of the top and its CAS. Every
// pushed key is unique (thread << 40 | sequence); at the end, the popped keys plus the stack's
// contents must be exactly the pushed keys, each once. A premature reuse corrupts `next` or
// `key` (lost or duplicated keys) and, under ThreadSanitizer, races with the reader.
#include <algorithm>
#include <barrier>
#include <string>
#include <vector>

#include "tests/stress/apis.hpp"
#include "tests/stress/harness.hpp"

namespace {

using stress::rng;

struct node {
  std::uint64_t key;  // plain: written before the publishing CAS, read by poppers
  node* next;         // plain: immutable while the node is on the stack
};

struct phase_spec {
  const char* api;
  ssmem::ts_policy bump_on;
  unsigned allocators;
};

template <class Worker>
std::uint64_t run_phase(const stress::config& cfg, unsigned phase, const phase_spec& spec,
                        unsigned threads, std::uint64_t ms) {
  std::atomic<node*> top{nullptr};
  ssmem::domain dom;
  std::barrier sync(threads);
  std::vector<std::vector<std::uint64_t>> popped(threads);
  std::vector<std::uint64_t> pushed(threads, 0);
  stress::deadline stop(ms);
  // Bounded per thread: the popped log is kept for the final check.
  const std::uint64_t max_ops = std::min<std::uint64_t>(cfg.max_iters, 400'000);

  stress::run_threads(threads, [&](unsigned t) {
    rng r = cfg.thread_rng(phase, t);
    stress::worker_options wo;
    wo.object_size = sizeof(node);
    wo.allocators = spec.allocators;
    cfg.draw_options(r, cfg.profile_of(phase, t), wo.opts);
    wo.opts.chunk_size = std::size_t{16} << 10;
    wo.opts.bump_on = spec.bump_on;
    Worker w(dom, t, wo);
    std::vector<std::uint64_t>& log = popped[t];
    std::uint64_t seq = 0;

    std::uint64_t ops = 0;
    while (ops < max_ops && (ops % 64 != 0 || !stop.passed())) {
      unsigned k = static_cast<unsigned>(r.below(w.allocators()));
      if (r.chance(50)) {
        // push: allocate first (a bump on allocation comes before any shared load).
        node* n = static_cast<node*>(w.alloc(k));
        n->key = (std::uint64_t{t} << 40) | seq++;
        node* old = top.load(std::memory_order_relaxed);
        do {
          n->next = old;
          // release: publishes key and next; relaxed on failure (old is only stored in n).
        } while (!top.compare_exchange_weak(old, n, std::memory_order_release,
                                            std::memory_order_relaxed));
      } else {
        // pop: acquire pairs with the push's release (key/next of the node are visible).
        node* h = top.load(std::memory_order_acquire);
        while (h != nullptr &&
               !top.compare_exchange_weak(h, h->next, std::memory_order_acquire,
                                          std::memory_order_acquire)) {
        }
        if (h != nullptr) {
          log.push_back(h->key);
          w.free(k, h);  // the last access to h: a bump on free may follow
        }
      }
      if (spec.bump_on == ssmem::ts_policy::none) w.safe_to_reclaim();
      ++ops;
    }
    pushed[t] = seq;

    sync.arrive_and_wait();  // every thread has stopped
    if (t == 0) {
      std::vector<std::uint64_t> all;
      for (auto& l : popped) all.insert(all.end(), l.begin(), l.end());
      std::uint64_t expected = 0;
      for (unsigned u = 0; u < threads; ++u) expected += pushed[u];
      for (node* n = top.load(std::memory_order_acquire); n != nullptr; n = n->next) {
        all.push_back(n->key);
        if (all.size() > expected) break;  // too many, or a cycle: the count check reports it
      }
      std::sort(all.begin(), all.end());
      STRESS_CHECK(all.size() == expected, "popped + on stack = %zu keys, pushed %llu",
                   all.size(), (unsigned long long)expected);
      auto dup = std::adjacent_find(all.begin(), all.end());
      STRESS_CHECK(dup == all.end(), "key %llx seen twice (a node was reused while held)",
                   dup == all.end() ? 0ull : (unsigned long long)*dup);
      for (std::uint64_t key : all) {
        unsigned owner = static_cast<unsigned>(key >> 40);
        std::uint64_t s = key & ((std::uint64_t{1} << 40) - 1);
        if (owner >= threads || s >= pushed[owner]) {
          STRESS_CHECK(false, "key %llx was never pushed", (unsigned long long)key);
          break;
        }
      }
    }
    sync.arrive_and_wait();  // checked: allocators may return their memory
  });
  std::uint64_t total = 0;
  for (auto& l : popped) total += l.size();
  return total;
}

}  // namespace

int main() {
  using ssmem::ts_policy;
  const phase_spec phases[] = {
      {"c++", ts_policy::both, 1},
      {"c++", ts_policy::on_free, 2},
      {"c", ts_policy::none, 1},
      {"c", ts_policy::on_alloc, 2},
  };
  return stress::run_phases(
      "treiber_stack_test", phases,
      [](auto worker, const stress::config& cfg, unsigned ph, const phase_spec& s,
         unsigned threads, std::uint64_t ms) {
        return run_phase<typename decltype(worker)::type>(cfg, ph, s, threads, ms);
      },
      [](const phase_spec& s, unsigned threads) {
        char title[128];
        std::snprintf(title, sizeof title, "%s ts=%s allocators=%u threads=%u (pops)", s.api,
                      stress::ts_name(s.bump_on), s.allocators, threads);
        return std::string(title);
      });
}
