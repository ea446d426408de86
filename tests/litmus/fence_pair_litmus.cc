// A store-buffering litmus test of native_policy's asymmetric fence pair [S2]/[S5] as shipped.
//
// Relacy models fence_light()/fence_heavy() as two seq_cst fences and ThreadSanitizer ignores
// fences, so neither looks at the real pair: a compiler barrier on the light side backed by
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) on the heavy side, or `lock or` on both sides
// (the fallback, SSMEM_NO_MEMBARRIER=1). This program runs the pattern the pair exists for on
// two real threads, round after round:
//
//   thread L (a reader's bump):        thread H (a collector's stamp):
//     version.store(r, release)  [S1]    pointer.store(r, release)    (the unlink)
//     fence_light()              [S2]    fence_heavy()                [S5]
//     l = pointer.load(acquire)          h = version.load(acquire)    [S8]
//
// In round r both stores write r over the previous round's r - 1, so a load that returns r - 1
// missed the other thread's store of this round. "Both missed" (l == r - 1 and h == r - 1) is
// the store-buffering outcome: a collector that reads the reader's old version while the reader
// loads the old pointer, i.e. I1 broken. Two seq_cst fences forbid it, and so must the shipped
// pair. The unlink is a release store on purpose: a plain `mov` on x86-64, which (unlike a CAS
// or exchange) fences nothing by itself, so only fence_heavy() stands between H's store and load.
//
// Variants (SSMEM_LITMUS_VARIANT, set by tests/litmus/BUILD):
//   0  the shipped pair: the forbidden outcome must never appear (any one is a failure);
//   1  negative control, compiler barriers (std::atomic_signal_fence) on both sides: the
//      forbidden outcome must appear, or the test cannot fail on this machine;
//   2  mutant: fence_light() as shipped, the heavy side only a compiler barrier (the weakening
//      a reviewer tried: the whole suite passed it). Must appear as well.
//   3  mutant: the light side only a compiler barrier on both paths, fence_heavy() as shipped
//      (on the fallback, `lock or` on the heavy side alone). Run on the fallback only: on the
//      membarrier path this is the shipped code. Must appear.
// Variants 1 to 3 fail when they observe no forbidden outcome in their budget ("NOT ABLE TO
// FAIL HERE"), so a machine or kernel on which the litmus cannot show the reordering turns the
// suite red instead of passing the shipped variant vacuously.
//
// Each round is started by H (a round counter that L spins on) and closed by L (a done counter
// that H spins on). Before its store each thread waits a small random number of spins (the
// jitter), so that the two store/fence/load windows slide over each other across rounds; H
// also waits `lead` spins, adapted as it goes, to make up for L seeing the round start later
// than H starts it, so that the windows stay centred on each other. Every outcome is counted
// and printed; the shipped variant also requires rounds in which the two windows overlapped
// (both loads saw the other store), or it would have tested nothing.
//
// The two threads are pinned to two different CPUs of the process's affinity mask, so that
// whenever both run they run at the same time; on a machine shared with other work a run can
// still get few overlapping rounds, so the shipped variant goes on past its budget (up to four
// times it) until SSMEM_LITMUS_MIN_OVERLAP rounds have overlapped, and fails only if none did.
//
// Environment: SSMEM_LITMUS_MS (time budget, default 3000), SSMEM_LITMUS_MIN_OVERLAP (default
// 1000), SSMEM_LITMUS_ROUNDS (cap, default 50,000,000), SSMEM_LITMUS_SEED, SSMEM_LITMUS_JITTER (maximum random spins, default 64), and
// for variants 1 to 3 SSMEM_LITMUS_ENOUGH (stop once that many forbidden outcomes were seen,
// default 1000: on an idle machine that takes well under a second, on a loaded one the budget
// is what gives the control its chance).
// Argument: --expect-path=membarrier|fallback (the path native_policy must be on).
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "ssmem/native_policy.hpp"

#ifndef SSMEM_LITMUS_VARIANT
#define SSMEM_LITMUS_VARIANT 0
#endif

namespace {

using ssmem::native_policy;

constexpr int variant = SSMEM_LITMUS_VARIANT;
static_assert(variant >= 0 && variant <= 3, "SSMEM_LITMUS_VARIANT is 0, 1, 2 or 3");
constexpr bool forbidden_must_appear = variant != 0;
constexpr const char* variant_name[] = {
    "shipped pair: fence_light + fence_heavy",
    "negative control: compiler barriers on both sides",
    "mutant: fence_light + compiler barrier as the heavy side",
    "mutant: compiler barrier as the light side + fence_heavy",
};

[[gnu::always_inline]] inline void light_side() {
  if constexpr (variant == 1 || variant == 3) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    native_policy::fence_light();
  }
}

[[gnu::always_inline]] inline void heavy_side() {
  if constexpr (variant == 0 || variant == 3) {
    native_policy::fence_heavy();
  } else {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
}

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  return std::strtoull(s, nullptr, 0);
}

/// splitmix64, one per thread.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// `n` iterations of an empty loop that the compiler may not drop (an empty asm volatile).
[[gnu::noinline]] void spin(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) asm volatile("");
}

/// Spins until `a` reaches `want` (acquire); yields now and then so that a descheduled peer
/// gets the CPU back on a loaded machine.
void wait_for(const std::atomic<std::uint64_t>& a, std::uint64_t want) {
  unsigned n = 0;
  while (a.load(std::memory_order_acquire) < want) {
    if (++n % 4096 == 0) {
      sched_yield();
    } else {
      cpu_relax();
    }
  }
}

// Each variable on its own cache line: the two stores and the two loads touch two lines, as a
// version in a thread record and a pointer in a data structure do.
struct alignas(64) line {
  std::atomic<std::uint64_t> v{0};
};

line version;       // L's version (stored by L, loaded by H)
line pointer;       // the shared pointer (stored by H, loaded by L)
line start_round;   // H -> L: round r may start
line done_round;    // L -> H: L finished round r
line l_result;      // what L's load returned in the round done_round names

/// Pins the calling thread to `cpu`; false if that is refused.
bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* expect_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--expect-path=", 14) == 0) {
      expect_path = argv[i] + 14;
    } else {
      std::fprintf(stderr, "usage: %s [--expect-path=membarrier|fallback]\n", argv[0]);
      return 2;
    }
  }

  const std::uint64_t budget_ms = env_u64("SSMEM_LITMUS_MS", 3000);
  const std::uint64_t max_rounds = env_u64("SSMEM_LITMUS_ROUNDS", 50'000'000);
  const std::uint64_t jitter = env_u64("SSMEM_LITMUS_JITTER", 64) + 1;
  const std::uint64_t enough = env_u64("SSMEM_LITMUS_ENOUGH", 1000);
  const std::uint64_t min_overlap = env_u64("SSMEM_LITMUS_MIN_OVERLAP", 1000);
  const std::uint64_t seed = env_u64(
      "SSMEM_LITMUS_SEED",
      std::random_device{}() ^
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const bool on_membarrier = native_policy::membarrier_available;
  const char* path = on_membarrier ? "membarrier" : "fallback";

  std::printf("fence_pair_litmus: %s\n", variant_name[variant]);
  std::printf("  path: native_policy::membarrier_available = %s (%s)\n",
              on_membarrier ? "true" : "false",
              on_membarrier ? "light = compiler barrier, heavy = membarrier(PRIVATE_EXPEDITED)"
                            : "both sides full_fence(): lock or on x86-64");
  std::printf("  SSMEM_LITMUS_MS=%" PRIu64 " SSMEM_LITMUS_ROUNDS=%" PRIu64
              " SSMEM_LITMUS_JITTER=%" PRIu64 " SSMEM_LITMUS_SEED=%" PRIu64
              " (hardware threads: %u)\n",
              budget_ms, max_rounds, jitter - 1, seed, std::thread::hardware_concurrency());
  if (forbidden_must_appear)
    std::printf("  must observe the forbidden outcome: stops after SSMEM_LITMUS_ENOUGH=%" PRIu64
                " of them, fails if the budget ends with none\n",
                enough);

  // The first two CPUs this process may run on: H on one, L on the other.
  int cpus[2] = {-1, -1};
  {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
      for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; ++c)
        if (CPU_ISSET(c, &allowed)) cpus[n++] = c;
    }
  }
  const bool pinned = cpus[1] >= 0 && pin_to(cpus[0]);
  if (pinned) {
    std::printf("  threads pinned: H on CPU %d, L on CPU %d\n", cpus[0], cpus[1]);
  } else {
    std::printf("  WARNING: fewer than two CPUs to pin the threads to: rounds may not overlap\n");
  }
  std::fflush(stdout);

  if (expect_path != nullptr && std::strcmp(expect_path, path) != 0) {
    if (std::strcmp(expect_path, "membarrier") == 0) {
      // The library would use the fallback in production too, so this is not a bug of the
      // library, but this target then does not test the membarrier path: say so loudly.
      std::printf(
          "  WARNING: membarrier(PRIVATE_EXPEDITED) is NOT available here (kernel, seccomp or "
          "SSMEM_NO_MEMBARRIER=1 in the environment): this run tests the fallback, NOT the "
          "membarrier path\n");
    } else {
      std::fprintf(stderr, "FAILED: expected the %s path, native_policy is on the %s path\n",
                   expect_path, path);
      return 1;
    }
  }

  // Outcome counts, by (L saw H's store, H saw L's store).
  std::uint64_t both_saw = 0, only_l_saw = 0, only_h_saw = 0, both_missed = 0;
  std::uint64_t first_forbidden_round = 0;
  std::uint64_t harness_errors = 0;
  std::atomic<bool> stop{false};

  std::thread l_thread([&] {
    if (pinned) (void)pin_to(cpus[1]);
    rng r{seed ^ 0x5555555555555555ull};
    for (std::uint64_t round = 1;; ++round) {
      wait_for(start_round.v, round);
      if (stop.load(std::memory_order_relaxed)) return;
      spin(r.next() % jitter);
      version.v.store(round, std::memory_order_release);  // [S1]
      light_side();                                       // [S2]
      std::uint64_t l = pointer.v.load(std::memory_order_acquire);
      l_result.v.store(l, std::memory_order_relaxed);
      done_round.v.store(round, std::memory_order_release);
    }
  });

  // H starts each round before L can see it, so H's window runs ahead of L's; `lead` delays H
  // by enough spins to cancel that: every 256 rounds it moves one step towards the point where
  // L's store misses H's load as often as H's store misses L's load (the windows centred).
  constexpr std::uint64_t max_lead = 2048;
  std::uint64_t lead = 0, block_only_l = 0, block_only_h = 0, lead_sum = 0;
  rng r{seed};
  const auto t0 = std::chrono::steady_clock::now();
  const auto deadline = t0 + std::chrono::milliseconds(budget_ms);
  const auto last_deadline = t0 + std::chrono::milliseconds(4 * budget_ms);
  std::uint64_t round = 1;
  for (; round <= max_rounds; ++round) {
    start_round.v.store(round, std::memory_order_release);
    spin(lead + r.next() % jitter);
    pointer.v.store(round, std::memory_order_release);  // the unlink
    heavy_side();                                       // [S5]
    std::uint64_t h = version.v.load(std::memory_order_acquire);  // [S8]
    wait_for(done_round.v, round);
    std::uint64_t l = l_result.v.load(std::memory_order_relaxed);
    bool l_saw = l == round, h_saw = h == round;
    if ((l != round && l != round - 1) || (h != round && h != round - 1)) {
      if (++harness_errors <= 5)
        std::fprintf(stderr, "FAILED: harness: round %" PRIu64 " read l=%" PRIu64 " h=%" PRIu64 "\n",
                     round, l, h);
    }
    if (l_saw && h_saw) {
      ++both_saw;
    } else if (l_saw) {
      ++only_l_saw;
      ++block_only_l;
    } else if (h_saw) {
      ++only_h_saw;
      ++block_only_h;
    } else {
      if (both_missed++ == 0) first_forbidden_round = round;
      if (!forbidden_must_appear && both_missed <= 5)
        std::fprintf(stderr,
                     "FAILED: round %" PRIu64
                     ": both loads missed the other thread's store (store buffering through "
                     "the %s path)\n",
                     round, path);
    }
    lead_sum += lead;
    if ((round & 255) == 0) {
      if (block_only_l > block_only_h) {
        // Capped: on a loaded machine L is late because it was descheduled, not because of
        // the cache line, and no lead makes up for that.
        if (lead < max_lead) ++lead;
      } else if (block_only_h > block_only_l && lead > 0) {
        --lead;
      }
      block_only_l = block_only_h = 0;
      if (forbidden_must_appear && both_missed >= enough) break;
      const auto now = std::chrono::steady_clock::now();
      // The shipped variant goes on past its budget while too few rounds have overlapped.
      if (now >= deadline && (forbidden_must_appear || both_saw >= min_overlap)) break;
      if (now >= last_deadline) break;
    }
  }
  if (round > max_rounds) round = max_rounds;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true, std::memory_order_relaxed);
  start_round.v.store(round + 1, std::memory_order_release);
  l_thread.join();

  std::printf("  rounds: %" PRIu64 " in %.2f s (%.0f rounds/s)\n", round, seconds,
              static_cast<double>(round) / seconds);
  std::printf("  H's lead (spins before its store, adapted): mean %.1f, last %" PRIu64 "\n",
              static_cast<double>(lead_sum) / static_cast<double>(round), lead);
  std::printf("  outcomes (L's load of the pointer, H's load of the version):\n");
  std::printf("    both saw the other's store (windows overlapped)   %12" PRIu64 "\n", both_saw);
  std::printf("    only L saw H's store                                %12" PRIu64 "\n", only_l_saw);
  std::printf("    only H saw L's store                                %12" PRIu64 "\n", only_h_saw);
  std::printf("    both missed (FORBIDDEN for the shipped pair)        %12" PRIu64, both_missed);
  if (both_missed != 0) std::printf("  (first in round %" PRIu64 ")", first_forbidden_round);
  std::printf("\n");

  if (harness_errors != 0) {
    std::fprintf(stderr, "FAILED: %" PRIu64 " round(s) read a value of another round\n",
                 harness_errors);
    return 1;
  }
  if (forbidden_must_appear) {
    if (both_missed == 0) {
      std::printf(
          "  NOT ABLE TO FAIL HERE: %s observed no store-buffering outcome in %" PRIu64
          " rounds; on this machine the litmus test cannot show the reordering it guards "
          "against, so the shipped variant's pass proves nothing here. FAILING.\n",
          variant_name[variant], round);
      return 1;
    }
    std::printf("  %s: forbidden outcome observed %" PRIu64 " times in %" PRIu64
                " rounds (1 in %.0f): the litmus test can fail on this machine\n",
                variant_name[variant], both_missed, round,
                static_cast<double>(round) / static_cast<double>(both_missed));
    return 0;
  }
  if (both_missed != 0) {
    std::fprintf(stderr,
                 "FAILED: the shipped fence pair (%s path) let both loads miss %" PRIu64
                 " times in %" PRIu64 " rounds\n",
                 path, both_missed, round);
    return 1;
  }
  if (both_saw == 0) {
    std::fprintf(stderr,
                 "FAILED: in %" PRIu64
                 " rounds the two windows never overlapped (no round where both loads saw the "
                 "other store): the run tested nothing; are both threads getting a CPU?\n",
                 round);
    return 1;
  }
  if (both_saw < min_overlap)
    std::printf("  WARNING: only %" PRIu64 " overlapping rounds (wanted %" PRIu64
                ") in four times the budget: the machine is busy, the sample is thin\n",
                both_saw, min_overlap);
  std::printf("  shipped pair on the %s path: forbidden outcome never observed in %" PRIu64
              " rounds (%" PRIu64 " overlapping): passed\n",
              path, round, both_saw);
  return 0;
}
