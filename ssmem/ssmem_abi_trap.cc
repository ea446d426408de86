// The original ssmem's symbol names of the functions that take an ssmem_allocator_t, as a
// link-time trap. ssmem.h gives those functions versioned symbol names (SSMEM_ABI_NAME:
// NAME_abi3), because ssmem_allocator_t is larger here than in the original. An object
// compiled against the original header refers to the unversioned names; the linker finds
// them here, in a member of libssmem.a that nothing else pulls in, and this member refers to
// a symbol that nothing defines. The link fails, naming the problem, instead of a program
// that would hand the library 128-byte allocators and crash. Do not include ssmem.h here.

extern "C" {

// Never defined, on purpose: its name is the error message.
void SSMEM_ERROR_compiled_against_another_ssmem_h__recompile_against_this_one(void);

#define SSMEM_TRAP(name) \
  void name(void) { SSMEM_ERROR_compiled_against_another_ssmem_h__recompile_against_this_one(); }

SSMEM_TRAP(ssmem_alloc_init)
SSMEM_TRAP(ssmem_alloc_init_fs_size)
SSMEM_TRAP(ssmem_gc_thread_init)
SSMEM_TRAP(ssmem_alloc_term)
SSMEM_TRAP(ssmem_alloc)
SSMEM_TRAP(ssmem_free)
SSMEM_TRAP(ssmem_release)
SSMEM_TRAP(ssmem_free_list_print)
SSMEM_TRAP(ssmem_collected_list_print)
SSMEM_TRAP(ssmem_available_list_print)
SSMEM_TRAP(ssmem_all_list_print)

}  // extern "C"
