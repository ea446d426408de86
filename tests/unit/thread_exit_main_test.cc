// The main thread ends with pthread_exit() while the process goes on: what it still holds --
// a C registration without ssmem_term, a thread_scope never destroyed, in the default domain
// and in another one -- is released like any other thread's (the library's thread-exit hook
// runs for the main thread too), so the threads that remain collect as before. A plain main():
// pthread_exit must not unwind through a test framework's catch(...), which would swallow the
// forced unwind. The watcher thread ends the process: exit status 0 when the main thread's
// records were released, 1 when they were not within 5 s.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "ssmem/ssmem.h"
#include "ssmem/ssmem.hpp"

namespace {
ssmem::domain other;
ssmem::record* main_default = nullptr;
ssmem::record* main_other = nullptr;
ssmem_allocator_t main_allocator;
void* leaked[2];  // reachable: LeakSanitizer does not report the scopes left on purpose

bool released(const ssmem::record* r) { return ssmem::version_is_offline(r->load_version()); }

void* watcher(void*) {
  for (int i = 0; i < 500; ++i) {
    if (released(main_default) && released(main_other)) {
      // Collection goes on: a registration of this thread frees and gets objects back.
      ssmem_allocator_t a;
      ssmem_alloc_init_fs_size(&a, 1 << 16, 2, 2);
      void* first = ssmem_alloc(&a, 16);
      ssmem_free(&a, first);
      bool reused = false;
      for (int k = 0; k < 100 && !reused; ++k) {
        void* p = ssmem_alloc(&a, 16);
        reused = p == first;
        ssmem_free(&a, p);
      }
      ssmem_term();
      std::printf("the main thread's records were released at its pthread_exit; %s\n",
                  reused ? "collection goes on" : "but nothing was collected");
      std::fflush(stdout);
      _exit(reused ? 0 : 1);
    }
    usleep(10000);
  }
  std::printf("FAILED: the main thread's records are still registered 5 s after its pthread_exit\n");
  std::fflush(stdout);
  _exit(1);
}
}  // namespace

int main() {
  setenv("SSMEM_QUIET", "1", 1);
  ssmem_alloc_init(&main_allocator, 1 << 16, 1);  // no ssmem_term
  auto* s = new ssmem::thread_scope;                // shares the C API's record; never destroyed
  auto* t = new ssmem::thread_scope(other);         // never destroyed
  leaked[0] = s;
  leaked[1] = t;
  main_default = &s->get_record();
  main_other = &t->get_record();
  pthread_t w;
  if (pthread_create(&w, nullptr, watcher, nullptr) != 0) return 2;
  pthread_exit(nullptr);
}
