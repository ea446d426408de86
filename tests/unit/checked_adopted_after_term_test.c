/* The checked build and foreign objects left behind by ssmem_alloc_term (found while writing
   the API fuzzer's model, tests/fuzz; ssmem.cc and ssmem/detail/checked.hpp).

   A malloc'd object freed through ssmem_free is adopted: the checked registry tracks it as an
   object of that allocator. If the allocator ends (ssmem_alloc_term) while the object sits in
   its free set, ssmem forgets the object -- it never gives it back -- but the registry keeps
   its entry ("free") forever. Once the program frees that memory and malloc hands the same
   address out again, freeing the new object through ssmem_free aborts with a false
   "double free".

   Decided: legal. ssmem_alloc_term forgets the adopted objects still in its sets (the
   checked registry's on_dropped), so the program may take their memory back, and a new
   object at the same address is not a double free (docs/design.md, "Bad input and faults").

   Checked library, no sanitizer (ASan's quarantine would keep malloc from reusing the address
   at once). The address reuse is glibc's: malloc after free of the same size returns the same
   chunk from the thread's caches (within 64 mallocs here); the test says so when it did not
   happen (nothing tested). */
#define _GNU_SOURCE

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

static int child(void) {
  ssmem_allocator_t a, b;
  ssmem_alloc_init(&a, 1 << 20, 0);
  ssmem_alloc_init(&b, 1 << 20, 0);
  (void)ssmem_alloc(&a, 64); /* fixes the object sizes */
  (void)ssmem_alloc(&b, 64);
  void* p = malloc(64);
  ssmem_free(&a, p);     /* adopted by a */
  ssmem_alloc_term(&a);  /* p stays in a's free set, which is gone */
  free(p);               /* the program takes the memory back */
  /* malloc hands p out again, at once from the thread's cache or after the chunks that the
     allocator's teardown put there before it (its sets' clocks): the others are kept aside. */
  void* aside[64];
  int n = 0;
  void* q = malloc(64);
  while (q != p && q != NULL && n < 64) {
    aside[n++] = q;
    q = malloc(64);
  }
  if (q != p) {
    fprintf(stderr, "malloc did not reuse the address: nothing tested\n");
    return 2;
  }
  ssmem_free(&b, q); /* a new foreign object, adopted by b: must not abort */
  ssmem_term();
  for (int i = 0; i < n; ++i) free(aside[i]);
  return 0;
}

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL);
    _exit(child());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    printf("ok: a new object at the address of an adopted object forgotten by ssmem_alloc_term is adopted again\n");
    return 0;
  }
  printf("FAIL: the child %s %d (a false \"double free\" above, if it aborted)\n",
         WIFEXITED(status) ? "exited with" : "died of signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return 1;
}
