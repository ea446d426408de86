/*
 * ssmem_test -- the original ssmem stress test's workload and flags, on the C API.
 *
 * A shared array of `range` slots; each slot points to an object that holds the slot's
 * index. Every thread loops: pick a random slot, allocate a new object (rotating among its
 * `-i` allocators), copy the value of the slot's current object into it (read through the
 * pointer loaded from the slot), swap the new object in atomically and free the old one.
 * A reader may still hold the old object while it is freed: only the allocator's grace
 * period keeps it from being reused under the reader. If reclamation is unsafe, a stale read
 * copies another slot's index into a slot, so after the run every slot is checked: each must
 * still hold its own index. Corrupted slots are printed and the exit status is 1.
 *
 * With -e (as in the original) a second array holds malloc'd objects; every 128th operation
 * replaces one of them and hands the old one to ssmem_release (free() after a grace period).
 * With -t there is no shared array: alloc + free only (plus releases with -e).
 *
 * Exit status: 0 correct run, 1 corruption found, 2 bad command line.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ssmem/ssmem.h"

#ifndef SSMEM_TEST_NAME
#define SSMEM_TEST_NAME "ssmem_test"
#endif

/* ---- settings (defaults as in the original) ---- */

struct settings {
  long duration_ms;     /* -d */
  long allocators;      /* -i: allocators per thread */
  long threads;         /* -n */
  long range;           /* -r: slots */
  long free_set_size;   /* -f (extension): objects per free set */
  long hold;            /* -w (extension): spins while holding a slot's object */
  int nothing;          /* -t */
  int releases;         /* -e */
};

static struct settings cfg = {
    .duration_ms = 1000,
    .allocators = 8,
    .threads = 1,
    .range = 2048,
    .free_set_size = SSMEM_GC_FREE_SET_SIZE,
    .hold = 0,
    .nothing = 0,
    .releases = 0,
};

enum { max_threads = 1024, max_allocators = 4096 };
static const long max_range = 1L << 28;
static const long max_duration_ms = 24L * 3600 * 1000;

/* An object of the shared array. Its fields are relaxed atomics so that a stale read in an
   unsafe build is a wrong value, not undefined behaviour; the pointer exchange orders them. */
typedef struct object {
  _Atomic size_t value;
} object_t;

static _Atomic(object_t*)* slots;      /* objects from ssmem_alloc */
static _Atomic(size_t*)* release_slots; /* objects from malloc (-e) */

static atomic_int stop;
static _Atomic uint64_t total_ops;
static _Atomic uint64_t stale_reads; /* copies that read another slot's index */

static pthread_barrier_t start_barrier; /* workers + main: everyone ready */
static pthread_barrier_t done_barrier;  /* workers + main: loops finished */
static pthread_barrier_t check_barrier; /* workers + main: main has checked the array */

/* ---- command line ---- */

static void usage(FILE* out) {
  fprintf(out,
          "%s -- ssmem allocator stress test\n"
          "Usage:\n"
          "  %s [options...]\n"
          "\n"
          "Options:\n"
          "  -h, --help\n"
          "        Print this message\n"
          "  -d, --duration <int>\n"
          "        Test duration in milliseconds (default %ld)\n"
          "  -i, --initial-size <int>\n"
          "        Number of allocators per thread (default %ld)\n"
          "  -n, --num-threads <int>\n"
          "        Number of threads (default %ld)\n"
          "  -r, --range <int>\n"
          "        Number of slots of the shared array (default %ld)\n"
          "  -t, --nothing\n"
          "        Do nothing but alloc/free (no shared array)\n"
          "  -e, --release\n"
          "        Additionally do mallocs and ssmem_releases in some rounds\n"
          "  -f, --free-set-size <int>\n"
          "        Objects per free set (extension; default %d)\n"
          "  -w, --hold <int>\n"
          "        Spin this many rounds while holding a slot's object, between two reads\n"
          "        of its value (extension; default 0). Widens the window in which unsafe\n"
          "        reclamation shows, also when the threads share one core.\n"
          "\n"
          "Prints the parameters, then '#throughput with N threads: OPS/S = MOPS/S M'.\n"
          "After the run every slot must still hold its index: each corrupted slot is\n"
          "printed as '!! SLOT = VALUE'. Exit status: 0 correct, 1 corruption, 2 usage.\n",
          SSMEM_TEST_NAME, SSMEM_TEST_NAME, cfg.duration_ms, cfg.allocators, cfg.threads,
          cfg.range, SSMEM_GC_FREE_SET_SIZE);
}

_Noreturn static void bad_usage(const char* fmt, const char* a, const char* b) {
  fprintf(stderr, "%s: ", SSMEM_TEST_NAME);
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\nUse -h or --help for help\n");
  exit(2);
}

/* Parses a decimal integer in [min, max]; anything else is a usage error naming the flag. */
static long parse_long(const char* flag, const char* text, long min, long max) {
  char* end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (text[0] == '\0' || *end != '\0' || errno == ERANGE) {
    bad_usage("invalid value '%s' for %s: expected an integer", text, flag);
  }
  if (v < min || v > max) {
    char range_text[64];
    snprintf(range_text, sizeof range_text, "%s (allowed: %ld..%ld)", flag, min, max);
    bad_usage("value '%s' out of range for %s", text, range_text);
  }
  return v;
}

static void parse_args(int argc, char** argv) {
  static const struct option long_options[] = {
      {"help", no_argument, NULL, 'h'},
      {"nothing", no_argument, NULL, 't'},
      {"release", no_argument, NULL, 'e'},
      {"duration", required_argument, NULL, 'd'},
      {"initial-size", required_argument, NULL, 'i'},
      {"num-threads", required_argument, NULL, 'n'},
      {"range", required_argument, NULL, 'r'},
      {"free-set-size", required_argument, NULL, 'f'},
      {"hold", required_argument, NULL, 'w'},
      {NULL, 0, NULL, 0},
  };
  opterr = 0; /* our own messages */
  for (;;) {
    int index = -1;
    int c = getopt_long(argc, argv, ":hted:i:n:r:f:w:", long_options, &index);
    if (c == -1) break;
    char name[64]; /* the flag as given: "-d" or "--duration" */
    if (index >= 0) {
      snprintf(name, sizeof name, "--%s", long_options[index].name);
    } else {
      snprintf(name, sizeof name, "-%c", c);
    }
    switch (c) {
      case 'h':
        usage(stdout);
        exit(0);
      case 'd':
        cfg.duration_ms = parse_long(name, optarg, 1, max_duration_ms);
        break;
      case 'i':
        cfg.allocators = parse_long(name, optarg, 1, max_allocators);
        break;
      case 'n':
        cfg.threads = parse_long(name, optarg, 1, max_threads);
        break;
      case 'r':
        cfg.range = parse_long(name, optarg, 1, max_range);
        break;
      case 'f':
        cfg.free_set_size = parse_long(name, optarg, 1, 1L << 20);
        break;
      case 'w':
        cfg.hold = parse_long(name, optarg, 0, 1L << 30);
        break;
      case 't':
        cfg.nothing = 1;
        break;
      case 'e':
        cfg.releases = 1;
        break;
      case ':': /* argv[optind - 1] is the flag that lacks its value */
        bad_usage("option %s requires a value%s", argv[optind - 1], "");
        break;
      case '?':
      default: {
        const char* given = argv[optind - 1];
        if (strncmp(given, "--", 2) == 0 && strchr(given, '=') != NULL) {
          bad_usage("option '%s' takes no value%s", given, "");
        }
        if (optopt != 0 && strncmp(given, "--", 2) != 0) {
          char s[3] = {'-', (char)optopt, '\0'};
          bad_usage("unknown option '%s'%s", s, "");
        }
        bad_usage("unknown option '%s'%s", given, "");
      }
    }
  }
  if (optind < argc) bad_usage("unexpected argument '%s'%s", argv[optind], "");
}

/* ---- workload ---- */

/* xorshift64*: a thread-private random stream. */
static inline uint64_t next_random(uint64_t* s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

typedef struct worker {
  pthread_t thread;
  int id;
  ssmem_allocator_t* allocators;
} worker_t;

static void* work(void* arg) {
  worker_t* w = (worker_t*)arg;
  const size_t n_alloc = (size_t)cfg.allocators;
  const size_t range = (size_t)cfg.range;
  const long hold = cfg.hold;
  volatile long spin_sink = 0; /* keeps the --hold loop from being optimised away */
  uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(w->id + 1) ^ (uint64_t)time(NULL);
  if (seed == 0) seed = 1;

  for (size_t i = 0; i < n_alloc; ++i) {
    ssmem_alloc_init_fs_size(&w->allocators[i], SSMEM_DEFAULT_MEM_SIZE,
                             (size_t)cfg.free_set_size, w->id);
  }
  pthread_barrier_wait(&start_barrier);

  uint64_t ops = 0, stale = 0;
  size_t a = 0;
  if (cfg.nothing) {
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
      ++ops;
      ssmem_allocator_t* al = &w->allocators[a];
      a = a + 1 == n_alloc ? 0 : a + 1;
      if (cfg.releases && (ops & 31) == 0) {
        size_t* r = malloc(sizeof *r);
        if (r == NULL) abort();
        ssmem_release(&w->allocators[next_random(&seed) % n_alloc], r);
      }
      object_t* o = ssmem_alloc(al, sizeof(object_t));
      if (o == NULL) abort();
      ssmem_free(al, o);
    }
  } else {
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
      ++ops;
      size_t spot = (size_t)(next_random(&seed) % range);
      ssmem_allocator_t* al = &w->allocators[a];
      a = a + 1 == n_alloc ? 0 : a + 1;

      if (cfg.releases && (ops & 127) == 0) {
        size_t* r = malloc(sizeof *r);
        if (r == NULL) abort();
        /* acquire: pairs with the acq_rel exchange that published the object. */
        size_t* cur = atomic_load_explicit(&release_slots[spot], memory_order_acquire);
        *r = *cur;
        /* acq_rel: release publishes *r; acquire orders our later release of `old`. */
        size_t* old = atomic_exchange_explicit(&release_slots[spot], r, memory_order_acq_rel);
        ssmem_release(al, old);
      }

      object_t* o = ssmem_alloc(al, sizeof(object_t));
      if (o == NULL) abort();
      /* acquire: pairs with the acq_rel exchange that published the slot's object. */
      object_t* cur = atomic_load_explicit(&slots[spot], memory_order_acquire);
      size_t v = atomic_load_explicit(&cur->value, memory_order_relaxed);
      if (hold != 0) {
        /* Still before our next ssmem call, so `cur` must not be reused meanwhile. */
        for (long k = 0; k < hold; ++k) spin_sink = k;
        size_t again = atomic_load_explicit(&cur->value, memory_order_relaxed);
        if (again != v) ++stale;
        v = again;
      }
      if (v != spot) ++stale;
      atomic_store_explicit(&o->value, v, memory_order_relaxed);
      /* acq_rel: release publishes o->value; acquire: the old object's last writer
         happens-before our free, so its reuse cannot overtake that write. */
      object_t* old = atomic_exchange_explicit(&slots[spot], o, memory_order_acq_rel);
      ssmem_free(al, old);
    }
  }
  (void)spin_sink;
  atomic_fetch_add_explicit(&total_ops, ops, memory_order_relaxed);
  atomic_fetch_add_explicit(&stale_reads, stale, memory_order_relaxed);

  pthread_barrier_wait(&done_barrier);
  pthread_barrier_wait(&check_barrier); /* objects stay mapped until main has checked */
  ssmem_term();
  return NULL;
}

/* Every slot must hold its own index; prints each one that does not. */
static size_t check_slots(void) {
  size_t corrupted = 0;
  for (long i = 0; i < cfg.range; ++i) {
    size_t v = atomic_load_explicit(&slots[i]->value, memory_order_relaxed);
    if (v != (size_t)i) {
      printf("!! %ld = %zu\n", i, v);
      ++corrupted;
    }
    if (release_slots != NULL) {
      v = *release_slots[i];
      if (v != (size_t)i) {
        printf("!! %ld = %zu (release mem)\n", i, v);
        ++corrupted;
      }
    }
  }
  return corrupted;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  parse_args(argc, argv);

  /* The original's parameter line, then the settings it did not print (extensions). */
  printf("# allocators: %ld / threads: %ld / range: %ld / do releases: %d / do nothing: %d\n",
         cfg.allocators, cfg.threads, cfg.range, cfg.releases, cfg.nothing);
  printf("## duration: %ld ms / free set: %ld / hold: %ld\n", cfg.duration_ms,
         cfg.free_set_size, cfg.hold);
  fflush(stdout);

  /* The initial objects come from ssmem too (the threads free them into their allocators),
     from an allocator of the main thread, which then goes offline so that it never holds
     back collection. Thread ids: workers 0..n-1, main n. */
  ssmem_allocator_t* setup = aligned_alloc(CACHE_LINE_SIZE, sizeof(ssmem_allocator_t));
  if (setup == NULL) abort();
  memset(setup, 0, sizeof *setup);
  ssmem_alloc_init(setup, SSMEM_DEFAULT_MEM_SIZE, (int)cfg.threads);
  slots = calloc((size_t)cfg.range, sizeof *slots);
  if (slots == NULL) abort();
  if (cfg.releases) {
    release_slots = calloc((size_t)cfg.range, sizeof *release_slots);
    if (release_slots == NULL) abort();
  }
  for (long i = 0; i < cfg.range; ++i) {
    object_t* o = ssmem_alloc(setup, sizeof(object_t));
    if (o == NULL) abort();
    atomic_store_explicit(&o->value, (size_t)i, memory_order_relaxed);
    atomic_store_explicit(&slots[i], o, memory_order_relaxed);
    if (release_slots != NULL) {
      size_t* r = malloc(sizeof *r);
      if (r == NULL) abort();
      *r = (size_t)i;
      atomic_store_explicit(&release_slots[i], r, memory_order_relaxed);
    }
  }
  ssmem_thread_offline();

  unsigned parties = (unsigned)cfg.threads + 1;
  pthread_barrier_init(&start_barrier, NULL, parties);
  pthread_barrier_init(&done_barrier, NULL, parties);
  pthread_barrier_init(&check_barrier, NULL, parties);

  worker_t* workers = calloc((size_t)cfg.threads, sizeof *workers);
  if (workers == NULL) abort();
  for (long t = 0; t < cfg.threads; ++t) {
    workers[t].id = (int)t;
    size_t bytes = (size_t)cfg.allocators * sizeof(ssmem_allocator_t);
    workers[t].allocators = aligned_alloc(CACHE_LINE_SIZE, bytes);
    if (workers[t].allocators == NULL) abort();
    memset(workers[t].allocators, 0, bytes);
    int rc = pthread_create(&workers[t].thread, NULL, work, &workers[t]);
    if (rc != 0) {
      fprintf(stderr, "%s: pthread_create: %s\n", SSMEM_TEST_NAME, strerror(rc));
      return 1;
    }
  }

  pthread_barrier_wait(&start_barrier);
  double start = now_seconds();
  struct timespec pause = {.tv_sec = cfg.duration_ms / 1000,
                           .tv_nsec = (cfg.duration_ms % 1000) * 1000000L};
  while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
  atomic_store_explicit(&stop, 1, memory_order_relaxed);
  pthread_barrier_wait(&done_barrier);
  double elapsed = now_seconds() - start;

  size_t corrupted = cfg.nothing ? 0 : check_slots();
  pthread_barrier_wait(&check_barrier);
  for (long t = 0; t < cfg.threads; ++t) pthread_join(workers[t].thread, NULL);

  double throughput = (double)atomic_load(&total_ops) / elapsed;
  printf("#throughput with %-4ld threads: %10.0f = %.3f M\n", cfg.threads, throughput,
         throughput / 1e6);
  uint64_t stale = atomic_load(&stale_reads);
  if (stale != 0) printf("!! %" PRIu64 " stale read(s): a copied value was not its slot's index\n", stale);
  if (corrupted != 0) printf("!! %zu corrupted slot(s)\n", corrupted);

  ssmem_term(); /* the setup allocator: every object of the array goes with it */
  free(setup);
  for (long t = 0; t < cfg.threads; ++t) free(workers[t].allocators);
  free(workers);
  if (release_slots != NULL) {
    for (long i = 0; i < cfg.range; ++i) free(release_slots[i]);
    free(release_slots);
  }
  free(slots);
  pthread_barrier_destroy(&start_barrier);
  pthread_barrier_destroy(&done_barrier);
  pthread_barrier_destroy(&check_barrier);
  return corrupted != 0 || stale != 0 ? 1 : 0;
}
