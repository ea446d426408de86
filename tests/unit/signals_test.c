/* Signal handlers that call ssmem (ssmem.h and docs/design.md, "Signals").

   1. The documented way, both builds: the signal is blocked around every ssmem call of the
      thread (pthread_sigmask), so a handler never interrupts one. A helper thread sends
      SIGUSR1 to the main thread every 20 us; the handler allocates from and frees into the
      interrupted code's own allocator (between two of its calls) and an allocator of its own,
      writes and checks its objects, while the main thread keeps an object of the shared
      allocator and checks it across every delivery. Required: at least 100 handler runs
      (about a thousand here), no object handed out twice, every pattern intact, and no abort
      (no false alarm in the checked build).
   2. The checked build only: the signal is not blocked, so the handler (own allocator only)
      interrupts ssmem calls. That breaks the rule, and the checked build must say so -- abort
      with a message naming it -- instead of waiting for a lock the interrupted call holds (it
      hung there before). A child that hangs is ended by its alarm and counted as a failure.
      The optimised build's behaviour in this case is undefined (ssmem.h), so it is not run.
   Not under TSan (tests/unit/BUILD): TSan defers asynchronous signals to points of its own
   choosing and reports every allocation in a handler. */
#define _GNU_SOURCE

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

#ifndef SSMEM_CHECKED
#define SSMEM_CHECKED 0
#endif

enum { words = 8, rounds = 60000 };

static ssmem_allocator_t shared, own;
static uint64_t* held; /* the main thread's object of `shared` while the signal may come */
static volatile sig_atomic_t handled, handler_failures;
static pthread_t target;
static atomic_int stop_sending;

static void fill(uint64_t* o, uint64_t tag) {
  for (int i = 0; i < words; ++i) o[i] = tag * 31 + (uint64_t)i;
}
static int intact(const uint64_t* o, uint64_t tag) {
  for (int i = 0; i < words; ++i) {
    if (o[i] != tag * 31 + (uint64_t)i) return 0;
  }
  return 1;
}

static void handler(int sig) {
  (void)sig;
  uint64_t* p = ssmem_alloc(&shared, sizeof(uint64_t) * words);
  uint64_t* q = ssmem_alloc(&own, sizeof(uint64_t) * words);
  if (p == NULL || q == NULL || p == held || p == q) {
    handler_failures = handler_failures + 1;
    return;
  }
  fill(p, 1000003);
  fill(q, 1000033);
  if (!intact(p, 1000003) || !intact(q, 1000033)) handler_failures = handler_failures + 1;
  ssmem_free(&shared, p);
  ssmem_free(&own, q);
  handled = handled + 1;
}

static void* sender(void* arg) {
  (void)arg;
  struct timespec pause = {0, 20000};
  while (!atomic_load(&stop_sending)) {
    pthread_kill(target, SIGUSR1);
    nanosleep(&pause, NULL);
  }
  return NULL;
}

static void install(void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
}

/* 1. ssmem calls with the signal blocked around them; the handler runs between them. */
static int blocked_around_calls(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  ssmem_alloc_init_fs_size(&shared, 1 << 20, 16, 1); /* small sets: stamps and reuse */
  ssmem_alloc_init_fs_size(&own, 1 << 20, 16, 1);    /* one thread, two allocators */
  target = pthread_self();
  install(handler);
  pthread_t s;
  atomic_store(&stop_sending, 0);
  if (pthread_create(&s, NULL, sender, NULL) != 0) return 0;
  int failures = 0;
  for (int i = 0; i < rounds; ++i) {
    held = ssmem_alloc(&shared, sizeof(uint64_t) * words); /* blocked: no handler inside */
    if (held == NULL) ++failures;
    fill(held, (uint64_t)i);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL); /* a pending signal is delivered here */
    sched_yield();
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    if (!intact(held, (uint64_t)i)) ++failures;
    ssmem_free(&shared, held);
    held = NULL;
  }
  atomic_store(&stop_sending, 1);
  pthread_join(s, NULL);
  ssmem_term();
  printf("blocked around calls: %d rounds, the handler ran %d times, %d failure(s) in the "
         "handler, %d in the main loop\n",
         (int)rounds, (int)handled, (int)handler_failures, failures);
  return failures == 0 && handler_failures == 0 && handled >= 100;
}

#if SSMEM_CHECKED
static void own_only_handler(int sig) {
  (void)sig;
  ssmem_free(&own, ssmem_alloc(&own, 16));
}

/* 2. The signal interrupts ssmem calls: the checked build aborts, naming it. */
static int interrupted_calls_abort(void) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    alarm(20); /* a hang ends here, as SIGALRM */
    ssmem_alloc_init(&shared, 1 << 20, 1);
    ssmem_alloc_init(&own, 1 << 20, 1);
    target = pthread_self();
    install(own_only_handler);
    pthread_t s;
    atomic_store(&stop_sending, 0);
    if (pthread_create(&s, NULL, sender, NULL) != 0) _exit(2);
    time_t end = time(NULL) + 5;
    while (time(NULL) < end) {
      for (int i = 0; i < 1000; ++i) ssmem_free(&shared, ssmem_alloc(&shared, 16));
    }
    _exit(4); /* 5 s of signals and none landed inside a call: not expected */
  }
  close(fds[1]);
  char err[1024];
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)r;
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  int named = strstr(err, "ssmem functions are not async-signal-safe") != NULL;
  printf("interrupted calls: child %s %d, stderr: %s", WIFSIGNALED(status) ? "killed by signal" : "exited",
         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), err[0] ? err : "(empty)\n");
  return aborted && named;
}
#endif

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  int ok = 1;
#if SSMEM_CHECKED
  ok &= interrupted_calls_abort(); /* first: a fork child of a one-thread process */
#endif
  ok &= blocked_around_calls();
  printf("%s\n", ok ? "signal handlers behave as documented" : "FAILED");
  return ok ? 0 : 1;
}
