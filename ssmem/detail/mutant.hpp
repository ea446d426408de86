// Compile-time bug injection for the verification suite (docs/verification.md, "Mutants").
// A production build has SSMEM_MUTANT == 0 and every `if constexpr (mutant == ...)` branch
// folds away. Each non-zero value weakens exactly one step of the algorithm; the Relacy
// suite must report a failure for every one of them, which shows that its checks have teeth.
#ifndef SSMEM_DETAIL_MUTANT_HPP
#define SSMEM_DETAIL_MUTANT_HPP

#ifndef SSMEM_MUTANT
#define SSMEM_MUTANT 0
#endif

namespace ssmem::detail {

enum class mutant_kind : int {
  none = 0,
  bump_without_fence = 1,       // [S2] removed: the version store can pass our next loads
  bump_relaxed_store = 2,       // [S1] relaxed: reads before the bump are not published
  collector_without_fence = 3,  // [S5] removed: the snapshot can read versions too early
  compare_greater_equal = 4,    // I3 broken: an equal entry counts as "newer"
  snapshot_skips_thread = 5,    // I2 broken: the snapshot misses record index 0
  collect_unstamped = 6,        // I4 broken: objects of the filling set (never stamped) are reused at once
  collect_newest_too = 7,       // I4 broken: the newest set is collected with older ones
  original_ordering = 8,        // the original C code: relaxed bump, relaxed loads, no fences
  batch_stamps_newest_only = 9, // I4 broken: of a batch of full sets, only the newest is stamped
  stamp_with_probe = 10,        // [S5] skipped: a batch is stamped with the probe's unfenced clock
  partial_release_set_unstamped = 12,  // I4 broken: a stamp queues the release set that is not
                                       // full without giving it the stamp's clock
  deleter_at_retire = 11,       // I1 broken: a retired object's deleter runs at retire time
};

inline constexpr mutant_kind mutant = static_cast<mutant_kind>(SSMEM_MUTANT);

}  // namespace ssmem::detail

#endif
