/* Linked against a checked library (SSMEM_CHECKED=1: CMake's ssmem::ssmem_checked, the
   library of `make VERSION=DEBUG`), a double free must abort with a message naming it: a
   forked child frees an object twice, the parent reads the child's stderr. Exit status 0 when
   the library caught it, 1 otherwise (an unchecked library lets the child exit cleanly). */
#define _GNU_SOURCE

#include <signal.h>
#include <ssmem.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    ssmem_allocator_t a;
    ssmem_alloc_init(&a, SSMEM_DEFAULT_MEM_SIZE, 0);
    uint64_t* o = ssmem_alloc(&a, sizeof *o);
    ssmem_free(&a, o);
    ssmem_free(&a, o);
    _exit(0);
  }
  close(fds[1]);
  char err[4096];
  size_t n = 0;
  ssize_t r;
  while (n < sizeof err - 1 && (r = read(fds[0], err + n, sizeof err - 1 - n)) > 0) n += (size_t)r;
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 1;
  int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  if (!aborted || strstr(err, "double free") == NULL) {
    printf("FAIL: a double free was not caught (child %s; stderr: %s)\n",
           aborted ? "aborted" : "did not abort", err);
    return 1;
  }
  printf("checked library: a double free aborts: %s", err);
  return 0;
}
