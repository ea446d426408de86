/* A C program against an installed ssmem: the original API, as the original's users wrote
   it (#include <ssmem.h>, link -lssmem). Freed objects must come back after a grace period
   (a single thread is always past it once a later batch of full sets is due for a stamp), values must survive. */
#include <ssmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init_fs_size(&a, SSMEM_DEFAULT_MEM_SIZE, 4, 0);
  enum { rounds = 4 * 4 * SSMEM_STAMP_BATCH }; /* free sets of 4, SSMEM_STAMP_BATCH sets a stamp:
                                                 reuse after the second batch */
  uintptr_t seen[rounds];
  size_t reused = 0;
  for (int i = 0; i < rounds; ++i) {
    uint64_t* o = ssmem_alloc(&a, sizeof *o);
    if (o == NULL) {
      fprintf(stderr, "ssmem_alloc returned NULL\n");
      return 1;
    }
    *o = (uint64_t)i;
    for (int j = 0; j < i; ++j) reused += seen[j] == (uintptr_t)o;
    seen[i] = (uintptr_t)o;
    if (*o != (uint64_t)i) return 1;
    ssmem_free(&a, o);
  }
  ssmem_term();
  if (reused == 0) {
    fprintf(stderr, "no freed object was ever reused\n");
    return 1;
  }
  printf("C program: %d alloc/free rounds, %zu reuses\n", rounds, reused);
  return 0;
}
