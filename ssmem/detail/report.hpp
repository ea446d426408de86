// How the library reports what it cannot recover from: one line on stderr naming the API and
// the problem, then abort(). Used for misuse (mostly in the checked build), for the checked
// build's own tables when memory runs out, and for a thread record the C API cannot allocate.
#ifndef SSMEM_DETAIL_REPORT_HPP
#define SSMEM_DETAIL_REPORT_HPP

#include <cstdio>
#include <cstdlib>

namespace ssmem::detail {

[[noreturn]] inline void fatal(const char* api, const char* what, const void* p = nullptr) noexcept {
  if (p != nullptr) {
    std::fprintf(stderr, "ssmem: %s: %s (pointer %p)\n", api, what, p);
  } else {
    std::fprintf(stderr, "ssmem: %s: %s\n", api, what);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace ssmem::detail

#endif
