// A minimal source location carried as a defaulted argument by every policy operation.
// Why not std::source_location: libstdc++ 12 only defines it for compilers with
// __builtin_source_location (GCC 12, clang >= 15); clang 14, our sanitizer and checker
// compiler, lacks it. __builtin_FILE/LINE/FUNCTION exist in both GCC and clang and are
// evaluated at the call site when used as default arguments, which is all we need.
#ifndef SSMEM_DETAIL_SOURCE_LOCATION_HPP
#define SSMEM_DETAIL_SOURCE_LOCATION_HPP

namespace ssmem::detail {

struct source_location {
  const char* file;
  const char* function;
  unsigned line;

  static constexpr source_location current(const char* f = __builtin_FILE(),
                                           const char* fn = __builtin_FUNCTION(),
                                           unsigned l = __builtin_LINE()) noexcept {
    return source_location{f, fn, l};
  }
};

}  // namespace ssmem::detail

#endif
