// The physical reference for W1: a bare thread-local LIFO free list over memory carved from
// 1 MiB blocks. No sharing, no reclamation, no size classes: about as cheap as a pair can be.
#ifndef SSMEM_BENCH_PEERS_FREELIST_HPP
#define SSMEM_BENCH_PEERS_FREELIST_HPP

#include <cstdlib>
#include <vector>

#include "bench/peers/common.hpp"

namespace bench::peers {

struct freelist_allocator {
  static constexpr bool tracks_pending = false;
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t size) : size_((size + 15) / 16 * 16) {}
    ~thread() {
      for (void* b : blocks_) std::free(b);
    }
    [[gnu::always_inline]] void* allocate() {
      if (free_ != nullptr) {
        node* n = free_;
        free_ = n->next;
        return n;
      }
      return carve();
    }
    [[gnu::always_inline]] void deallocate(void* p) {
      node* n = static_cast<node*>(p);
      n->next = free_;
      free_ = n;
    }
    long long pending() const { return -1; }

   private:
    struct node {
      node* next;
    };
    [[gnu::noinline]] void* carve() {
      // Room left, measured as a difference: `cur_ + size_` on the initial null pointer is
      // undefined behaviour (UBSan, --config=ubsan); null - null is 0.
      if (static_cast<std::size_t>(end_ - cur_) < size_) {
        constexpr std::size_t block = std::size_t{1} << 20;
        cur_ = static_cast<char*>(std::malloc(block));
        if (cur_ == nullptr) std::abort();
        blocks_.push_back(cur_);
        end_ = cur_ + block;
      }
      void* p = cur_;
      cur_ += size_;
      return p;
    }
    std::size_t size_;
    node* free_ = nullptr;
    char* cur_ = nullptr;
    char* end_ = nullptr;
    std::vector<void*> blocks_;
  };
};

}  // namespace bench::peers

#endif
