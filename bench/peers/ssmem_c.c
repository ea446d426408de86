/* The ssmem-c peer's C translation unit (see ssmem_c.h): the W1 and W2 loops as a C program
   writes them against the original's ssmem.h. Compiled as C, with the benchmark's flags. */
#include "bench/peers/ssmem_c.h"

/* The harness's escape(): keeps the compiler from dropping the pointer's computation. */
#define ESCAPE(p) __asm__ volatile("" : : "g"(p) : "memory")

void bench_ssmem_c_init(ssmem_allocator_t* a, int id) { ssmem_alloc_init(a, SSMEM_DEFAULT_MEM_SIZE, id); }

void bench_ssmem_c_term(void) { ssmem_term(); }

void* bench_ssmem_c_alloc(ssmem_allocator_t* a, size_t size) { return ssmem_alloc(a, size); }

void bench_ssmem_c_free(ssmem_allocator_t* a, void* obj) { ssmem_free(a, obj); }

void bench_ssmem_c_pair_loop(ssmem_allocator_t* a, size_t size, unsigned long long n) {
  for (unsigned long long k = 0; k < n; ++k) {
    void* o = ssmem_alloc(a, size);
    ((char*)o)[0] = (char)k; /* use the object */
    ESCAPE(o);
    ssmem_free(a, o);
  }
}

struct swap_node {
  uint64_t value;
};

/* bench::rng (harness.hpp): splitmix64. */
static inline uint64_t rng_next(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t bench_ssmem_c_swap_loop(ssmem_allocator_t* a, void* slots_, size_t nslots, uint64_t* rng_state,
                                 unsigned n) {
  struct swap_node** slots = (struct swap_node**)slots_;
  uint64_t state = *rng_state;
  uint64_t stale = 0;
  for (unsigned k = 0; k < n; ++k) {
    const size_t s = (size_t)(rng_next(&state) & (nslots - 1));
    struct swap_node* fresh = ssmem_alloc(a, sizeof(struct swap_node)); /* before the load */
    struct swap_node* cur = __atomic_load_n(&slots[s], __ATOMIC_ACQUIRE);
    const uint64_t v = cur->value;
    fresh->value = v;
    /* acq_rel: release publishes fresh's value; acquire orders our read of cur before the
       exchange that unlinks it (the free below comes after). */
    struct swap_node* old = __atomic_exchange_n(&slots[s], fresh, __ATOMIC_ACQ_REL);
    ssmem_free(a, old);
    stale += v != s;
  }
  *rng_state = state;
  return stale;
}
