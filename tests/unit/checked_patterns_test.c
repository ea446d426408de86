/* The checked build (SSMEM_CHECKED=1) from C: every pattern the original ssmem accepts runs
   clean, and every real misuse still aborts with a message naming it. Each case runs in a
   forked child; the test reads the child's stderr and requires a clean exit (accepted) or
   death by SIGABRT with the expected words (detected). Patterns come in pairs: the legal
   use, and the misuse next to it. */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

static int failures = 0;

/* Runs body() in a child; returns its stderr (static buffer), sets *aborted / *clean. */
static const char* run_child(void (*body)(void), int* aborted, int* clean) {
  static char err[4096];
  int fds[2];
  if (pipe(fds) != 0) abort();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) abort();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    body();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)r;
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  *clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return err;
}

static void accepted(const char* name, void (*body)(void)) {
  int aborted, clean;
  const char* err = run_child(body, &aborted, &clean);
  if (!clean || err[0] != '\0') {
    printf("FAIL accepted: %s (stderr: %s)\n", name, err);
    ++failures;
  } else {
    printf("ok   accepted: %s\n", name);
  }
}

static void detected(const char* name, void (*body)(void), const char* words) {
  int aborted, clean;
  const char* err = run_child(body, &aborted, &clean);
  if (!aborted || strstr(err, words) == NULL) {
    printf("FAIL detected: %s: expected SIGABRT and '%s' (stderr: %s)\n", name, words, err);
    ++failures;
  } else {
    printf("ok   detected: %s -> %s", name, err);
  }
}

/* ---- foreign objects: a malloc'd object freed through ssmem_free joins the allocator ---- */

/* As the original's ssmem_test: slots seeded with malloc'd objects, freed later through
   ssmem_free, then handed out again by ssmem_alloc, freed again, and so on. */
static void foreign_objects_adopted(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 2, 0);
  enum { n = 8 };
  void* seeds[n];
  for (int i = 0; i < n; ++i) seeds[i] = malloc(sizeof(uint64_t));
  for (int i = 0; i < n; ++i) ssmem_free(&a, seeds[i]);
  /* Enough rounds that the adopted objects are collected and handed out again. */
  int adopted_reused = 0;
  for (int round = 0; round < 1000; ++round) {
    uint64_t* o = ssmem_alloc(&a, sizeof *o);
    for (int i = 0; i < n; ++i) adopted_reused += (void*)o == seeds[i];
    *o = (uint64_t)round;
    ssmem_free(&a, o);
  }
  if (adopted_reused == 0) {
    fprintf(stderr, "no adopted object was handed out again\n");
    _exit(3);
  }
  ssmem_term();
}

/* A data structure's dummy node from its own allocator (a static here), freed through ssmem. */
static uint64_t dummy_node[2];
static void static_object_adopted(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  (void)ssmem_alloc(&a, 16);
  ssmem_free(&a, dummy_node);
  ssmem_term();
}

static void foreign_object_freed_twice(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  void* p = malloc(16);
  ssmem_free(&a, p);
  ssmem_free(&a, p);
}

/* A foreign object handed out again by ssmem_alloc may be released (it came from malloc). */
static void adopted_object_released_when_handed_out(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 1, 0);
  void* p = malloc(16);
  ssmem_free(&a, p);
  for (int i = 0; i < 100; ++i) {
    void* o = ssmem_alloc(&a, 16);
    if (o == p) {
      ssmem_release(&a, o);
      ssmem_term();
      return;
    }
    ssmem_free(&a, o);
  }
  fprintf(stderr, "the adopted object never came back\n");
  _exit(3);
}

static void adopted_object_released_while_free(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  void* p = malloc(16);
  ssmem_free(&a, p);
  ssmem_release(&a, p);
}

/* ---- chunk objects: the detections that stay ---- */

static void chunk_objects_freed_once(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 2, 0);
  for (int i = 0; i < 100; ++i) {
    void* p = ssmem_alloc(&a, 16);
    void* q = ssmem_alloc(&a, 16);
    ssmem_free(&a, p);
    ssmem_free(&a, q);
  }
  ssmem_release(&a, malloc(10));
  ssmem_term();
}

static void chunk_object_freed_twice(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  void* p = ssmem_alloc(&a, 16);
  ssmem_free(&a, p);
  ssmem_free(&a, p);
}

static void interior_pointer_freed(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  char* p = ssmem_alloc(&a, 16);
  ssmem_free(&a, p + 8);
}

static void object_freed_into_its_own_size(void) {
  ssmem_allocator_t a, b;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_init(&b, 1 << 20, 0);
  void* p = ssmem_alloc(&a, 16);
  (void)ssmem_alloc(&b, 16);
  ssmem_free(&b, p); /* another allocator, same object size: legal */
  ssmem_term();
}

static void object_freed_into_another_size(void) {
  ssmem_allocator_t a, b;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_init(&b, 1 << 20, 0);
  void* p = ssmem_alloc(&a, 16);
  (void)ssmem_alloc(&b, 64);
  ssmem_free(&b, p);
}

static void chunk_object_released(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_release(&a, ssmem_alloc(&a, 16));
}

/* ---- allocator life cycle: use before init / after term / twice, and stale memory ---- */

static void init_term_init(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_term(&a);
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_free(&a, ssmem_alloc(&a, 16));
  ssmem_term();
}

static void init_twice(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_init(&a, 1 << 20, 0);
}

static void used_before_init(void) {
  ssmem_allocator_t a;
  memset(&a, 0, sizeof a);
  (void)ssmem_alloc(&a, 16);
}

static void used_after_term(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_term(&a);
  (void)ssmem_alloc(&a, 16);
}

/* A thread that exits without ssmem_term leaves its allocator's bytes (magic word included)
   where a later allocator may sit: here the same static storage, as a new thread's stack
   allocator would reuse a dead thread's stack. Initialising it again is legal. */
static ssmem_allocator_t shared_storage;
static void* init_and_exit(void* arg) {
  (void)arg;
  ssmem_alloc_init(&shared_storage, 1 << 20, 1);
  ssmem_free(&shared_storage, ssmem_alloc(&shared_storage, 16));
  return NULL; /* no ssmem_term */
}
static void* init_again_and_term(void* arg) {
  (void)arg;
  ssmem_alloc_init(&shared_storage, 1 << 20, 1);
  ssmem_free(&shared_storage, ssmem_alloc(&shared_storage, 16));
  ssmem_term();
  return NULL;
}
static void stale_allocator_memory_reinitialised(void) {
  pthread_t t;
  pthread_create(&t, NULL, init_and_exit, NULL);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, init_again_and_term, NULL);
  pthread_join(t, NULL);
}

/* ... but using it as it is, after its thread exited, is use without init. */
static void stale_allocator_memory_used(void) {
  pthread_t t;
  pthread_create(&t, NULL, init_and_exit, NULL);
  pthread_join(t, NULL);
  ssmem_allocator_t* a = &shared_storage;
  ssmem_alloc_init(&(ssmem_allocator_t){0}, 1 << 20, 2); /* this thread is registered */
  (void)ssmem_alloc(a, 16);
}

/* ---- fork(): allocators on the stacks of threads that vanish ---- */

/* Under AddressSanitizer with detect_stack_use_after_return (--config=asan) locals live on a
   fake stack of ASan's, not on the thread's stack: the address is not reused, and the case
   below only shows that nothing aborts. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAKE_STACKS 1
#endif
#endif
#ifndef FAKE_STACKS
#define FAKE_STACKS 0
#endif
/* ThreadSanitizer cannot start threads in the child of a multi-threaded fork(). */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NO_THREADS_AFTER_FORK 1
#endif
#endif
#ifndef NO_THREADS_AFTER_FORK
#define NO_THREADS_AFTER_FORK 0
#endif

/* A thread of the parent holds a live allocator on its stack at fork(). In the child that
   thread does not exist, and glibc hands its stack to the child's next thread: the same
   function puts a fresh allocator at the same address. That is a new allocator, not one
   "initialised twice". */
static atomic_int parked_ready, parked_stop;
static void* parked_address;
static void* stack_allocator(void* child_mode) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 16, child_mode ? 31 : 30);
  ssmem_free(&a, ssmem_alloc(&a, 16));
  if (child_mode) {
    int same = (void*)&a == parked_address;
    ssmem_term();
    return same ? &parked_ready : NULL;
  }
  parked_address = &a;
  atomic_store(&parked_ready, 1);
  while (!atomic_load(&parked_stop)) usleep(1000);
  ssmem_term();
  return NULL;
}
static void allocator_on_a_stack_that_vanished_in_fork(void) {
  pthread_t parked;
  pthread_create(&parked, NULL, stack_allocator, NULL);
  while (!atomic_load(&parked_ready)) usleep(100);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t t;
    void* same = NULL;
    pthread_create(&t, NULL, stack_allocator, (void*)1);
    pthread_join(t, &same);
    if (same == NULL && !FAKE_STACKS) {
      fprintf(stderr, "the child's thread did not get the vanished thread's stack\n");
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  atomic_store(&parked_stop, 1);
  pthread_join(parked, NULL);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "the fork child failed (status %d)\n", status);
    _exit(3);
  }
}

/* A copy of a live allocator holds the same bytes; it is not an allocator. */
static void copy_of_an_allocator_used(void) {
  static ssmem_allocator_t a, copy;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_free(&a, ssmem_alloc(&a, 16));
  memcpy(&copy, &a, sizeof a);
  (void)ssmem_alloc(&copy, 16);
}

/* ---- owner-only ---- */

static ssmem_allocator_t owned;
static atomic_int owner_ready, owner_stop;
static void* owner_thread(void* arg) {
  (void)arg;
  ssmem_alloc_init(&owned, 1 << 20, 41);
  (void)ssmem_alloc(&owned, 16);
  atomic_store(&owner_ready, 1);
  while (!atomic_load(&owner_stop)) usleep(1000);
  ssmem_term();
  return NULL;
}
static void another_threads_allocator_used(void) {
  pthread_t t;
  pthread_create(&t, NULL, owner_thread, NULL);
  while (!atomic_load(&owner_ready)) usleep(100);
  ssmem_gc_thread_init(NULL, 42);
  (void)ssmem_alloc(&owned, 16); /* the owner is alive, and this is not it */
}
static void another_threads_allocator_freed_into(void) {
  pthread_t t;
  pthread_create(&t, NULL, owner_thread, NULL);
  while (!atomic_load(&owner_ready)) usleep(100);
  ssmem_free(&owned, malloc(16)); /* this thread is not even registered */
}

/* ---- deleters (user code that ssmem calls) and re-entry ---- */

static ssmem_allocator_t deleter_home, deleter_other;
static int deleter_ran = 0;
static void deleter_using_another_allocator(void* obj, void* context) {
  (void)context;
  ssmem_free(&deleter_other, ssmem_alloc(&deleter_other, 16)); /* legal: another allocator */
  ++deleter_ran;
  free(obj);
}
static void deleter_using_its_own_allocator(void* obj, void* context) {
  (void)context;
  ssmem_free(&deleter_home, ssmem_alloc(&deleter_home, 16)); /* the allocator it runs in */
  free(obj);
}
/* Retires one object with `fn`, then frees until its deleter has run. */
static void retire_and_collect(ssmem_deleter_t fn) {
  ssmem_alloc_init_fs_size(&deleter_home, 1 << 20, 1, 0); /* free sets of 1: batches of 8 */
  ssmem_alloc_init(&deleter_other, 1 << 20, 0);
  ssmem_retire(&deleter_home, malloc(16), fn, NULL);
  for (int i = 0; i < 200 && deleter_ran == 0; ++i) {
    ssmem_free(&deleter_home, ssmem_alloc(&deleter_home, 16));
  }
}
static void retire_deleter_uses_another_allocator(void) {
  retire_and_collect(deleter_using_another_allocator);
  if (deleter_ran == 0) {
    fprintf(stderr, "the deleter never ran\n");
    _exit(3);
  }
  ssmem_term();
}
static void retire_deleter_uses_its_own_allocator(void) {
  retire_and_collect(deleter_using_its_own_allocator);
  fprintf(stderr, "the deleter never ran\n");
}

static void chunk_object_retired_without_deleter(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_retire(&a, ssmem_alloc(&a, 16), NULL, NULL); /* NULL deleter: a release */
}

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  accepted("foreign (malloc'd) objects freed through ssmem_free are adopted and reused",
           foreign_objects_adopted);
  accepted("a static object freed through ssmem_free is adopted", static_object_adopted);
  detected("a foreign object freed twice", foreign_object_freed_twice, "double free");
  accepted("an adopted object handed out again may be released",
           adopted_object_released_when_handed_out);
  detected("an adopted object released while it sits in a free set",
           adopted_object_released_while_free, "sits in a free set");
  accepted("chunk objects freed once each, releases of malloc'd memory", chunk_objects_freed_once);
  detected("a chunk object freed twice", chunk_object_freed_twice, "double free");
  detected("an interior pointer of a chunk freed", interior_pointer_freed,
           "not the start of an ssmem object");
  accepted("an object freed into another allocator of its size", object_freed_into_its_own_size);
  detected("an object freed into an allocator of another size", object_freed_into_another_size,
           "wrong size");
  detected("an ssmem object released", chunk_object_released, "use ssmem_free");
  accepted("init, term, init again on the same storage", init_term_init);
  detected("init twice", init_twice, "initialised twice");
  detected("use before init", used_before_init, "before ssmem_alloc_init");
  detected("use after term", used_after_term, "after ssmem_alloc_term");
  accepted("init on storage left live by a thread that exited", stale_allocator_memory_reinitialised);
  detected("use of an allocator whose thread exited", stale_allocator_memory_used,
           "its thread exited");
  if (NO_THREADS_AFTER_FORK) {
    printf("skip accepted: a new thread's allocator on the stack of a thread that vanished in "
           "fork() (ThreadSanitizer starts no thread after a multi-threaded fork)\n");
  } else {
    accepted("a new thread's allocator on the stack of a thread that vanished in fork()",
             allocator_on_a_stack_that_vanished_in_fork);
  }
  detected("a copy of a live allocator used", copy_of_an_allocator_used, "not initialised");
  detected("another (live) thread's allocator used", another_threads_allocator_used,
           "allocator of thread id 41 (tid ");
  detected("another thread's allocator used: the caller is named", another_threads_allocator_used,
           "used by thread id 42 (tid ");
  detected("another thread's allocator freed into by an unregistered thread",
           another_threads_allocator_freed_into, "used by thread tid ");
  accepted("a deleter of ssmem_retire that uses another allocator", retire_deleter_uses_another_allocator);
  detected("a deleter of ssmem_retire that uses the allocator it runs in",
           retire_deleter_uses_its_own_allocator, "allocator re-entered");
  detected("an ssmem object retired without a deleter (a release)", chunk_object_retired_without_deleter,
           "ssmem_retire: release of an object that came from ssmem_alloc");
  if (failures != 0) {
    printf("%d failure(s)\n", failures);
    return 1;
  }
  printf("all checked-build patterns behave\n");
  return 0;
}
