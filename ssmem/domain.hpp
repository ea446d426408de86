/// \file
/// The domain: the registry of thread records whose versions make up a vector clock.
/// Invariant I2: records are pushed at the head of a list with index = head.index + 1 and are
/// never unlinked or freed while the domain lives; a snapshot covers slots 0..head.index, and
/// versions only grow, also across the owners of an adopted record. So a snapshot sees a
/// contiguous range of slots, a record that leaves is only marked free (offline), to be adopted
/// by a later thread, and a thread's timestamp is never read after it is freed.
/// It also holds the shared stamp (a stamp's clock that serves other threads: the tickets and
/// the publication, docs/design.md §3, "Shared stamps").
#ifndef SSMEM_DOMAIN_HPP
#define SSMEM_DOMAIN_HPP

#include <cstddef>
#include <new>

#include "ssmem/options.hpp"
#include "ssmem/thread_record.hpp"
#include "ssmem/vector_clock.hpp"

namespace ssmem {

/// The registry of thread records (see the file comment). All members are thread-safe
/// unless stated otherwise.
template <class Policy>
class basic_domain {
 public:
  /// The record type.
  using record = thread_record<Policy>;

  basic_domain() = default;
  basic_domain(const basic_domain&) = delete;
  basic_domain& operator=(const basic_domain&) = delete;

  /// Frees every record. Precondition: no thread is registered any more.
  ~basic_domain() {
    // [S11] acquire, pairs with [S7]: every record reached is initialised.
    record* r = head_.load(std::memory_order_acquire);
    while (r != nullptr) {
      record* n = r->next_.load();
      r->~record();
      Policy::deallocate(r, sizeof(record));
      r = n;
    }
  }

  /// Registers the calling thread: adopts a free record or publishes a new one, then goes
  /// online. nullptr when memory runs out.
  record* register_thread(source_location loc = source_location::current()) noexcept {
    for (record* r = load_head_to_register(loc); r != nullptr; r = r->next_.load(loc)) {
      // relaxed pre-check: a hint only, the CAS below decides.
      if (r->in_use_.load(std::memory_order_relaxed, loc) != 0) continue;
      if (adopt(r, loc)) {
        r->go_online(loc);  // [S2] inside, as after a publication (I3)
        return r;
      }
    }
    void* mem = Policy::allocate(sizeof(record));
    if (mem == nullptr) return nullptr;
    record* r = new (mem) record();
    record* head = load_head_to_register(loc);
    do {
      r->next_.store(head, loc);
      r->index_.store(head != nullptr ? head->index_.load(loc) + 1 : 0, loc);
    } while (!publish(head, r, loc));  // a failed round reloaded `head`: link and index again
    // The record was published offline (ignored by every clock); going online runs [S2],
    // which orders our first shared load after any snapshot that missed us (I3).
    r->go_online(loc);
    return r;
  }

  /// The owner leaves: it holds no references from now on, and its record becomes free.
  void unregister_thread(record* r, source_location loc = source_location::current()) noexcept {
    if (!version_is_offline(r->own_version())) r->go_offline(loc);
    r->section_state_ = 0;  // owner-only state: the next owner starts outside any section
    // [S9] release, pairs with [S10]: the next owner sees our last version store (and the
    // section state reset above).
    r->in_use_.store(0, std::memory_order_release, loc);
  }

  /// Marks the record of a thread that no longer exists as offline and free, so it never
  /// blocks collection again. Only for owners that are gone without unregistering: in a
  /// child process after fork(), every thread but the caller. Not for live threads (it
  /// writes a version that only its owner may write).
  void abandon_dead_owner(record* r, source_location loc = source_location::current()) noexcept {
    if (r->in_use_.load(std::memory_order_relaxed, loc) == 0) return;  // relaxed: no owner
    unregister_thread(r, loc);
  }

  /// Stamps `out`: the heavy fence [S5], then every record's version (read_versions). A set
  /// whose objects were unlinked before this call may be reused once a later clock is newer
  /// (I3). False, with `out` untouched, if the clock cannot grow.
  bool snapshot(vector_clock<Policy>& out, source_location loc = source_location::current()) noexcept {
    // [S5] heavy side of the asymmetric seq_cst fence, pairs with [S2] in every bump and
    // go_online: the unlinks and frees that precede this snapshot are either seen by a
    // thread's loads after its next [S2], or that thread's newer version is seen here
    // (breaks I1 without it).
    Policy::fence_heavy(loc);
    return read_versions(out, loc);
  }

  /// Reads every record's version into `out`, with no fence: a probe. Such a clock may
  /// *collect* sets stamped earlier (what makes a set reusable is its own stamp's fence [S5];
  /// the collecting reads need only [S8], docs/design.md §4), but must never stamp one.
  /// False, with `out` untouched, if the clock cannot grow.
  bool read_versions(vector_clock<Policy>& out, source_location loc = source_location::current()) noexcept {
    // [S11] acquire, pairs with [S7]: index and next of every record we reach are set.
    record* head = head_.load(std::memory_order_acquire, loc);
    std::size_t n = head != nullptr ? head->index_.load(loc) + 1 : 0;
    if (!out.resize(n)) return false;
    for (record* r = head; r != nullptr; r = r->next_.load(loc)) {
      std::size_t i = r->index_.load(loc);
      out.set(i, r->load_version(loc));
    }
    out.mark_stamped(true);
    return true;
  }

  // --- Shared stamps (docs/design.md §3, "Shared stamps") ---------------------------------
  // A stamp's clock is valid for any set whose objects were unlinked before its heavy fence,
  // whoever freed them. A thread that needs a stamp can therefore take a *ticket* (a release
  // RMW after its unlinks and frees) and use the clock of another thread's stamp whose own
  // ticket is later: that stamp read the ticket counter before its heavy fence, so the
  // requester's unlinks happen before the fence. The latest such clock is published in the
  // records (shared_entry_) under a sequence number (even: stable, odd: being written).

  /// A stamp request: a ticket. Everything the caller did before it (its unlinks and frees)
  /// happens before the heavy fence of every stamp whose ticket is later (shared_snapshot).
  std::uint64_t request_stamp(source_location loc = source_location::current()) noexcept {
    // [S12] acq_rel, pairs with [S12] of every later ticket (each change of the counter is this
    // RMW, so a later one reads from our release sequence): the release half puts the caller's
    // unlinks before a later stamp's heavy fence; the acquire half, in shared_snapshot, puts
    // every earlier requester's unlinks before ours (breaks I1 for borrowed stamps without it).
    return tickets_.fetch_add(1, std::memory_order_acq_rel, loc);
  }

  /// Tickets taken since the published stamp's cover, up to and including `ticket`: how many
  /// requests (as far as the caller can tell) a stamp now would serve. A hint for when to
  /// fence (relaxed: it orders nothing).
  std::uint64_t requests_waiting(std::uint64_t ticket) const noexcept {
    // relaxed: a hint, orders nothing (a stale cover only makes a stamp come sooner or later).
    const std::uint64_t cover = shared_cover_.load(std::memory_order_relaxed);
    return ticket >= cover ? ticket - cover + 1 : 0;
  }

  /// A stamp that serves other threads too: a ticket [S12], then snapshot() (the heavy fence
  /// [S5] and every version), then the clock published as the domain's shared stamp, covering
  /// every ticket taken before its own (unless another thread is publishing at the moment, or
  /// a stamp that covers more is published already). False as snapshot().
  bool shared_snapshot(vector_clock<Policy>& out, source_location loc = source_location::current()) noexcept {
    const std::uint64_t ticket = request_stamp(loc);  // [S12]: earlier requests before our [S5]
    if (!snapshot(out, loc)) return false;
    publish_stamp(out, ticket + 1, loc);
    return true;
  }

  /// Copies the shared stamp into `out` if it covers `ticket` (a request_stamp() of the
  /// caller): a clock read after a heavy fence that follows everything the caller did before
  /// the ticket, so it may stamp the caller's sets freed before it (I3, as its own stamp would).
  /// False when none covers it yet, when a publication is under way, or when memory for the
  /// clock runs out; `out` is then not a clock (unstamped).
  bool borrow_stamp(vector_clock<Policy>& out, std::uint64_t ticket,
                    source_location loc = source_location::current()) noexcept {
    // [S17] acquire, pairs with [S15] in publish_stamp: the entries, cover and size of that
    // publication are visible to the loads below (a torn or older clock without it).
    const std::uint64_t seq = shared_seq_.load(std::memory_order_acquire, loc);
    if ((seq & 1u) != 0) return false;
    // relaxed: read under the sequence, validated by the acquire fence and the second load.
    if (shared_cover_.load(std::memory_order_relaxed, loc) <= ticket) return false;
    const std::size_t n = shared_size_.load(std::memory_order_relaxed, loc);  // relaxed: as cover
    if (!out.resize(n)) return false;
    out.mark_stamped(false);
    std::size_t entries = 0;
    // [S11] acquire, pairs with [S7]: every record reached is initialised.
    for (record* r = head_.load(std::memory_order_acquire, loc); r != nullptr; r = r->next_.load(loc)) {
      const std::size_t i = r->index_.load(loc);
      if (i >= n) continue;  // registered after that stamp: not in its clock
      // relaxed: validated by the acquire fence and the second sequence load.
      out.set(i, r->shared_entry_.load(std::memory_order_relaxed, loc));
      ++entries;
    }
    // [S16] acquire fence, pairs with [S14] in publish_stamp: if a load above read a store of a
    // later publication, that publication's odd sequence is seen below and the copy refused
    // (a clock mixing two stamps without it).
    Policy::fence(std::memory_order_acquire, loc);
    // relaxed: ordered after the entry loads by the acquire fence above.
    if (shared_seq_.load(std::memory_order_relaxed, loc) != seq || entries != n) return false;
    out.mark_stamped(true);
    return true;
  }

  /// In a fork child: a publication that a vanished thread left half-written (odd sequence)
  /// is withdrawn, so that stamps are published and borrowed again. Only where no other
  /// thread of the domain runs.
  void reset_shared_stamp_after_fork(source_location loc = source_location::current()) noexcept {
    const std::uint64_t seq = shared_seq_.load(std::memory_order_relaxed, loc);  // relaxed: alone
    if ((seq & 1u) == 0) return;
    shared_cover_.store(0, std::memory_order_relaxed, loc);  // relaxed: published by the release store below
    shared_seq_.store(seq + 1, std::memory_order_release, loc);  // [S15] pairs with [S17], as in publish_stamp
  }

  /// Diagnostics: the slot of a thread that still holds back a set stamped with `c` (online
  /// then and now, same version), or -1.
  long long first_blocker(const vector_clock<Policy>& c) const noexcept {
    const record* r = blocker(c);
    return r != nullptr ? static_cast<long long>(r->index()) : -1;
  }

  /// Diagnostics: the record of a thread that still holds back a set stamped with `c`, or
  /// nullptr (see first_blocker).
  const record* blocker(const vector_clock<Policy>& c) const noexcept {
    for (record* r = first(); r != nullptr; r = r->next_.load()) {
      std::size_t i = r->index_.load();
      if (i >= c.size() || version_is_offline(c[i])) continue;
      if (r->load_version() <= c[i]) return r;
    }
    return nullptr;
  }

  /// Diagnostics: how many records are online, offline and free (racy but each read atomic).
  domain_stats stats() const noexcept {
    domain_stats s;
    for (record* r = first(); r != nullptr; r = r->next_.load()) {
      ++s.slots;
      if (r->in_use_.load(std::memory_order_relaxed) == 0) {  // relaxed: a count for humans
        ++s.free;
      } else if (version_is_offline(r->load_version())) {
        ++s.offline;
      } else {
        ++s.online;
      }
    }
    return s;
  }

  /// Number of record slots ever created (registered or free).
  std::size_t slot_count() const noexcept {
    record* head = head_.load(std::memory_order_acquire);  // [S11] as above
    return head != nullptr ? head->index_.load() + 1 : 0;
  }

  /// First record for diagnostics walks (records are never unlinked: I2).
  record* first() const noexcept { return head_.load(std::memory_order_acquire); }  // [S11]

 private:
  // The three shared steps of register_thread.
  record* load_head_to_register(source_location loc) noexcept {
    // [S6] acquire, pairs with [S7]: the records we walk (and the head whose index we read)
    // are fully initialised.
    return head_.load(std::memory_order_acquire, loc);
  }
  bool adopt(record* r, source_location loc) noexcept {
    std::uint32_t expected = 0;
    // [S10] acquire, pairs with [S9] in unregister_thread: the previous owner's last version
    // store is visible to our relaxed owner-only loads, so our versions keep increasing.
    // relaxed on failure: the walk goes on to the next record.
    return r->in_use_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                              std::memory_order_relaxed, loc);
  }
  bool publish(record*& head, record* r, source_location loc) noexcept {
    // [S7] acq_rel on success, pairs with [S6]/[S11]: its release half makes the new head's
    // index, next and initial (offline) version visible to every reader (the acquire half
    // adds nothing the algorithm needs: the head we link to was read by [S6] or by a failed
    // round's acquire; it is kept as checked). acquire on failure, pairs with a concurrent
    // [S7]: we read the new head's index on the next round.
    return head_.compare_exchange_strong(head, r, std::memory_order_acq_rel,
                                         std::memory_order_acquire, loc);
  }

  // Publishes `c` (read after a heavy fence that follows every ticket below `cover`) as the
  // shared stamp: a sequence lock, taken with a CAS and never waited for -- a thread that finds
  // it taken leaves its clock unpublished.
  void publish_stamp(const vector_clock<Policy>& c, std::uint64_t cover, source_location loc) noexcept {
    std::uint64_t seq = shared_seq_.load(std::memory_order_relaxed, loc);  // relaxed: the CAS decides
    if ((seq & 1u) != 0) return;  // another thread is publishing
    // [S13] acquire on success, pairs with [S15] of the previous publication: our stores below
    // follow its stores in every entry's modification order (an older clock could otherwise
    // show through under our sequence). relaxed on failure: another thread publishes.
    if (!shared_seq_.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire,
                                             std::memory_order_relaxed, loc)) {
      return;
    }
    // relaxed: written only under the sequence lock, whose CAS orders it.
    if (shared_cover_.load(std::memory_order_relaxed, loc) < cover) {
      // [S14] release fence, pairs with [S16] in borrow_stamp: a reader that loads any store
      // below also sees the odd sequence stored by the CAS above, and refuses its copy.
      Policy::fence(std::memory_order_release, loc);
      shared_cover_.store(cover, std::memory_order_relaxed, loc);  // relaxed: published by the release store of the sequence
      shared_size_.store(c.size(), std::memory_order_relaxed, loc);  // relaxed: as the cover
      // [S11] acquire, pairs with [S7]: every record reached is initialised.
      for (record* r = head_.load(std::memory_order_acquire, loc); r != nullptr; r = r->next_.load(loc)) {
        const std::size_t i = r->index_.load(loc);
        if (i < c.size()) r->shared_entry_.store(c[i], std::memory_order_relaxed, loc);  // relaxed: published by the sequence
      }
    }
    // [S15] release, pairs with [S17] in borrow_stamp and [S13] of the next publication: the
    // stores above are visible to whoever reads this even sequence.
    shared_seq_.store(seq + 2, std::memory_order_release, loc);
  }

  typename Policy::template atomic<record*> head_{nullptr};
  // Shared stamps: the ticket counter, and the published stamp's sequence, cover (it serves
  // the tickets below it) and clock size; on a cache line of their own, away from the head
  // that every probe reads.
  alignas(64) typename Policy::template atomic<std::uint64_t> tickets_{0};
  typename Policy::template atomic<std::uint64_t> shared_seq_{0};
  typename Policy::template atomic<std::uint64_t> shared_cover_{0};
  typename Policy::template atomic<std::size_t> shared_size_{0};
};

}  // namespace ssmem

#endif
