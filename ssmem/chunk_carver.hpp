/// \file
/// The chunk carver: fresh object memory for one allocator. Objects are cut back to back from
/// large zero-filled chunks (Policy::map_chunk), the first of options::chunk_size bytes (at
/// least one object's worth), each later one twice the last, capped at options::chunk_size_max
/// (options::chunk_doubling); a first chunk at or above the cap sets the size of every chunk. When a
/// chunk cannot be mapped, half as much is tried, and so on down to what one object needs.
/// Carved memory is never given back while the allocator lives; its destruction unmaps every
/// chunk. The allocator's fast path carves within an *allowance* (a number of objects the
/// allocator granted at its last check of the memory bound); past it, or at the end of the
/// chunk, has_room() is false and the allocator's slow path decides (carve()).
/// Owner-only data of one allocator: no atomics.
#ifndef SSMEM_CHUNK_CARVER_HPP
#define SSMEM_CHUNK_CARVER_HPP

#include <cstddef>
#include <new>

#include "ssmem/detail/checked.hpp"
#include "ssmem/options.hpp"

namespace ssmem {

/// The object size of a request that can never be served (above max_object_size): an
/// allocator of this size maps no chunk and returns nullptr.
inline constexpr std::size_t unservable_object_size = std::size_t(-1);

/// Object sizes are rounded so that every object in a chunk is suitably aligned: `size` (0
/// counts as 1) rounded up to a multiple of `align`; align 0: 8 for sizes up to 8, 16 above
/// (ssmem::allocator, the C API's first ssmem_alloc); basic_allocator's constructor passes 8,
/// object_pool max(8, alignof(T)).
/// Sizes above max_object_size give unservable_object_size (never a wrapped, smaller size).
constexpr std::size_t normalize_object_size(std::size_t size, std::size_t align = 0) noexcept {
  if (size > max_object_size) return unservable_object_size;
  if (align == 0) align = size <= 8 ? 8 : 16;
  if (size == 0) size = 1;
  return (size + align - 1) / align * align;
}

/// Fresh objects of one size, carved from chunks (see the file comment). Owner-only.
template <class Policy>
class chunk_carver {
 public:
  /// Bytes of a chunk before its first object (the header, one cache line).
  static constexpr std::size_t payload_offset = 64;

  /// `object_size` is rounded already (normalize_object_size); 0: not fixed yet.
  chunk_carver(std::size_t object_size, const options& o) noexcept
      : object_size_(object_size), next_chunk_(o.chunk_size), chunk_size_max_(o.chunk_size_max),
        doubling_(o.chunk_doubling), huge_pages_(o.huge_pages) {}
  chunk_carver(const chunk_carver&) = delete;
  chunk_carver& operator=(const chunk_carver&) = delete;

  /// Unmaps every chunk. Precondition: no object carved here is in use.
  ~chunk_carver() {
    while (chunks_ != nullptr) {
      chunk_header* c = chunks_;
      chunks_ = c->next;
      if constexpr (detail::checked) detail::checked_registry::instance().remove_chunk(c);
      Policy::unmap_chunk(c, c->bytes);
    }
  }

  /// Bytes per object (0 until fixed).
  std::size_t object_size() const noexcept { return object_size_; }
  /// Fixes the object size (the C API's first allocation). Precondition: no chunk yet, or
  /// `size` equals object_size().
  void set_object_size(std::size_t size) noexcept { object_size_ = size; }
  /// Chunk memory mapped from the system, in bytes.
  std::size_t bytes_reserved() const noexcept { return bytes_reserved_; }
  /// Chunks mapped.
  std::size_t chunks() const noexcept { return count_; }

  /// Whether one more object fits in the current chunk and the allowance (the allocator's
  /// fast path).
  [[gnu::always_inline]] bool has_room() const noexcept {
    return static_cast<std::size_t>(stop_ - cur_) >= object_size_ && cur_ != nullptr;
  }
  /// The next object of the current chunk. Precondition: has_room().
  [[gnu::always_inline]] void* take() noexcept {
    void* obj = cur_;
    cur_ += object_size_;
    return obj;
  }
  /// The next object, mapping a new chunk first when the current one is used up; nullptr
  /// when even a chunk of one object cannot be mapped. Grants a new allowance: has_room()
  /// stays true for `allowance` more objects (this one included) at most.
  [[gnu::noinline]] void* carve(std::size_t allowance) noexcept {
    if (static_cast<std::size_t>(end_ - cur_) < object_size_ || cur_ == nullptr) {
      if (object_size_ == 0) object_size_ = normalize_object_size(1);
      if (!new_chunk()) return nullptr;
    }
    const std::size_t room = static_cast<std::size_t>(end_ - cur_) / object_size_;  // >= 1
    if (allowance == 0) allowance = 1;
    stop_ = cur_ + (allowance < room ? allowance : room) * object_size_;
    return take();
  }
  /// Ends the allowance: the fast path carves nothing until the next carve().
  void stop() noexcept { stop_ = cur_; }

 private:
  struct alignas(64) chunk_header {
    chunk_header* next;
    std::size_t bytes;
  };
  static_assert(sizeof(chunk_header) == payload_offset);

  // A chunk of next_chunk_ bytes; if that cannot be mapped (address space or memory
  // exhausted), half as much, and so on down to what one object needs; false only when even
  // that fails. After a fallback the sizes go on from the one that worked.
  [[gnu::noinline]] bool new_chunk() noexcept {
    if (object_size_ > std::size_t(-1) - payload_offset) return false;
    const std::size_t need = payload_offset + object_size_;
    std::size_t bytes = next_chunk_ < need ? need : next_chunk_;
    void* mem;
    bool fell_back = false;
    while ((mem = Policy::map_chunk(bytes, huge_pages_)) == nullptr) {
      if (bytes == need) return false;
      bytes = bytes / 2 < need ? need : bytes / 2;
      fell_back = true;
    }
    if (fell_back) next_chunk_ = bytes;
    auto* c = new (mem) chunk_header{chunks_, bytes};
    chunks_ = c;
    if constexpr (detail::checked) {
      detail::checked_registry::instance().add_chunk(c, bytes, payload_offset, object_size_);
    }
    cur_ = stop_ = static_cast<char*>(mem) + payload_offset;
    end_ = static_cast<char*>(mem) + bytes;
    bytes_reserved_ += bytes;
    ++count_;
    // Doubling goes on from the chunk just mapped (at least next_chunk_: one object's worth
    // when options::chunk_size was smaller, even 0), so that every size grows.
    if (!fell_back && doubling_ && next_chunk_ < chunk_size_max_) {
      next_chunk_ = bytes > chunk_size_max_ / 2 ? chunk_size_max_ : bytes * 2;
    }
    return true;
  }

  char* cur_ = nullptr;
  char* stop_ = nullptr;  // end of the allowance: cur_ <= stop_ <= end_
  char* end_ = nullptr;
  std::size_t object_size_;
  chunk_header* chunks_ = nullptr;
  std::size_t next_chunk_;
  std::size_t chunk_size_max_;
  std::size_t bytes_reserved_ = 0;
  std::size_t count_ = 0;
  bool doubling_;
  bool huge_pages_;
};

}  // namespace ssmem

#endif
