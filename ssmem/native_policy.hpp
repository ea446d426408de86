// The production atomics policy: std::atomic, std::atomic_thread_fence, malloc and mmap.
// Every wrapper is a forced-inline forward to the std:: operation with the order the caller
// wrote, so the library compiles to what hand-written std::atomic code would (the source
// location argument is dead after inlining; docs/benchmarks.md records the callgrind check).
#ifndef SSMEM_NATIVE_POLICY_HPP
#define SSMEM_NATIVE_POLICY_HPP

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>

#include "ssmem/policy.hpp"

#define SSMEM_ALWAYS_INLINE inline __attribute__((always_inline))

namespace ssmem {

struct native_policy {
  template <class T>
  class atomic {
   public:
    constexpr atomic() noexcept : v_() {}
    constexpr explicit atomic(T v) noexcept : v_(v) {}
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    SSMEM_ALWAYS_INLINE T load(std::memory_order mo,
                               source_location = source_location::current()) const noexcept {
      return v_.load(mo);
    }
    SSMEM_ALWAYS_INLINE void store(T v, std::memory_order mo,
                                   source_location = source_location::current()) noexcept {
      v_.store(v, mo);
    }
    SSMEM_ALWAYS_INLINE T exchange(T v, std::memory_order mo,
                                   source_location = source_location::current()) noexcept {
      return v_.exchange(v, mo);
    }
    SSMEM_ALWAYS_INLINE bool compare_exchange_strong(
        T& expected, T desired, std::memory_order success, std::memory_order failure,
        source_location = source_location::current()) noexcept {
      return v_.compare_exchange_strong(expected, desired, success, failure);
    }
    SSMEM_ALWAYS_INLINE T fetch_add(T v, std::memory_order mo,
                                    source_location = source_location::current()) noexcept {
      return v_.fetch_add(v, mo);
    }

   private:
    std::atomic<T> v_;
  };

  template <class T>
  class var {
   public:
    constexpr var() noexcept : v_() {}
    constexpr explicit var(T v) noexcept : v_(v) {}
    SSMEM_ALWAYS_INLINE T load(source_location = source_location::current()) const noexcept {
      return v_;
    }
    SSMEM_ALWAYS_INLINE void store(T v, source_location = source_location::current()) noexcept {
      v_ = v;
    }

   private:
    T v_;
  };

  SSMEM_ALWAYS_INLINE static void fence(std::memory_order mo,
                                        source_location = source_location::current()) noexcept {
    std::atomic_thread_fence(mo);
  }

  static void* allocate(std::size_t bytes) noexcept {
    // Cache-line alignment keeps thread records and free-set headers off shared lines.
    return std::aligned_alloc(64, (bytes + 63) & ~std::size_t{63});
  }
  static void deallocate(void* p, std::size_t) noexcept { std::free(p); }

  static void* map_chunk(std::size_t bytes, bool huge_pages) noexcept {
    // Anonymous mappings are zero-filled and committed lazily, page by page.
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    if (huge_pages) (void)::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: may be refused
    return p;
  }
  static void unmap_chunk(void* p, std::size_t bytes) noexcept { ::munmap(p, bytes); }

  static void return_to_system(void* p) noexcept { std::free(p); }
};

static_assert(atomics_policy<native_policy>);

}  // namespace ssmem

#endif
