// The checked build (SSMEM_CHECKED=1, `--config=checked`): misuse detection outside the
// algorithm. A process-wide registry maps every chunk to its object size and a bitmap of
// objects currently handed out. deallocate() of a pointer in no chunk is a foreign pointer;
// in a chunk of another object size, a wrong size; not at an object boundary, a bad pointer;
// whose bit is clear, a double free. Each aborts with a message naming the misuse.
// Native builds only: the registry uses std::mutex and std::atomic, which is why this file
// sits in detail/ apart from the policy-templated algorithm.
#ifndef SSMEM_DETAIL_CHECKED_HPP
#define SSMEM_DETAIL_CHECKED_HPP

#ifndef SSMEM_CHECKED
#define SSMEM_CHECKED 0
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "ssmem/detail/report.hpp"

namespace ssmem::detail {

inline constexpr bool checked = SSMEM_CHECKED != 0;

class checked_registry {
 public:
  static checked_registry& instance() {
    static checked_registry* r = new checked_registry();  // outlives every static allocator
    return *r;
  }

  void add_chunk(const void* begin, std::size_t bytes, std::size_t first, std::size_t object_size) {
    auto c = std::make_unique<chunk>();
    c->begin = reinterpret_cast<std::uintptr_t>(begin);
    c->end = c->begin + bytes;
    c->first = c->begin + first;
    c->object_size = object_size;
    c->words = ((bytes - first) / object_size + 63) / 64;
    c->live = std::make_unique<std::atomic<std::uint64_t>[]>(c->words);
    std::lock_guard<std::mutex> g(mu_);
    chunks_[c->begin] = std::move(c);
  }

  void remove_chunk(const void* begin) {
    std::lock_guard<std::mutex> g(mu_);
    chunks_.erase(reinterpret_cast<std::uintptr_t>(begin));
  }

  void on_allocate(const void* p, const char* api) {
    auto [c, bit] = locate(p, 0, api);
    std::uint64_t m = std::uint64_t{1} << (bit % 64);
    if (c->live[bit / 64].fetch_or(m, std::memory_order_relaxed) & m) {
      fatal(api, "internal error: object handed out twice", p);
    }
  }

  void on_free(const void* p, std::size_t object_size, const char* api) {
    auto [c, bit] = locate(p, object_size, api);
    std::uint64_t m = std::uint64_t{1} << (bit % 64);
    if ((c->live[bit / 64].fetch_and(~m, std::memory_order_relaxed) & m) == 0) {
      fatal(api, "double free: object is not allocated (freed before and not reallocated)", p);
    }
  }

  void on_release(const void* p, const char* api) {
    std::lock_guard<std::mutex> g(mu_);
    if (find(reinterpret_cast<std::uintptr_t>(p)) != nullptr) {
      fatal(api, "release of an object that came from ssmem_alloc: use ssmem_free for it", p);
    }
  }

 private:
  struct chunk {
    std::uintptr_t begin, end, first;
    std::size_t object_size, words;
    std::unique_ptr<std::atomic<std::uint64_t>[]> live;
  };

  chunk* find(std::uintptr_t a) const {
    auto it = chunks_.upper_bound(a);
    if (it == chunks_.begin()) return nullptr;
    --it;
    return a < it->second->end ? it->second.get() : nullptr;
  }

  std::pair<chunk*, std::size_t> locate(const void* p, std::size_t object_size, const char* api) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    chunk* c;
    {
      std::lock_guard<std::mutex> g(mu_);
      c = find(a);
    }
    if (c == nullptr) fatal(api, "foreign pointer: not allocated by any ssmem allocator", p);
    if (object_size != 0 && c->object_size != object_size) {
      fatal(api, "wrong size: object belongs to an allocator of another object size", p);
    }
    if (a < c->first || (a - c->first) % c->object_size != 0) {
      fatal(api, "foreign pointer: not the start of an ssmem object", p);
    }
    return {c, (a - c->first) / c->object_size};
  }

  std::mutex mu_;
  std::map<std::uintptr_t, std::unique_ptr<chunk>> chunks_;
};

}  // namespace ssmem::detail

#endif
