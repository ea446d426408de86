/* Out of memory is recoverable (issue 19.2). Under an address-space limit (setrlimit
   RLIMIT_AS, in a child process per limit so that the limit does not hurt the harness), at
   several limits from 60 MB to 1 GB:
     1. ssmem_alloc of 64-byte objects goes on until it returns NULL (a second call: NULL again);
     2. then, with no address space left, every object is freed (ssmem_free), objects from
        malloc are released (ssmem_release) and retired with a deleter (ssmem_retire): none of
        these may abort -- they need bookkeeping (free sets, release sets, clocks) that can no
        longer be allocated, so the allocator must have it ahead or degrade without aborting;
     3. allocation succeeds again once memory is freed and collected, and nothing is lost:
        rounds of "allocate until NULL, free everything" hand out every object freed in step 2
        again (each object carries its index; a bitmap counts the indices seen again);
     4. ssmem_term succeeds, and every retired object reached its deleter exactly once.
   Before the fix step 2 aborted at the first ssmem_free: "out of memory for free-set
   bookkeeping". With --control, the limit is lifted after step 1 (the bookkeeping gets its
   memory) and the rounds of step 3 stop at 5/4 of the objects of step 1 instead of at NULL:
   the control passed on the code before the fix, which showed that the counts have teeth and
   that only the missing memory failed.
   Plain library and checked library (the checked registry allocates too, for every chunk).
   No sanitizer: ASan's shadow mappings do not fit under the limit. */
#define _GNU_SOURCE

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssmem/ssmem.h"

enum { object = 64, mallocd = 2000, rounds = 4 };
static const size_t mib = 1024 * 1024;
static const uint64_t magic = 0x4f4f4d5245434f56ull; /* "OOMRECOV" */

/* What each object holds while the test owns it: a chain through the objects themselves (no
   memory outside them is needed once the address space is gone) and its index. */
struct obj {
  struct obj* next;
  uint64_t magic;
  uint64_t index;
};

static size_t address_space_in_use(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f == NULL || fscanf(f, "%lu", &pages) != 1) abort();
  fclose(f);
  return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

static int deleted = 0;
static void count_and_free(void* p, void* context) {
  (void)context;
  ++deleted;
  free(p);
}

/* Allocates until NULL (or `cap` objects); objects never handed out before get the next index. Returns the
   chain; *count objects, *again of them carried an index already (marked in `seen`). */
static struct obj* allocate_all(ssmem_allocator_t* a, size_t cap, uint64_t* next_index,
                                size_t* count, size_t* again, uint8_t* seen, uint64_t seen_bits) {
  struct obj* head = NULL;
  *count = 0;
  *again = 0;
  struct obj* o;
  while (*count < cap && (o = ssmem_alloc(a, object)) != NULL) {
    if (o->magic == magic) {
      if (o->index < seen_bits) seen[o->index / 8] |= (uint8_t)(1u << (o->index % 8));
      ++*again;
    } else {
      o->magic = magic;
      o->index = (*next_index)++;
    }
    o->next = head;
    head = o;
    ++*count;
  }
  return head;
}

static void free_all(ssmem_allocator_t* a, struct obj* head) {
  while (head != NULL) {
    struct obj* next = head->next; /* the owner may read what it freed until its next bump */
    ssmem_free(a, head);
    head = next;
  }
}

static int control = 0; /* --control: see the file comment */

static int set_limit(size_t bytes) {
  struct rlimit r;
  if (getrlimit(RLIMIT_AS, &r) != 0) return -1;
  r.rlim_cur = bytes; /* the hard limit stays: --control raises the soft one again */
  return setrlimit(RLIMIT_AS, &r);
}

static int child(size_t limit) {
  setenv("SSMEM_QUIET", "1", 1);
  /* Before the limit: the bitmap of indices seen again, and objects from malloc to release. */
  const uint64_t seen_bits = limit / object;
  uint8_t* seen = mmap(NULL, seen_bits / 8 + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (seen == MAP_FAILED) return 2;
  void* from_malloc[mallocd];
  for (int i = 0; i < mallocd; ++i) {
    from_malloc[i] = malloc(48);
    if (from_malloc[i] == NULL) return 2;
  }
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 0);
  size_t in_use = address_space_in_use();
  if (in_use + 16 * mib > limit) {
    fprintf(stderr, "  limit %zu MiB: %zu MiB in use already, skipped\n", limit / mib, in_use / mib);
    return 77;
  }
  if (set_limit(limit) != 0) return 2;

  /* 1. Allocate until NULL. */
  uint64_t next_index = 0;
  size_t n, again;
  struct obj* head = allocate_all(&a, SIZE_MAX, &next_index, &n, &again, seen, seen_bits);
  fprintf(stderr, "  limit %zu MiB: %zu objects (%zu MiB) before NULL\n", limit / mib, n, n * object / mib);
  if (n == 0) {
    fprintf(stderr, "FAIL: limit %zu MiB: no object at all\n", limit / mib);
    return 1;
  }
  if (ssmem_alloc(&a, object) != NULL) {
    fprintf(stderr, "FAIL: limit %zu MiB: an allocation after NULL succeeded with nothing freed\n", limit / mib);
    return 1;
  }

  /* 2. Free, release and retire with no address space left. */
  fprintf(stderr, "  limit %zu MiB: freeing %zu objects, releasing %d, retiring %d\n", limit / mib, n,
          mallocd / 2, mallocd / 2);
  if (control && set_limit(RLIM_INFINITY) != 0) return 2;
  free_all(&a, head);
  for (int i = 0; i < mallocd; ++i) {
    if (i % 2 == 0) {
      ssmem_release(&a, from_malloc[i]);
    } else {
      ssmem_retire(&a, from_malloc[i], count_and_free, NULL);
    }
  }

  /* 3. Allocation works again, and every object freed in step 2 is handed out again. */
  for (int round = 0; round < rounds; ++round) {
    size_t m;
    head = allocate_all(&a, control ? n + n / 4 : SIZE_MAX, &next_index, &m, &again, seen, seen_bits);
    fprintf(stderr, "  limit %zu MiB: round %d: %zu objects (%zu handed out before)\n", limit / mib,
            round + 1, m, again);
    if (m == 0) {
      fprintf(stderr, "FAIL: limit %zu MiB: round %d: no allocation succeeded after freeing %zu objects\n",
              limit / mib, round + 1, n);
      return 1;
    }
    free_all(&a, head);
  }
  size_t lost = 0;
  for (uint64_t i = 0; i < n && i < seen_bits; ++i) lost += (seen[i / 8] >> (i % 8) & 1u) == 0;
  if (lost != 0) {
    fprintf(stderr, "FAIL: limit %zu MiB: %zu of %zu freed objects were never handed out again in %d rounds\n",
            limit / mib, lost, n, rounds);
    return 1;
  }

  /* 4. Term returns everything; every retired object met its deleter once. */
  ssmem_term();
  if (deleted != mallocd / 2) {
    fprintf(stderr, "FAIL: limit %zu MiB: %d of %d retired objects reached their deleter\n", limit / mib,
            deleted, mallocd / 2);
    return 1;
  }
  fprintf(stderr, "  limit %zu MiB: ok: all %zu objects reused, %d deleters run\n", limit / mib, n, deleted);
  return 0;
}

/* Usage: oom_recovery_test [--control] [LIMIT_MIB...] (default: 60 128 256 512 1024). */
int main(int argc, char** argv) {
  size_t limits_mib[16] = {60, 128, 256, 512, 1024};
  size_t limits = 5;
  int arg = 1;
  if (arg < argc && strcmp(argv[arg], "--control") == 0) {
    control = 1;
    ++arg;
  }
  if (arg < argc) limits = 0;
  for (; arg < argc && limits < 16; ++arg) limits_mib[limits++] = strtoul(argv[arg], NULL, 10);
  printf("oom_recovery_test%s\n", control ? " --control (bookkeeping may allocate in step 2)" : "");
  int failures = 0, tested = 0;
  for (size_t i = 0; i < limits; ++i) {
    size_t limit = limits_mib[i] * mib;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      signal(SIGABRT, SIG_DFL);
      _exit(child(limit));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) continue; /* skipped */
    ++tested;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      printf("FAIL: limit %zu MiB: the child %s %d (its stderr is above)\n", limits_mib[i],
             WIFEXITED(status) ? "exited with" : "died of signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
      ++failures;
    } else {
      printf("ok: limit %zu MiB\n", limits_mib[i]);
    }
  }
  if (tested == 0) {
    printf("FAIL: every limit was below what the process uses already: nothing tested\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
