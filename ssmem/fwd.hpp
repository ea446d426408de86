// The map of ssmem: every template, its default policy, and the header that defines it.
//
//   policy.hpp          concept atomics_policy          what the algorithm needs from the machine
//   native_policy.hpp   struct native_policy            std::atomic, fences, mmap (production)
//   thread_record.hpp   thread_record<Policy>           a thread's version (timestamp)      I1
//   domain.hpp          basic_domain<Policy>            records, snapshots, shared stamps  I2
//   vector_clock.hpp    vector_clock<Policy>            strict entrywise comparison         I3
//   free_set.hpp        free_set<Policy>, set_queue,    freed objects + their stamp         I4
//                       set_stack
//   set_pipeline.hpp    set_pipeline<Policy>            sets: filling, unstamped, pending   I4
//   chunk_carver.hpp    chunk_carver<Policy>            fresh objects carved from chunks
//   release_queue.hpp   release_queue<Policy>,          released/retired entries, given back
//                       retire_fn                       deferred destruction's deleter
//   memory_bound.hpp    memory_bound<Policy>            how many freed objects may wait
//   allocator.hpp       basic_allocator<Policy>         one object size, one owner thread:
//                                                       the parts above, and the stamping
//   options.hpp         options, ts_policy, allocator_stats, stall_report
//   ssmem.hpp           domain, thread_scope (re-entrant), allocator, object_pool<T>
//                       (C++ API, native)
//   ssmem.h             the original C API (implemented in ssmem.cc on default_domain())
//   verification/relacy_policy.hpp  relacy_policy       the same algorithm under Relacy
//
// Invariants, quoted word for word from docs/design.md §1, which explains each
// (//tests/unit:source_rules_test compares the texts; docs/memory_order.md lists every [Sn]):
//   I1 a thread holds no reference that it loaded before its latest version change.
//   I2 records are pushed at the head of a list with index = head.index + 1 and are never
//      unlinked or freed while the domain lives; a snapshot covers slots 0..head.index, and
//      versions only grow, also across the owners of an adopted record.
//   I3 clock N is newer than clock O iff every online (even) entry of O is strictly smaller
//      in N; offline entries of O, and slots registered after O was taken, are ignored.
//   I4 a free set is collected only after it was stamped (a snapshot taken after a heavy
//      fence that follows the unlinks of its objects) and a clock the allocator read later is
//      newer than its stamp; all older stamped sets go with it; no set is collected by its own
//      stamp.
#ifndef SSMEM_FWD_HPP
#define SSMEM_FWD_HPP

namespace ssmem {
struct native_policy;
template <class Policy> class thread_record;
template <class Policy> class basic_domain;
template <class Policy> class vector_clock;
template <class Policy> class free_set;
template <class Policy> class set_pipeline;
template <class Policy> class chunk_carver;
template <class Policy> class release_queue;
template <class Policy> class memory_bound;
template <class Policy> class basic_allocator;
struct options;
struct allocator_stats;
class thread_scope;
class allocator;
template <class T> class object_pool;
}  // namespace ssmem

#endif
