/* fork() while other threads use ssmem: the parent forks `forks` times while
     - three churner threads allocate and free without pause (the checked build's registry
       lock: with one churner a lock held across fork() shows rarely, with three most runs),
     - a registrar thread loops ssmem_alloc_init / ssmem_term on a stack allocator (the
       registration lock),
     - a spawner thread starts threads that init a stack allocator, use it and exit without
       ssmem_term (thread-exit hook; their stacks, still holding the allocator's magic word,
       are reused by the next ones),
     - two parked threads hold a live allocator on their stacks (initialised, used, then
       asleep) at every fork().
   Each child initialises an allocator, allocates and frees enough to stamp and collect free
   sets (so the parent's threads' records must not block it), and starts threads that run
   the parked threads' function: glibc hands them the stacks of the threads that vanished in
   fork(), so a fresh allocator lands where a parked thread's live one was -- a new
   allocator, not one "initialised twice" (the checked build aborted there in 94-98 of 100
   children). It terminates and exits 0; a child that deadlocks is killed by its alarm. Every
   child must exit 0, and at least one must have put an allocator at a parked one's address
   (else the test did not test that). Built against the plain and the checked build
   (tests/stress/BUILD), each plain and under UBSan. */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

enum { forks = 100, child_rounds = 20000, parked_threads = 2, child_threads = 8 };

static atomic_int stop, parked;
static void* parked_at[parked_threads];

static void* churner(void* arg) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 4, (int)(intptr_t)arg);
  while (!atomic_load(&stop)) {
    void* p = ssmem_alloc(&a, 32);
    void* q = ssmem_alloc(&a, 32);
    ssmem_free(&a, p);
    ssmem_free(&a, q);
  }
  ssmem_term();
  return NULL;
}

static void* registrar(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    ssmem_allocator_t a;
    ssmem_alloc_init_fs_size(&a, 1 << 16, 2, 2);
    for (int i = 0; i < 8; ++i) ssmem_free(&a, ssmem_alloc(&a, 16));
    ssmem_term();
  }
  return NULL;
}

static void* exits_without_term(void* arg) {
  (void)arg;
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 16, 2, 3);
  for (int i = 0; i < 8; ++i) ssmem_free(&a, ssmem_alloc(&a, 16));
  return NULL;
}

/* Parent (arg 20 + slot, also its id): initialises a stack allocator, uses it, publishes its
   address and sleeps with it live until the end. Child (arg 40 + i, also its id): the same
   frame on a reused stack; returns whether its allocator sits where a parked one was. */
static void* stack_allocator(void* arg) {
  const int id = (int)(intptr_t)arg, slot = id - 20;
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 16, 2, id);
  for (int i = 0; i < 8; ++i) ssmem_free(&a, ssmem_alloc(&a, 16));
  if (id >= 40) {
    int same = 0;
    for (int i = 0; i < parked_threads; ++i) same |= (void*)&a == parked_at[i];
    ssmem_term();
    return same ? (void*)&parked : NULL; /* non-null: it sat on a parked one's address */
  }
  parked_at[slot] = &a;
  atomic_fetch_add(&parked, 1);
  while (!atomic_load(&stop)) usleep(1000);
  ssmem_term();
  return NULL;
}

static void* spawner(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, exits_without_term, NULL) != 0) abort();
    pthread_join(t, NULL);
  }
  return NULL;
}

static int child(void) {
  alarm(5); /* a deadlocked child dies of SIGALRM (a healthy one takes milliseconds) */
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 8, 10); /* id 10: a churner's, free in the child */
  pthread_t t[child_threads];
  int reused_stack = 0;
  for (int i = 0; i < child_threads; ++i) {
    if (pthread_create(&t[i], NULL, stack_allocator, (void*)(intptr_t)(40 + i)) != 0) return 2;
  }
  for (int i = 0; i < child_threads; ++i) {
    void* same = NULL;
    pthread_join(t[i], &same);
    reused_stack |= same != NULL;
  }
  int reused = 0;
  void* previous = NULL;
  for (int i = 0; i < child_rounds; ++i) {
    void* p = ssmem_alloc(&a, 32);
    if (p == NULL) return 2;
    reused += p == previous;
    ssmem_free(&a, p);
    previous = p;
  }
  ssmem_term();
  (void)reused;
  return reused_stack ? 0 : 10; /* 10: fine, but no allocator landed on a parked one's */
}

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  enum { n = 5 + parked_threads };
  pthread_t threads[n];
  void* (*bodies[n])(void*) = {churner, churner, churner, registrar, spawner, stack_allocator,
                               stack_allocator};
  for (int i = 0; i < n; ++i) {
    void* arg = (void*)(intptr_t)(i < 5 ? 10 + i : 20 + (i - 5));
    if (pthread_create(&threads[i], NULL, bodies[i], arg) != 0) return 2;
  }
  while (atomic_load(&parked) < parked_threads) usleep(100);
  int ok = 0, deadlocked = 0, failed = 0, on_parked_stack = 0;
  for (int i = 0; i < forks; ++i) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) _exit(child());
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 10)) {
      ++ok;
      on_parked_stack += WEXITSTATUS(status) == 0;
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
      ++deadlocked;
    } else {
      ++failed;
      printf("child %d: %s %d\n", i, WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < n; ++i) pthread_join(threads[i], NULL);
  printf("%d forks: %d children exited 0, %d deadlocked, %d failed; in %d children a new "
         "allocator sat where a parked thread's live one was\n",
         forks, ok, deadlocked, failed, on_parked_stack);
  return ok == forks && on_parked_stack > 0 ? 0 : 1;
}
