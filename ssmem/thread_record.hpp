/// \file
/// A thread record: one registered thread's version counter (its timestamp) and its slot in
/// the domain. Invariant I1: a thread holds no reference that it loaded before its latest
/// version change; only the owner writes `version`, and every change makes it larger.
///
/// A version value is 2 * count + offline: bump() adds 2; going offline adds 1 (odd: the thread
/// holds no references at all and blocks no collection); going online adds 1 (even again).
/// Every transition strictly increases the value, so "strictly greater" in a later snapshot
/// always means "this thread has moved on". 64 bits do not wrap in practice: at one bump per
/// nanosecond that takes 292 years.
#ifndef SSMEM_THREAD_RECORD_HPP
#define SSMEM_THREAD_RECORD_HPP

#include <cstddef>
#include <cstdint>

#include "ssmem/policy.hpp"

namespace ssmem {

/// A version (timestamp): 2 * count + offline bit.
using version_t = std::uint64_t;

/// Whether a version value means "offline" (odd).
constexpr bool version_is_offline(version_t v) noexcept { return (v & 1u) != 0; }

/// A registered thread's version counter and its slot (see the file comment). Owned by
/// one thread at a time; "owner only" members must be called by that thread.
template <class Policy>
class alignas(64) thread_record {
 public:
  /// The version a new record is published with: offline, count 0.
  static constexpr version_t initial_version = 1;  // registered offline, count 0

  /// Owner only. The thread promises it holds no reference it loaded before this call.
  void bump(source_location loc = source_location::current()) noexcept { advance(2, loc); }

  /// Owner only. From offline to online; after it the thread may load shared references.
  void go_online(source_location loc = source_location::current()) noexcept {
    advance(1, loc);
  }

  /// Owner only. The thread holds no references until go_online().
  void go_offline(source_location loc = source_location::current()) noexcept {
    // relaxed: only the owner writes version_.
    version_t v = version_.load(std::memory_order_relaxed, loc);
    // [S3] release, pairs with [S8] (acquire) in basic_domain::read_versions (every stamp and
    // probe): the reads this thread made before going offline happen before any reuse by a
    // collector that saw it offline.
    version_.store(v + 1, std::memory_order_release, loc);
  }

  /// Owner only. Enters a critical section (like ck_epoch_begin, or a pin in crossbeam): a
  /// thread that is offline goes online for the section and may load shared references until
  /// the matching exit_section(). Sections nest; only the outermost one changes the version.
  /// A thread that is online already (it does not use sections, or the section is inside an
  /// online stretch) stays as it is. The steps are go_online's, with one load of the version.
  void enter_section(source_location loc = source_location::current()) noexcept {
    const unsigned state = section_state_;
    section_state_ = state + 2;  // one level deeper
    if (state != 0) return;      // nested: the outermost section decided
    // relaxed: only the owner writes version_.
    version_t v = version_.load(std::memory_order_relaxed, loc);
    if (!version_is_offline(v)) return;  // online anyway: nothing to undo at the exit
    section_state_ = 3;                  // depth 1, and this section took the thread online
    // [S1] release, pairs with [S8]: as in advance(); the version is even from here on.
    version_.store(v + 1, std::memory_order_release, loc);
    // [S2] light side of the asymmetric seq_cst fence, pairs with [S5]: as in advance(),
    // either a collector's stamp sees us online, or our loads in the section see every unlink
    // that preceded its heavy fence (breaks I1 without it: the stamp would skip us as offline
    // while we load a pointer to an object it then reuses).
    Policy::fence_light(loc);
  }

  /// Owner only. Leaves a critical section: at the end of the outermost one that went online,
  /// the thread goes offline again and holds no references from then on; it blocks no
  /// collection until its next section. The step is go_offline's.
  void exit_section(source_location loc = source_location::current()) noexcept {
    if (section_state_ == 0) return;  // an exit without an enter: ignored (checked build: aborts)
    const unsigned state = section_state_ - 2;  // one level up
    section_state_ = state;
    if (state != 1) return;  // an inner section, or the outermost found the thread online
    section_state_ = 0;
    // relaxed: only the owner writes version_.
    version_t v = version_.load(std::memory_order_relaxed, loc);
    if (version_is_offline(v)) return;  // offline already: the owner called offline() inside
    // [S3] release, pairs with [S8]: as in go_offline(), the reads made in the section happen
    // before any reuse by a collector that sees us offline (breaks I1 without it).
    version_.store(v + 1, std::memory_order_release, loc);
  }

  /// Owner only: how many sections the owner is in.
  unsigned sections() const noexcept { return section_state_ >> 1; }

  /// Any thread: the current version, read by every stamp and probe (see [S8] in the body).
  version_t load_version(source_location loc = source_location::current()) const noexcept {
    // [S8] acquire, pairs with [S1] and [S3]: a collector that reads a version also sees
    // every access the owner made before writing it, so reuse after that read happens after
    // the owner's last access to the object (breaks I1 without it).
    return version_.load(std::memory_order_acquire, loc);
  }

  /// Owner only (relaxed: the owner is the only writer).
  version_t own_version() const noexcept { return version_.load(std::memory_order_relaxed); }

  /// The record's slot in every clock (immutable once published).
  std::size_t index() const noexcept { return index_.load(); }
  /// The next (older) record of the domain's list.
  thread_record* next() const noexcept { return next_.load(); }
  /// Owner only: whether the owner is online.
  bool is_online() const noexcept { return !version_is_offline(own_version()); }

 private:
  template <class>
  friend class basic_domain;

  void advance(version_t delta, source_location loc) noexcept {
    // relaxed: only the owner writes version_.
    version_t v = version_.load(std::memory_order_relaxed, loc);
    // [S1] release, pairs with [S8]: every access this thread made to an object before the
    // bump happens before a collector's reuse of it once the collector reads the new value.
    version_.store(v + delta, std::memory_order_release, loc);
    // [S2] light side of the asymmetric seq_cst fence, pairs with [S5] (heavy side) before
    // the snapshot loads (store->load, Dekker): either the collector's snapshot sees this
    // bump, or our next load of a shared pointer sees the unlink that preceded the snapshot.
    // Without it a collector can stamp our old version while we load a pointer to an object
    // it then reuses (breaks I1).
    Policy::fence_light(loc);
  }

  // Three cache lines, by who writes them: the owner (its version, at every bump, and its
  // section state), nobody after registration (what every walk of the records reads to get
  // from one record to the next), and a publisher of a shared stamp (once per publication).
  // On one line, every probe, snapshot and borrow missed on the links of each record whose
  // owner had bumped since, and a borrow on the entry too.
  typename Policy::template atomic<version_t> version_{initial_version};
  // Owner only (plain): 2 x the nesting depth of critical sections, + 1 while the outermost
  // one took the thread online (and must take it offline again at its end).
  unsigned section_state_ = 0;
  // Set once by the domain before the record is published ([S7]), read-only afterwards.
  alignas(64) typename Policy::template var<std::size_t> index_{0};
  typename Policy::template var<thread_record*> next_{nullptr};
  // 0: free for adoption, 1: owned by a registered thread.
  typename Policy::template atomic<std::uint32_t> in_use_{1};
  // A label for humans and the C API's `id` argument (relaxed reads: diagnostics only).
  typename Policy::template atomic<std::int64_t> label_{-1};
  // This record's entry in the domain's shared stamp (basic_domain::publish_stamp): written by
  // the publishing thread, read by borrowers, both under the domain's sequence [S13]-[S16].
  alignas(64) typename Policy::template atomic<version_t> shared_entry_{0};

 public:
  /// The C API's id of the owner, or -1 (diagnostics: relaxed, orders nothing).
  std::int64_t label() const noexcept { return label_.load(std::memory_order_relaxed); }
  /// Sets the label (C API registration; relaxed, read for diagnostics only).
  void set_label(std::int64_t id) noexcept { label_.store(id, std::memory_order_relaxed); }
};

}  // namespace ssmem

#endif
