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
  // Registration (basic_domain::register_thread / unregister_thread, issue 13):
  publish_by_store = 11,        // I2 broken: the head CAS is a plain store (a concurrent record is lost)
  publish_without_release = 12, // [S7] success acquire only: the new head's index/next unpublished
  retry_without_acquire = 13,   // [S7] failure relaxed: the retry reads the new head's index unordered
  head_load_relaxed = 14,       // [S6] relaxed: the walk and the retry read unpublished records
  index_computed_once = 15,     // I2 broken: the index is not recomputed after a failed CAS
  adopt_by_store = 16,          // the adoption CAS is a load and a store: two threads adopt one record
  adopt_cas_relaxed = 17,       // [S10] relaxed: the adopter does not see the last owner's version
  unregister_relaxed = 18,      // [S9] relaxed: the last owner's version is not handed over
  adopt_stays_offline = 19,     // I3 broken: an adopted record is not taken online
  load_version_relaxed = 20,    // [S8] relaxed alone: a collector's version loads acquire nothing
  deleter_at_retire = 21,       // I1 broken: a retired object's deleter runs at retire time
  partial_release_set_unstamped = 22,  // I4 broken: a stamp queues the release set that is not
                                       // full without giving it the stamp's clock
};

inline constexpr mutant_kind mutant = static_cast<mutant_kind>(SSMEM_MUTANT);

}  // namespace ssmem::detail

#endif
