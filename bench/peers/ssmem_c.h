/* The C side of the ssmem-c peer (bench/peers/ssmem_c.c, compiled as C): what a C program
   does with ssmem.h, and nothing else. One allocator per thread, initialised with
   ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, id) (default timestamp policy: a bump on every
   allocation and every free), the hot loops of W1 and W2 written in C and calling
   ssmem_alloc / ssmem_free through the library's exported symbols. */
#ifndef SSMEM_BENCH_PEERS_SSMEM_C_H
#define SSMEM_BENCH_PEERS_SSMEM_C_H

#include <stddef.h>
#include <stdint.h>

#include "ssmem/ssmem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Registers the calling thread as `id` and initialises its allocator `a`. */
void bench_ssmem_c_init(ssmem_allocator_t* a, int id);
/** Terminates the calling thread's allocators and registration (ssmem_term). */
void bench_ssmem_c_term(void);
/** ssmem_alloc(a, size), for set-up outside the measured loops. */
void* bench_ssmem_c_alloc(ssmem_allocator_t* a, size_t size);
/** ssmem_free(a, obj), for the stall scenario outside the measured loops. */
void bench_ssmem_c_free(ssmem_allocator_t* a, void* obj);
/** W1: `n` iterations of: allocate `size` bytes, write the iteration's low byte into the
   object, let the pointer escape, free it (the body of run_pair in workloads.hpp). */
void bench_ssmem_c_pair_loop(ssmem_allocator_t* a, size_t size, unsigned long long n);
/** W2: `n` swap operations on `nslots` (a power of two) slots, each holding a pointer to an
   object whose first 8 bytes are a uint64_t value (the layout of swap_node for a scheme
   with an empty hook); `slots` is an array of std::atomic<node*> (accessed with the
   __atomic builtins). Slots are chosen with splitmix64 from *rng_state, which is advanced as
   bench::rng advances its state. Returns how many copies read a value other than their
   slot's index (the body of run_swap in workloads.hpp). */
uint64_t bench_ssmem_c_swap_loop(ssmem_allocator_t* a, void* slots, size_t nslots, uint64_t* rng_state,
                                 unsigned n);

#ifdef __cplusplus
}
#endif

#endif
