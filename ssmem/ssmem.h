/**
 * \file
 * ssmem.h -- the C API, source-compatible with the original ssmem.h (ASCYLIB, EPFL):
 * every function, type and macro of the original is declared here with the same name and
 * signature, so a C program written against it compiles unchanged and links with -lssmem.
 *
 * Contract (as in the original): each allocator belongs to the thread that initialised it;
 * ssmem_alloc/ssmem_free/ssmem_release (and ssmem_retire) on it are called by that thread
 * only. A thread may read an object obtained from shared memory until its next timestamp
 * change (an alloc or free, depending on SSMEM_TS_INCR_ON, or SSMEM_SAFE_TO_RECLAIM()).
 *
 * Misuse (docs/design.md, "Bad input and faults", has the whole table): the library built
 * with SSMEM_CHECKED=1 (make VERSION=DEBUG, //ssmem:ssmem_checked, --config=checked) aborts
 * with one line on stderr naming the call and the misuse -- a double free, a pointer inside
 * a chunk that is not an object's start, a wrong size, an allocator used before
 * ssmem_alloc_init, after ssmem_alloc_term or by a thread other than its owner (both threads
 * named), ssmem_release of an ssmem object, a call re-entered from a signal handler. The
 * optimised build does what each function's comment says, and no more checking than that.
 *
 * Threads that end: a thread that exits (returns, pthread_exit, cancelled) without
 * ssmem_term is unregistered by the library (a pthread key destructor): it never holds
 * collection back, and its id is free again. Its allocators stay mapped (their objects may
 * still be in use) and can no longer be used: no thread owns them.
 *
 * Signals: no ssmem function is async-signal-safe (they may take a lock, call malloc, and
 * change the thread's allocators and timestamp). A signal handler may call them only under
 * POSIX's rule for such functions: the signal must not interrupt an ssmem call (nor malloc)
 * on the handler's thread -- block it around them (pthread_sigmask), or take signals
 * synchronously (sigwait, signalfd) on a thread of their own. Then the handler may use any
 * allocator of its thread, the interrupted code's included. A handler that interrupts an
 * ssmem call is undefined in the optimised build (a corrupted allocator, or a deadlock in
 * malloc or on a lock); the checked build aborts, naming it ("not async-signal-safe").
 *
 * fork(): the child's one thread keeps its registration and allocators; every other thread's
 * registration ends in the child (their allocators are unusable there, their ids free).
 *
 * Differences from the original (fixes, see docs/design.md): a thread's timestamp record is
 * never freed while others may read it (it is marked offline and adopted by a later thread);
 * clocks stay correct when threads register after earlier free sets were stamped; the
 * version bump and the collector's snapshot are fenced (correct under the C++ memory model,
 * not only on x86); ssmem_term returns all memory; the `size` given to ssmem_alloc_init is
 * the chunk size, and the first ssmem_alloc fixes the object size of the allocator; when a
 * chunk cannot be mapped, smaller ones are tried (down to one object) before NULL.
 *
 * Linking: `cc prog.c -lssmem -lpthread`, as with the original (no C++ runtime needed).
 * Source compatible, not binary compatible: see "binary compatibility" below.
 * Output: ssmem_alloc_init* prints the original's "[ALLOC] initializing allocator with fs
 * size: N objects" line when `id` is 0; SSMEM_QUIET=1 in the environment silences it.
 */
#ifndef _SSMEM_H_
#define _SSMEM_H_

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- parameters (build-time settings of the library, as in the original) ---- */
/** freed objects per free set */
#define SSMEM_GC_FREE_SET_SIZE 507 /* freed objects per free set */
/** released objects per release set */
#define SSMEM_GC_RLSE_SET_SIZE 64  /* released objects per release set (the original: 3; a
                                      stamp now also takes a release set that is not full) */
/** full sets wait until they hold this many free sets' worth of objects (a released
   object counting as two); then one heavy fence and one snapshot stamp them all (extension;
   0: every full set at once, as the original) */
#define SSMEM_STAMP_BATCH 32
/** while another online thread holds collection back and this many batches wait unstamped,
   each further free set's worth of full sets yields the processor (extension; sched_yield) */
#define SSMEM_STAMP_BACKLOG 4
/** stamps shared between threads: every stamp publishes its clock, and a wait at the memory
   bound fences at once only when (slots / this) stamp requests wait, else it pauses once and
   borrows the clock of a stamp whose fence came after its request (extension; 0: no sharing;
   docs/design.md, "Shared stamps") */
#define SSMEM_STAMP_SHARE 2
/** the memory bound: freed objects not yet reusable that the threads may hold together,
   shared evenly by the record slots (each allocator at least 2 free sets' worth); an allocation that
   would carve past its share waits for a collection (extension; 0: no bound; docs/design.md,
   "The memory bound") */
#define SSMEM_PENDING_BUDGET 100000
/** how long a wait at the memory bound lasts at most, in nanoseconds, before the allocator
   carves past the bound: one limit's worth, then a new wait; no more waits until the next
   collection once the same thread held collection back through two waits (counted in
   ssmem_stats_print's line; extension; docs/design.md, "An overrun") */
#define SSMEM_BOUND_WAIT_NS 100000000ULL
/** first chunk size, bytes */
#define SSMEM_DEFAULT_MEM_SIZE (32 * 1024 * 1024L) /* first chunk size */
/** 1: each new chunk doubles, up to SSMEM_MEM_SIZE_MAX */
#define SSMEM_MEM_SIZE_DOUBLE 1    /* each new chunk doubles, up to SSMEM_MEM_SIZE_MAX */
/** cap of the chunk doubling, bytes */
#define SSMEM_MEM_SIZE_MAX (4 * 1024 * 1024 * 1024LL)
/** 1: every allocation reads as zeros (reused objects included) */
#define SSMEM_ZERO_MEMORY 0        /* 1: every allocation reads as zeros (reuse included) */
/** 1: advise transparent huge pages for chunks */
#define SSMEM_TRANSPARENT_HUGE_PAGES 0 /* 1: advise huge pages for chunks */

/** When ssmem_alloc/ssmem_free bump the thread's timestamp. With SSMEM_TS_INCR_ON_NONE the
   program calls SSMEM_SAFE_TO_RECLAIM() where it holds no ssmem references. The library is
   built with SSMEM_TS_INCR_ON (default BOTH); ssmem_alloc_init_ts chooses per allocator. */
#define SSMEM_TS_INCR_ON_NONE 0 /**< bump only on ssmem_ts_next() */
/** bump on every ssmem_alloc and ssmem_free/ssmem_release */
#define SSMEM_TS_INCR_ON_BOTH 1
/** bump on every ssmem_alloc */
#define SSMEM_TS_INCR_ON_ALLOC 2
/** bump on every ssmem_free/ssmem_release */
#define SSMEM_TS_INCR_ON_FREE 3
#ifndef SSMEM_TS_INCR_ON
/** the library's build-time timestamp policy */
#define SSMEM_TS_INCR_ON SSMEM_TS_INCR_ON_BOTH
#endif

/* ---- help definitions ---- */
#ifndef ALIGNED
/** GCC/clang alignment attribute, as in the original */
#define ALIGNED(N) __attribute__((aligned(N)))
#endif
#ifndef CACHE_LINE_SIZE
/** bytes per cache line */
#define CACHE_LINE_SIZE 64
#endif

/* ---- data structures ---- */

/** An allocator: opaque storage for the library's allocator object (a complete type, so it
   can be placed in arrays, embedded and sized with sizeof, as with the original). */
#define SSMEM_ALLOCATOR_STORAGE (10 * CACHE_LINE_SIZE)
/** An allocator (opaque storage; see above). */
typedef struct ALIGNED(CACHE_LINE_SIZE) ssmem_allocator {
  union {
    uint64_t ssmem_words_[SSMEM_ALLOCATOR_STORAGE / 8];
    uint8_t padding[SSMEM_ALLOCATOR_STORAGE];
  };
} ssmem_allocator_t;

/* The original's internal record types, declared for source compatibility only: programs
   that name them still compile. This implementation keeps its state in the C++ types of
   ssmem/thread_record.hpp, free_set.hpp and allocator.hpp; these structs are not used. */
/** The original's timestamp record (compatibility only). */
typedef struct ALIGNED(CACHE_LINE_SIZE) ssmem_ts {
  union {
    struct {
      size_t version;
      size_t id;
      struct ssmem_ts* next;
    };
    uint8_t padding[CACHE_LINE_SIZE];
  };
} ssmem_ts_t;

/** The original's free set (compatibility only). */
typedef struct ALIGNED(CACHE_LINE_SIZE) ssmem_free_set {
  size_t* ts_set;                   /**< clock stamped when full */
  size_t size;                      /**< capacity */
  long int curr;                    /**< objects in the set */
  struct ssmem_free_set* set_next;  /**< next set of the list */
  uintptr_t* set;                   /**< the objects */
} ssmem_free_set_t;

/** The original's released-memory node (compatibility only). */
typedef struct ssmem_released {
  size_t* ts_set;               /**< clock stamped at release */
  void* mem;                    /**< the released memory */
  struct ssmem_released* next;  /**< next node */
} ssmem_released_t;

/** The original's generic list node (compatibility only). */
typedef struct ssmem_list {
  void* obj;                /**< the element */
  struct ssmem_list* next;  /**< next node */
} ssmem_list_t;

/* ---- binary compatibility ----
   ssmem_allocator_t is SSMEM_ALLOCATOR_STORAGE (640) bytes here, 128 in the original: a
   program compiled against the original ssmem.h would hand the library allocators too small
   for it. So every function that takes an allocator has a versioned symbol name (an asm
   label: the C name stays, the linker sees NAME_abi3), and libssmem.a defines the original
   names only in a trap member (ssmem_abi_trap.cc) that refers to an undefined symbol. An
   object compiled against the original header fails to link, with

     undefined reference to `SSMEM_ERROR_compiled_against_another_ssmem_h__recompile_against_this_one'

   rather than crashing at run time. Recompiling against this header is all it takes (the
   API is the original's). The suffix changes with the size: an object compiled against an
   earlier ssmem.h of this library (576 bytes, NAME_abi2) fails to link too, with an
   undefined reference to NAME_abi2. See docs/using_without_bazel.md. */
/** The symbol name of a function that takes an ssmem_allocator_t (see above). */
#define SSMEM_ABI_NAME(name) __asm__(#name "_abi3")

/* ---- interface ---- */

/** Initialise allocator `a` for the calling thread: `size` is the first chunk size (usually
   SSMEM_DEFAULT_MEM_SIZE); registers the thread (label `id`) if it is not yet registered.
   Aborts with a message if `id` is negative, or already used by another live thread. */
void ssmem_alloc_init(ssmem_allocator_t* a, size_t size, int id)
    SSMEM_ABI_NAME(ssmem_alloc_init);
/** As ssmem_alloc_init, with `free_set_size` objects per free set. */
void ssmem_alloc_init_fs_size(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id)
    SSMEM_ABI_NAME(ssmem_alloc_init_fs_size);
/** Extension: as above, choosing the timestamp policy (SSMEM_TS_INCR_ON_*) per allocator. */
void ssmem_alloc_init_ts(ssmem_allocator_t* a, size_t size, size_t free_set_size, int id,
                         int ts_incr_on)
    SSMEM_ABI_NAME(ssmem_alloc_init_ts);
/** Register the calling thread for timestamps without an allocator (`a` may be NULL). */
void ssmem_gc_thread_init(ssmem_allocator_t* a, int id)
    SSMEM_ABI_NAME(ssmem_gc_thread_init);
/** Terminate every allocator of the calling thread (as ssmem_alloc_term), free all their
   memory, and deregister the thread. */
void ssmem_term();
/** Terminate allocator `a` and free all its memory. Precondition (as in the original): no
   thread uses its objects any more, and none of them sits in another allocator's free set.
   The thread is deregistered when its last allocator terminates. Afterwards, until `a` is
   initialised again: ssmem_alloc(a, ...) returns NULL; freeing, releasing or retiring into
   `a` is a misuse -- the checked build aborts, the optimised build keeps the object for ever
   (never reused, given back or passed to its deleter); ssmem_alloc_term(a) again aborts
   ("terminated twice") in every build. */
void ssmem_alloc_term(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_alloc_term);

/** An object of `size` bytes from `a`. The first call fixes the allocator's object size;
   a later call with a smaller size is served an object of the allocator's size (as in the
   original). NULL when memory runs out, when `size` exceeds the object size (the checked
   build aborts instead, naming the wrong size), or when `a` was terminated (the checked build
   aborts: use after ssmem_alloc_term). */
void* ssmem_alloc(ssmem_allocator_t* a, size_t size)
    SSMEM_ABI_NAME(ssmem_alloc);
/** Free `obj` (unreachable for threads that have not loaded it yet) into `a`; it is reused
   once every thread has moved on. ssmem_free(a, NULL) does nothing. */
void ssmem_free(ssmem_allocator_t* a, void* obj)
    SSMEM_ABI_NAME(ssmem_free);
/** Give `obj`, memory from malloc(), back to the system with free() once every thread has
   moved on. ssmem_release(a, NULL) does nothing. `obj` must not come from ssmem_alloc (free it
   with ssmem_free): the checked build aborts naming it; the optimised build hands it to free()
   later, which is undefined (glibc aborts with "free(): invalid pointer"). */
void ssmem_release(ssmem_allocator_t* a, void* obj)
    SSMEM_ABI_NAME(ssmem_release);
/** Extension: a deleter for ssmem_retire, called as `fn(obj, context)`. */
typedef void (*ssmem_deleter_t)(void* obj, void* context);
/** Extension, deferred destruction (ssmem_release generalised; like ck_epoch_call or
   call_rcu): call `fn(obj, context)` once every thread has moved on, on the calling thread,
   from inside a later ssmem_free/ssmem_release/ssmem_retire on `a` or its ssmem_alloc_term /
   ssmem_term. `obj` must be unreachable for threads that have not loaded it yet, as for
   ssmem_free, and must not come from ssmem_alloc (the checked build aborts). `fn` may write
   and free `obj` (e.g. free its members, then free() it); it may call ssmem functions on other
   allocators of the thread, not on `a` (the checked build aborts: "re-entered"). `fn` NULL: as
   ssmem_release (free(); an `obj` from ssmem_alloc is refused the same way).
   ssmem_retire(a, NULL, fn, c) does nothing. */
void ssmem_retire(ssmem_allocator_t* a, void* obj, ssmem_deleter_t fn, void* context)
    SSMEM_ABI_NAME(ssmem_retire);

/** Extension, for teardown: every object released or retired into `a` and still waiting goes
   back now (free(), or its deleter runs), with no grace period; `a` stays usable.
   Precondition: no thread can still reach any of them. */
void ssmem_drain_retired(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_drain_retired);

/** The calling thread holds no reference to ssmem memory read before this call. */
void ssmem_ts_next();
/** the original's name for ssmem_ts_next() */
#define SSMEM_SAFE_TO_RECLAIM() ssmem_ts_next()

/** Extension: an offline thread holds no references and blocks no collection. Idempotent:
    a second call while offline does nothing (docs/porting.md: an unconditional version
    step would flip an offline thread back to "online" and a later online one to "offline"). */
void ssmem_thread_offline(void);
/** Extension: back online after ssmem_thread_offline(); a no-op while online. */
void ssmem_thread_online(void);
/** Extension, critical sections (like ck_epoch_begin/ck_epoch_end): a thread that is offline
    (ssmem_thread_offline) goes online at ssmem_section_enter() and offline again at the
    matching ssmem_section_exit(), so that outside its sections it holds no references and
    blocks no collection: a thread that sleeps between sections costs no memory. Sections
    nest (only the outermost one changes the timestamp); in a thread that is online anyway
    they only count. A reference loaded in a section must not be used after its end (the end
    is a timestamp change: SSMEM_TS_INCR_ON_NONE is enough for such a thread). ssmem_alloc,
    ssmem_free, ssmem_release and ssmem_retire may be called inside or outside sections.
    The checked build aborts on an exit without an enter. */
void ssmem_section_enter(void);
/** Extension: ends the innermost section (see ssmem_section_enter). */
void ssmem_section_exit(void);

/* ---- debug/help functions ---- */
/** Prints every record of the default domain (label, version, offline). */
void ssmem_ts_list_print();
/** A malloc'd snapshot of every record's version (ssmem_ts_set_size() entries); free() it. */
size_t* ssmem_ts_set_collect();
/** Number of entries of ssmem_ts_set_collect()'s snapshot. */
size_t ssmem_ts_set_size(void);
/** Prints a snapshot from ssmem_ts_set_collect(). */
void ssmem_ts_set_print(size_t* set);

/** Prints the filling free set and the stamped ones, oldest first, with their clocks. */
void ssmem_free_list_print(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_free_list_print);
/** Prints the collected (reusable) sets. */
void ssmem_collected_list_print(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_collected_list_print);
/** Prints the recycled empty sets. */
void ssmem_available_list_print(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_available_list_print);
/** Prints one line: stamped and collected set counts, labelled with `id`. */
void ssmem_all_list_print(ssmem_allocator_t* a, int id)
    SSMEM_ABI_NAME(ssmem_all_list_print);
/** Extension: counters of `a` (pending objects, oldest pending set's age, the thread slot
   holding collection back) and of the default domain, one line each, on stdout. */
void ssmem_stats_print(ssmem_allocator_t* a)
    SSMEM_ABI_NAME(ssmem_stats_print);

#ifdef __cplusplus
}
#endif

#endif /* _SSMEM_H_ */
