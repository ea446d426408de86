/* A program compiled against the original ssmem.h, in miniature: its declarations, with the
   original's 128-byte ssmem_allocator_t. Linked with this libssmem.a it must not link (the
   library's allocator is larger: it would crash at run time). */
#include <stddef.h>
#include <stdint.h>

typedef struct __attribute__((aligned(64))) ssmem_allocator {
  uint8_t padding[128];
} ssmem_allocator_t;

void ssmem_alloc_init(ssmem_allocator_t* a, size_t size, int id);
void* ssmem_alloc(ssmem_allocator_t* a, size_t size);
void ssmem_free(ssmem_allocator_t* a, void* obj);
void ssmem_term(void);

int main(void) {
  ssmem_allocator_t a;
  ssmem_alloc_init(&a, 32 * 1024 * 1024L, 0);
  ssmem_free(&a, ssmem_alloc(&a, 8));
  ssmem_term();
  return 0;
}
