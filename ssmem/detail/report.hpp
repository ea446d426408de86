// How the library reports what it cannot recover from: one line on stderr naming the API and
// the problem, then abort(). Used for misuse in the checked build and for running out of
// memory for bookkeeping (where going on would lose a freed object).
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
