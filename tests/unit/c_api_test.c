/* The C API from a C translation unit: the original ssmem.h surface compiles as C11 and
   behaves as documented. A plain C program: each check prints its failure and the exit
   status counts them. */
#define _DEFAULT_SOURCE 1 /* mincore */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

static int failures = 0;
#define CHECK(c)                                                        \
  do {                                                                  \
    if (!(c)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
      ++failures;                                                       \
    }                                                                   \
  } while (0)

/* The original's macros and types are all there. */
_Static_assert(SSMEM_GC_FREE_SET_SIZE == 507, "free-set size");
_Static_assert(SSMEM_DEFAULT_MEM_SIZE == 32 * 1024 * 1024L, "chunk size");
_Static_assert(SSMEM_TS_INCR_ON_NONE == 0 && SSMEM_TS_INCR_ON_BOTH == 1 &&
               SSMEM_TS_INCR_ON_ALLOC == 2 && SSMEM_TS_INCR_ON_FREE == 3, "ts macros");
_Static_assert(CACHE_LINE_SIZE == 64, "cache line");
_Static_assert(sizeof(ssmem_allocator_t) % CACHE_LINE_SIZE == 0, "allocator is line-sized");
static ssmem_ts_t unused_ts ALIGNED(CACHE_LINE_SIZE);
static ssmem_free_set_t* unused_fs;
static ssmem_released_t* unused_rel;
static ssmem_list_t* unused_list;

static int mapped(const void* p) {
  unsigned char v;
  uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
  return mincore((void*)page, 1, &v) == 0 || errno != ENOMEM;
}

static void test_alloc_free_reuse(void) {
  ssmem_allocator_t allocs[2]; /* arrays of allocators, as ASCYLIB uses them */
  ssmem_alloc_init_fs_size(&allocs[0], SSMEM_DEFAULT_MEM_SIZE, 2, 0);
  ssmem_alloc_init(&allocs[1], 1 << 20, 0);
  enum { n = 2 * 2 * SSMEM_STAMP_BATCH + 8 };
  void* objs[n]; /* free sets of 2, stamps every SSMEM_STAMP_BATCH sets: n frees stamp twice */
  for (int i = 0; i < n; i++) {
    objs[i] = ssmem_alloc(&allocs[0], 24);
    CHECK(objs[i] != NULL);
    memset(objs[i], i, 24);
  }
  /* single thread, bump on both: each stamp is newer than the previous one */
  for (int i = 0; i < n; i++) ssmem_free(&allocs[0], objs[i]);
  ssmem_free(&allocs[0], NULL);
  void* again = ssmem_alloc(&allocs[0], 24);
  int reused = 0;
  for (int i = 0; i < n; i++) reused |= again == objs[i];
  CHECK(reused);
  void* other = ssmem_alloc(&allocs[1], 100);
  CHECK(other != NULL);
  ssmem_free_list_print(&allocs[0]);
  ssmem_collected_list_print(&allocs[0]);
  ssmem_available_list_print(&allocs[0]);
  ssmem_all_list_print(&allocs[0], 0);
  ssmem_ts_list_print();
  ssmem_term(); /* every allocator of this thread, and the thread's registration */
  CHECK(!mapped(objs[0]));
  CHECK(!mapped(other));
}

/* The first ssmem_alloc fixes the object size (24 B here). A smaller size is served, as the
   original serves it, in both builds; a larger one is refused: NULL, or in the checked build
   an abort naming the wrong size (run in a child to see it). */
static void* alloc_larger(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 7);
  void* first = ssmem_alloc(&a, 24);
  void* larger = ssmem_alloc(&a, 64);
  ssmem_free(&a, first);
  ssmem_alloc_term(&a);
  return larger;
}

static void test_other_sizes(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 2, 7);
  char* first = ssmem_alloc(&a, 24);
  CHECK(first != NULL);
  char* smaller[4];
  for (int i = 0; i < 4; i++) {
    smaller[i] = ssmem_alloc(&a, (size_t)(1 + 7 * i)); /* 1, 8, 15, 22 bytes */
    CHECK(smaller[i] != NULL);
    if (smaller[i] != NULL) memset(smaller[i], 0x5a, 24); /* an object of the allocator's size */
  }
  /* objects do not overlap: each is 24 bytes or more from every other */
  for (int i = 0; i < 4; i++) {
    intptr_t d = smaller[i] - first;
    CHECK(d >= 24 || d <= -24);
    for (int j = 0; j < i; j++) {
      d = smaller[i] - smaller[j];
      CHECK(d >= 24 || d <= -24);
    }
  }
  /* freed smaller-size objects come back to any size up to the allocator's */
  for (int i = 0; i < 4; i++) ssmem_free(&a, smaller[i]);
  ssmem_free(&a, first);
  /* 4 x SSMEM_STAMP_BATCH + 3 more allocations and frees, then 4 x SSMEM_STAMP_BATCH + 8
     allocations: batches of SSMEM_STAMP_BATCH sets of 2 are stamped (the first stamp comes
     earlier, at the memory bound's floor of two sets before the allocator's first clock) and
     collected, and the five above are handed out again among these allocations */
  enum { pairs = 4 * SSMEM_STAMP_BATCH + 3, more = 4 * SSMEM_STAMP_BATCH + 8 };
  int reused = 0;
  for (int i = 0; i < pairs; i++) {
    void* p = ssmem_alloc(&a, 24);
    reused |= p == first;
    for (int j = 0; j < 4; j++) reused |= p == (void*)smaller[j];
    ssmem_free(&a, p);
  }
  void* again[more];
  for (int k = 0; k < more; k++) {
    again[k] = ssmem_alloc(&a, 16);
    reused |= again[k] == first;
    for (int i = 0; i < 4; i++) reused |= again[k] == (void*)smaller[i];
  }
  CHECK(reused);
  for (int k = 0; k < more; k++) ssmem_free(&a, again[k]);
  ssmem_alloc_term(&a);

#if defined(SSMEM_CHECKED) && SSMEM_CHECKED
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    (void)alloc_larger();
    _exit(0); /* not detected */
  }
  close(fds[1]);
  char err[512];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof err - 1 && (n = read(fds[0], err + len, sizeof err - 1 - len)) > 0) len += (size_t)n;
  err[len] = 0;
  close(fds[0]);
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(err, "ssmem_alloc: wrong size: larger") != NULL);
#else
  CHECK(alloc_larger() == NULL);
#endif
}

static void test_release_and_timestamps(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 3);
  for (int i = 0; i < 10; i++) ssmem_release(&a, malloc(64));
  ssmem_release(&a, NULL);
  size_t n = ssmem_ts_set_size();
  CHECK(n >= 1);
  size_t* before = ssmem_ts_set_collect();
  SSMEM_SAFE_TO_RECLAIM();
  size_t* after = ssmem_ts_set_collect();
  int moved = 0;
  for (size_t i = 0; i < n; i++) moved += after[i] == before[i] + 2;
  CHECK(moved == 1);
  ssmem_ts_set_print(after);
  free(before);
  free(after);
  ssmem_thread_offline();
  ssmem_thread_online();
  ssmem_alloc_term(&a); /* last allocator: returns pending releases (LeakSanitizer checks) */
}

/* ssmem_retire: a node with a malloc'd member, freed by its deleter after the grace period. */
struct rnode {
  char* name;
  int key;
};
static int deleted_keys;
static void rnode_delete(void* obj, void* context) {
  struct rnode* n = (struct rnode*)obj;
  CHECK(n->key >= 0);         /* intact when the deleter gets it */
  CHECK(context == &deleted_keys);
  deleted_keys += n->key;
  free(n->name);
  free(n);
}

static void test_retire_with_deleter(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 4);
  deleted_keys = 0;
  int total = 0;
  for (int i = 1; i <= 40; i++) {
    struct rnode* n = (struct rnode*)malloc(sizeof *n);
    n->name = (char*)malloc(16);
    n->key = i;
    total += i;
    ssmem_retire(&a, n, rnode_delete, &deleted_keys);
    SSMEM_SAFE_TO_RECLAIM();
  }
  CHECK(deleted_keys < total); /* the newest retirements still wait */
  ssmem_retire(&a, NULL, rnode_delete, &deleted_keys); /* no-op */
  ssmem_retire(&a, malloc(8), NULL, NULL);              /* as ssmem_release */
  ssmem_alloc_term(&a); /* the last: every waiting deleter runs (LeakSanitizer checks) */
  CHECK(deleted_keys == total);
}

#define SLOTS 64
static void* slots[SLOTS];
static pthread_barrier_t checked_barrier;

static void* worker(void* arg) {
  int id = (int)(intptr_t)arg;
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 4, id);
  unsigned seed = (unsigned)id * 7919u + 1;
  for (int i = 0; i < 20000; i++) {
    seed = seed * 1103515245u + 12345u;
    int s = (int)((seed >> 8) % SLOTS);
    long* fresh = ssmem_alloc(&a, sizeof(long));
    long* old = __atomic_load_n(&slots[s], __ATOMIC_ACQUIRE);
    *fresh = *old; /* read the old object: it must still hold its slot's index */
    old = __atomic_exchange_n(&slots[s], fresh, __ATOMIC_ACQ_REL);
    if (*old != s) __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    ssmem_free(&a, old);
  }
  /* objects of this allocator stay in the shared array until main has checked it: go
     offline (the others' collection goes on), then terminate */
  ssmem_thread_offline();
  pthread_barrier_wait(&checked_barrier);
  pthread_barrier_wait(&checked_barrier);
  ssmem_term();
  return NULL;
}

static void test_threads_swap(void) {
  ssmem_allocator_t init;
  ssmem_alloc_init(&init, 1 << 20, 100);
  for (int i = 0; i < SLOTS; i++) {
    long* o = ssmem_alloc(&init, sizeof(long));
    *o = i;
    slots[i] = o;
  }
  ssmem_thread_offline();
  pthread_t t[3];
  pthread_barrier_init(&checked_barrier, NULL, 4);
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void*)(intptr_t)(i + 1));
  pthread_barrier_wait(&checked_barrier); /* all workers done */
  for (int i = 0; i < SLOTS; i++) CHECK(*(long*)slots[i] == i);
  ssmem_term();
  pthread_barrier_wait(&checked_barrier); /* workers may terminate now */
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&checked_barrier);
}

static void* exits_without_term(void* arg) {
  (void)arg;
  ssmem_gc_thread_init(NULL, 42);
  return NULL; /* the thread-exit hook deregisters it and frees id 42 */
}

static void test_thread_exit_frees_its_id(void) {
  pthread_t t;
  pthread_create(&t, NULL, exits_without_term, NULL);
  pthread_join(t, NULL);
  ssmem_gc_thread_init(NULL, 42); /* would abort if id 42 were still taken */
  ssmem_term();
}

int main(void) {
  (void)unused_ts;
  (void)unused_fs;
  (void)unused_rel;
  (void)unused_list;
  test_alloc_free_reuse();
  test_other_sizes();
  test_release_and_timestamps();
  test_retire_with_deleter();
  test_threads_swap();
  test_thread_exit_frees_its_id();
  printf("c_api_test: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
