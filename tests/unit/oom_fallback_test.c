/* Out of address space: when the next (doubled) chunk cannot be mapped, the allocator falls
   back to smaller chunks before returning NULL. A child process maps its first chunk (32
   MiB), then runs under an address-space limit (setrlimit RLIMIT_AS) 48 MiB above what it
   uses: the doubled chunk (64 MiB) does not fit. Without the fallback ssmem_alloc returns
   NULL once the first chunk is used up; with it, the allocations go on into most of the 48
   MiB. After NULL the allocator is still usable (free, term). Linked against the plain
   libssmem.a (no sanitizer: ASan's shadow mappings would not fit under the limit). */
#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

enum { object = 4096 };
static const size_t mib = 1024 * 1024;
static const size_t headroom = 48 * 1024 * 1024;

static size_t address_space_in_use(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f == NULL || fscanf(f, "%lu", &pages) != 1) abort();
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static int child(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 0); /* 32 MiB, then doubling */
  void* first = ssmem_alloc(&a, object);
  ssmem_free(&a, first); /* the free set exists before memory runs out */
  printf("child: address space in use %zu MiB, limit +%zu MiB\n", address_space_in_use() / mib,
         headroom / mib);
  fflush(stdout);
  struct rlimit r = {address_space_in_use() + headroom, address_space_in_use() + headroom};
  if (setrlimit(RLIMIT_AS, &r) != 0) return 2;
  size_t bytes = 0;
  void* last = NULL;
  for (;;) {
    uint64_t* o = ssmem_alloc(&a, object);
    if (o == NULL) break;
    *o = 42; /* usable memory */
    bytes += object;
    last = o;
  }
  printf("child: %zu MiB allocated before ssmem_alloc returned NULL (first chunk: %zu MiB)\n",
         bytes / mib, (size_t)SSMEM_DEFAULT_MEM_SIZE / mib);
  fflush(stdout);
  ssmem_free(&a, last); /* still usable */
  ssmem_term();
  /* Without the fallback: exactly the first chunk (less its header). */
  return bytes >= (size_t)SSMEM_DEFAULT_MEM_SIZE + 8 * mib ? 0 : 1;
}

int main(void) {
  setenv("SSMEM_QUIET", "1", 1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    printf("FAIL: the child %s %d: no fallback to smaller chunks\n",
           WIFEXITED(status) ? "exited" : "died of signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 1;
  }
  printf("ok: chunks fell back to smaller sizes under the address-space limit\n");
  return 0;
}
