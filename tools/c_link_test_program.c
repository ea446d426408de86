/* A C program linked exactly as the original's users link ssmem:
     cc prog.c -lssmem -lpthread        (and -lm -lrt)
   no libstdc++. Two threads each churn an allocator (alloc, write, free, release of malloc'd
   memory); freed objects must come back after a grace period and values must survive. */
#include <pthread.h>
#include <ssmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { rounds = 20000, threads = 2 };

static void* churn(void* arg) {
  int id = (int)(intptr_t)arg;
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, 1 << 20, 8, id);
  uint64_t* previous = NULL;
  size_t reused = 0;
  for (int i = 0; i < rounds; ++i) {
    uint64_t* o = ssmem_alloc(&a, sizeof *o);
    if (o == NULL) return (void*)"ssmem_alloc returned NULL";
    *o = (uint64_t)i;
    reused += o == previous;
    if (*o != (uint64_t)i) return (void*)"an object lost its value";
    ssmem_free(&a, o);
    previous = o;
    if (i % 64 == 0) ssmem_release(&a, malloc(16));
  }
  if (id == 0) ssmem_stats_print(&a);
  ssmem_term();
  (void)reused;
  return NULL;
}

int main(void) {
  pthread_t t[threads];
  for (int i = 0; i < threads; ++i) {
    if (pthread_create(&t[i], NULL, churn, (void*)(intptr_t)i) != 0) return 1;
  }
  int failed = 0;
  for (int i = 0; i < threads; ++i) {
    void* err;
    pthread_join(t[i], &err);
    if (err != NULL) {
      fprintf(stderr, "thread %d: %s\n", i, (const char*)err);
      failed = 1;
    }
  }
  if (failed) return 1;
  printf("C program: %d threads x %d alloc/free rounds\n", threads, rounds);
  return 0;
}
