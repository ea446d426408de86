// Loading a malloc replacement without letting it replace the process's malloc: the library
// is opened with dlopen(RTLD_NOW | RTLD_LOCAL), so its `malloc` never joins the global symbol
// scope, and only its own prefixed or extended entry points are called, through function
// pointers (about the cost of the PLT call a linked library would need). Debian's jemalloc is
// built with the initial-exec TLS model, which dlopen accepts only when glibc reserves enough
// static TLS: throughput.cc re-executes itself with GLIBC_TUNABLES=glibc.rtld.optional_static_tls
// raised (see ensure_static_tls_for_dlopen there).
#ifndef SSMEM_BENCH_PEERS_DYNLIB_HPP
#define SSMEM_BENCH_PEERS_DYNLIB_HPP

#include <dlfcn.h>

#include <string>

namespace bench::peers {

/// Opens `soname` locally and looks up `symbol`; nullptr with `error` set when either fails.
inline void* local_symbol(const char* soname, const char* symbol, std::string& error) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = ::dlerror();
    error = std::string("dlopen ") + soname + ": " + (e ? e : "failed");
    return nullptr;
  }
  void* s = ::dlsym(h, symbol);
  if (s == nullptr) error = std::string("dlsym ") + symbol + " in " + soname + ": not found";
  return s;
}

}  // namespace bench::peers

#endif
