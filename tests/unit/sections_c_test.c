/* The C pair of critical sections (ssmem_section_enter / ssmem_section_exit, ssmem.h), from a
   C translation unit: an offline thread goes online at its outermost entry and offline at the
   matching exit, sections nest, an online thread's timestamp is untouched; a section of an
   otherwise offline thread keeps another thread's frees from being reused until it ends; and,
   in the checked build, an exit without an enter (or by an unregistered thread) aborts with
   its message (in a forked child). Built against the plain library (compiled in, under
   ASan+UBSan) and against ssmem_checked. A plain C program: each check prints its failure and
   the exit status counts them. */
#define _DEFAULT_SOURCE 1
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

#ifndef SSMEM_CHECKED
#define SSMEM_CHECKED 0
#endif

static int failures = 0;
#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
      ++failures;                                                           \
    }                                                                       \
  } while (0)

enum { object = 64, free_set = SSMEM_GC_FREE_SET_SIZE, batch = SSMEM_GC_FREE_SET_SIZE * SSMEM_STAMP_BATCH };
static const size_t chunk = (size_t)64 << 20; /* one chunk holds every object below: carving only goes up */

/* The timestamp of the record in `slot` of the default domain. */
static size_t version_of(size_t slot) {
  size_t* v = ssmem_ts_set_collect();
  if (v == NULL || slot >= ssmem_ts_set_size()) {
    fprintf(stderr, "no snapshot of slot %zu\n", slot);
    exit(2);
  }
  size_t r = v[slot];
  free(v);
  return r;
}
static int is_offline(size_t version) { return (version & 1u) != 0; }

/* ---- misuse, in a child: the checked build aborts naming it ---- */

/* Runs body() in a child with stderr in a pipe; 1 if it died by SIGABRT with `message` on
   stderr. */
static int aborts_with(void (*body)(void), const char* message) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL);
    dup2(fds[1], 2);
    close(fds[0]);
    setenv("SSMEM_QUIET", "1", 1);
    body();
    _exit(0); /* no abort: the check below fails */
  }
  close(fds[1]);
  char err[2048];
  size_t n = 0;
  ssize_t k;
  while (n + 1 < sizeof err && (k = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)k;
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(err, message) != NULL;
  if (!ok) fprintf(stderr, "expected an abort with \"%s\"; status %d, stderr: %s\n", message, status, err);
  return ok;
}

static void exit_without_enter(void) {
  ssmem_gc_thread_init(NULL, 4);
  ssmem_thread_offline();
  ssmem_section_exit();
}
static void one_exit_too_many(void) {
  ssmem_gc_thread_init(NULL, 4);
  ssmem_section_enter();
  ssmem_section_enter();
  ssmem_section_exit();
  ssmem_section_exit();
  ssmem_section_exit();
}
static void exit_unregistered(void) { ssmem_section_exit(); }
static void enter_unregistered(void) { ssmem_section_enter(); }

static void test_misuse_aborts(void) {
  const char* unmatched = "ssmem: ssmem_section_exit: section exit without a matching ssmem_section_enter";
  CHECK(aborts_with(exit_without_enter, unmatched));
  CHECK(aborts_with(one_exit_too_many, unmatched));
  CHECK(aborts_with(exit_unregistered, "ssmem: ssmem_section_exit: thread not registered"));
  CHECK(aborts_with(enter_unregistered, "ssmem: ssmem_section_enter: thread not registered"));
}

/* ---- the pair on one thread ---- */

static void test_nesting(void) {
  ssmem_gc_thread_init(NULL, 3);
  CHECK(ssmem_ts_set_size() == 1); /* this thread is slot 0 */
  ssmem_thread_offline();
  const size_t v0 = version_of(0);
  CHECK(is_offline(v0));
  ssmem_section_enter();
  CHECK(version_of(0) == v0 + 1); /* online */
  ssmem_section_enter();
  ssmem_section_enter();
  CHECK(version_of(0) == v0 + 1);
  ssmem_section_exit();
  ssmem_section_exit();
  CHECK(version_of(0) == v0 + 1); /* inner exits: still online */
  ssmem_section_exit();
  CHECK(version_of(0) == v0 + 2); /* offline again */
  ssmem_section_enter();
  ssmem_section_exit();
  CHECK(version_of(0) == v0 + 4);

  /* Online before: the pair only counts. */
  ssmem_thread_online();
  const size_t v1 = version_of(0);
  CHECK(!is_offline(v1));
  ssmem_section_enter();
  ssmem_section_enter();
  ssmem_section_exit();
  ssmem_section_exit();
  CHECK(version_of(0) == v1);
  ssmem_term();
}

/* ---- a section of another thread holds frees back ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int step = 0; /* reader: 1 registered, offline; 3 in a section; 5 out of it. main: 2, 4, 6 */

static void go(int s) {
  pthread_mutex_lock(&lock);
  step = s;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}
static void wait_for(int s) {
  pthread_mutex_lock(&lock);
  while (step < s) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
}

static void* reader(void* unused) {
  (void)unused;
  ssmem_gc_thread_init(NULL, 9);
  ssmem_thread_offline();
  go(1);
  wait_for(2);
  ssmem_section_enter();
  go(3);
  wait_for(4); /* asleep inside the section */
  ssmem_section_exit();
  go(5);
  wait_for(6); /* asleep between sections */
  ssmem_term();
  return NULL;
}

/* `n` alloc/free pairs on `a`; returns how many allocations were served an object that had
   been handed out before (carving only goes up in the one chunk; *top is the highest seen). */
static size_t pairs_reused(ssmem_allocator_t* a, size_t n, uintptr_t* top) {
  size_t reused = 0;
  for (size_t i = 0; i < n; ++i) {
    uintptr_t p = (uintptr_t)ssmem_alloc(a, object);
    CHECK(p != 0);
    if (p <= *top) {
      ++reused;
    } else {
      *top = p;
    }
    ssmem_free(a, (void*)p);
  }
  return reused;
}

static void test_section_holds_back(void) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
  wait_for(1);

  /* Control: the reader registered and offline holds nothing back. */
  ssmem_allocator_t control;
  ssmem_alloc_init(&control, chunk, 2);
  uintptr_t top = 0;
  CHECK(pairs_reused(&control, 3 * batch, &top) > 0);
  ssmem_alloc_term(&control);

  go(2);
  wait_for(3);
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, chunk, 2); /* every set of `a` is stamped while the section is open */
  top = 0;
  CHECK(pairs_reused(&a, 3 * batch, &top) == 0);
  go(4);
  wait_for(5);
  CHECK(pairs_reused(&a, batch + 2 * free_set, &top) > 0);
  go(6);
  CHECK(pthread_join(t, NULL) == 0);
  ssmem_alloc_term(&a);
}

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  if (SSMEM_CHECKED) test_misuse_aborts(); /* children forked before this thread registers */
  test_nesting();
  test_section_holds_back();
  if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures != 0;
}
