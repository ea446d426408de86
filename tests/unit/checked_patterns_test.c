/* The checked build (SSMEM_CHECKED=1) from C: every pattern the original ssmem accepts runs
   clean, and every real misuse still aborts with a message naming it. Each case runs in a
   forked child; the test reads the child's stderr and requires a clean exit (accepted) or
   death by SIGABRT with the expected words (detected). Patterns come in pairs: the legal
   use, and the misuse next to it. */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
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
  if (failures != 0) {
    printf("%d failure(s)\n", failures);
    return 1;
  }
  printf("all checked-build patterns behave\n");
  return 0;
}
