#!/usr/bin/env python3
"""Writes the API fuzzer's seed corpus (tests/fuzz/corpus/) and the inputs of known open bugs
(tests/fuzz/known_bugs/<bug>/) from the programs below, in the fuzzer's input encoding (see
the top of api_fuzzer.cc and its `enum op`; the two must agree).

    python3 tests/fuzz/make_corpus.py          # rewrites both directories

Each seed is a small legal program that reaches one area of the API (batches of frees at the
default sizes, two threads reading what the other frees, release and retire, scopes, pools,
thread exit, misuse in a child, ...); the fuzzer mutates from there. Files found by fuzzing
that crashed are kept, as libFuzzer wrote them, in tests/fuzz/regressions/ (not written here).
"""
import os
import shutil
import sys

OPS = [
    "c_init", "c_alloc", "free", "free_foreign", "release", "retire", "c_term_alloc", "c_term",
    "c_gc_init", "ts_next", "offline", "online", "scope_push", "scope_pop", "cxx_new",
    "cxx_delete", "cxx_allocate", "pool_new", "pool_delete", "pool_create", "pool_destroy",
    "pool_retire", "load_refs", "read_refs", "check_all", "misuse", "worker_exit",
    "this_thread", "malloc", "nulls", "debug",
]

# Tables of api_fuzzer.cc (the byte that selects each value).
SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 48, 64, 100, 128, 200, 256, 1000, 4096, 65536, 12345]
FREE_SET = [507, 0, 1, 2, 3, 4, 7, 8, 16, 31, 64, 100, 507, 1000, 4096, 65535]
RELEASE_SET = [64, 0, 1, 2, 3, 5, 64, 100, 1000, 4096]
BATCH = [8, 0, 1, 2, 3, 8, 16, 100, 1 << 20]
BACKLOG = [4, 0, 1, 2, 4, 100, 1 << 20, (1 << 64) - 1]
CHUNK = [32 << 20, 0, 1, 64, 4095, 4096, 16384, 65536, 1 << 20, 4 << 20, 100000]
CHUNK_MAX = [4 << 30, 0, 4096, 65536, 1 << 20, 64 << 20]

MAIN, WORKER = 0, 1


def size(n):
    return SIZES.index(n)


def fs(n):
    return FREE_SET.index(n)


def count(n):
    """The byte whose count_of() is n (1-8, multiples of 8 up to 896, of 256 up to 4096)."""
    if 1 <= n <= 8:
        return n - 1
    if n % 8 == 0 and n // 8 <= 112:
        return 127 + n // 8
    if n % 256 == 0 and n // 256 <= 16:
        return 239 + n // 256
    raise ValueError(n)


def u16(n):
    return [n & 0xFF, n >> 8]


def options(free_set=507, release_set=64, batch=8, backlog=4, chunk=32 << 20, chunk_max=4 << 30,
            doubling=True, zero=False, huge_pages=False, bump_on=1):
    flags = (0 if doubling else 1) | (2 if zero else 0) | (4 if huge_pages else 0) | (bump_on << 3)
    return [FREE_SET.index(free_set), RELEASE_SET.index(release_set), BATCH.index(batch),
            BACKLOG.index(backlog), CHUNK.index(chunk), CHUNK_MAX.index(chunk_max), flags]


class program:
    def __init__(self):
        self.b = bytearray()

    def op(self, name, *args, actor=MAIN):
        self.b.append(OPS.index(name) | (0x80 if actor else 0))
        for a in args:
            if isinstance(a, list):
                self.b.extend(a)
            else:
                self.b.append(a)
        return self

    # Shorthands with the argument order of api_fuzzer.cc.
    def c_init(self, slot=0, chunk=32 << 20, free_set=507, id=0, form=1, actor=MAIN):
        return self.op("c_init", slot, CHUNK.index(chunk), fs(free_set), id, form, actor=actor)

    def c_alloc(self, slot=0, sz=64, n=1, actor=MAIN):
        return self.op("c_alloc", slot, size(sz) if sz in SIZES else sz, count(n), actor=actor)

    def free(self, n=1, start=0, target=0, actor=MAIN):
        return self.op("free", u16(start), target, count(n), actor=actor)


def seeds():
    s = {}

    p = program()
    p.c_init().c_alloc(n=8).op("check_all").free(n=8).op("c_term")
    s["c_alloc_free"] = p

    # Free sets of 8, batches of 8 sets: stamps, collections and reuse within one input.
    p = program()
    p.c_init(chunk=65536, free_set=8)
    for _ in range(3):
        p.c_alloc(n=512).free(n=512)
    p.op("check_all").op("c_term")
    s["c_batches_fs8"] = p

    # The default sizes (free set 507; 4,096 frees a round: a stamp every 16,224 with batch 32,
    # every 4,056 with batch 8, the default when the corpus was written) in rounds.
    p = program()
    p.c_init(form=0)
    for _ in range(3):
        p.c_alloc(n=4096).free(n=4096)
    p.op("c_term")
    s["c_batches_default"] = p

    # Another thread loads objects, the owner frees them and churns; the reader still holds
    # them (I1), reads them, then moves on.
    p = program()
    p.c_init(free_set=8)
    p.c_init(free_set=8, id=1, actor=WORKER)
    p.c_alloc(n=64)
    p.op("load_refs", u16(3), 7, actor=WORKER)
    p.free(n=64)
    for _ in range(4):
        p.c_alloc(n=256).free(n=256)
    p.op("read_refs", actor=WORKER)
    p.op("ts_next", 0, actor=WORKER)
    for _ in range(3):
        p.c_alloc(n=256).free(n=256)
    s["two_threads_reader_holds"] = p

    # Objects of one thread freed by the other into its own allocator (same size).
    p = program()
    p.c_init(slot=0, free_set=16)
    p.c_init(slot=1, free_set=16, id=1, actor=WORKER)
    p.c_alloc(n=256)
    p.c_alloc(slot=1, n=1, actor=WORKER)
    p.free(n=200, actor=WORKER)
    p.c_alloc(slot=1, n=256, actor=WORKER)
    p.free(n=256)
    p.op("c_term", actor=WORKER)
    p.op("c_term")
    s["two_threads_cross_free"] = p

    # Release and retire of malloc'd objects, every deleter form, while the other thread
    # holds some of them.
    p = program()
    p.c_init(free_set=4)
    p.op("scope_push").op("cxx_new", 0, size(48), options(free_set=4, release_set=3, batch=1))
    p.op("malloc", count(64), 3)
    p.op("c_init", 0, 0, 7, 1, 1, actor=WORKER)
    p.op("load_refs", u16(0), 7, actor=WORKER)
    p.op("release", 0, count(16), 0).op("retire", 0, count(16), 1)
    p.op("release", 1, count(8), 2).op("retire", 1, count(24), 0)
    p.c_alloc(n=64).free(n=64)
    p.op("read_refs", actor=WORKER)
    p.op("ts_next", 0, actor=WORKER)
    p.c_alloc(n=64).free(n=64)
    s["release_retire"] = p

    # C++ allocators with many options (chunk growth, tiny chunks, no doubling, zeroing).
    p = program()
    p.op("scope_push")
    p.op("cxx_new", 0, size(64), options(free_set=2, batch=0, chunk=4096, chunk_max=65536))
    p.op("cxx_new", 1, size(17), options(free_set=31, batch=2, chunk=0, doubling=False, zero=True))
    for _ in range(2):
        p.op("cxx_allocate", 0, count(400)).op("cxx_allocate", 1, count(200))
        p.free(n=600)
    p.op("cxx_delete", 0).op("cxx_delete", 1).op("scope_pop")
    s["cxx_allocators"] = p

    # Object pools: create, destroy, retire; another thread reads what is retired.
    p = program()
    p.op("scope_push")
    for t in range(3):
        p.op("pool_new", t % 2, t, options(free_set=8, release_set=2, batch=1))
        p.op("pool_create", t % 2, count(128), 0)
    p.op("scope_push", actor=WORKER)
    p.op("load_refs", u16(5), 7, actor=WORKER)
    p.op("pool_retire", u16(0), 0, count(64)).op("pool_destroy", u16(7), 1, count(64))
    p.op("pool_create", 0, count(128), 3).op("pool_retire", u16(9), 0, count(128))
    p.op("read_refs", actor=WORKER)
    p.op("scope_pop", actor=WORKER)
    p.op("pool_create", 1, count(256), 0).op("pool_destroy", u16(0), 0, count(256))
    s["pools"] = p

    # Objects of one pool destroyed and retired into another thread's pool of the same type.
    p = program()
    p.op("scope_push").op("pool_new", 0, 1, options(free_set=4, batch=1))
    p.op("pool_create", 0, count(64), 0)
    p.op("scope_push", actor=WORKER).op("pool_new", 0, 1, options(free_set=4, batch=1), actor=WORKER)
    p.op("pool_destroy", u16(0), 0, count(32), actor=WORKER)
    p.op("pool_retire", u16(0), 0, count(32), actor=WORKER)
    p.op("pool_create", 0, count(64), 0, actor=WORKER)
    s["pools_two_threads"] = p

    # Offline and online in every form while the other thread churns.
    p = program()
    p.c_init(free_set=4)
    p.op("c_gc_init", 0, actor=WORKER).op("offline", 0, actor=WORKER)
    for form in range(3):
        p.c_alloc(n=128).free(n=128)
        p.op("online", form, actor=WORKER).op("load_refs", u16(1), 3, actor=WORKER)
        p.c_alloc(n=8).free(n=8)
        p.op("read_refs", actor=WORKER).op("offline", form, actor=WORKER)
    p.op("ts_next", 1).op("ts_next", 2).op("offline", 1).op("online", 2)
    s["offline_online"] = p

    # The C API and nested scopes share the thread's record.
    p = program()
    p.c_init()
    p.op("scope_push").op("offline", 2).op("scope_push").op("cxx_new", 0, size(64), options())
    p.op("cxx_allocate", 0, count(16)).c_alloc(n=16)
    p.op("c_term").op("ts_next", 1).op("scope_pop").op("scope_pop")
    p.op("scope_push").c_init(slot=2).op("scope_pop").op("c_term_alloc", 2)
    s["scopes_and_c_api"] = p

    # The worker exits in every form; a new worker reuses the same allocator storage.
    p = program()
    for form in range(4):
        p.c_init(slot=form % 3, free_set=8, id=1, actor=WORKER)
        p.c_alloc(slot=form % 3, n=16, actor=WORKER)
        p.op("worker_exit", form + 4 * (form % 3), actor=WORKER)
    p.c_init(slot=1, id=1, actor=WORKER).op("this_thread", actor=WORKER)
    s["worker_exit"] = p

    # Misuse in a child process: each kind after a setup that makes it possible.
    p = program()
    p.c_init(slot=0, free_set=8).c_init(slot=1, free_set=8, form=3)
    p.c_alloc(slot=0, sz=64, n=8).c_alloc(slot=1, sz=16, n=8).free(n=4)
    p.op("c_init", 0, 0, 7, 1, 1, actor=WORKER)
    p.op("scope_push").op("pool_new", 0, 0, options(free_set=4)).op("pool_create", 0, count(8), 0)
    p.op("pool_retire", u16(0), 0, count(2))
    for kind in range(13):
        if kind in (8, 9):
            continue  # needs an unregistered thread (below)
        p.op("misuse", kind, 0)
    p.op("pool_delete", 0).op("scope_pop").op("c_term")
    p.op("misuse", 8, 0).op("misuse", 9, 0)
    s["misuse"] = p

    # ts policies: none (explicit ts_next only), alloc, free.
    p = program()
    for ts in range(4):
        p.c_init(slot=ts % 3, free_set=8, id=0, form=2 + ts)
        p.c_alloc(slot=ts % 3, sz=32, n=128).free(n=128, target=ts)
        p.op("ts_next", 0)
        p.op("c_term_alloc", ts % 3)
    s["ts_policies"] = p

    # Foreign objects adopted by ssmem_free, handed out again, released while live.
    p = program()
    p.c_init(free_set=2).c_alloc(sz=48, n=1)
    p.op("free_foreign", 0, count(32))
    p.c_alloc(n=64).op("release", 0, count(8), 0).free(n=32)
    s["adopted"] = p

    # A constructor that throws: the memory goes back to the pool at once.
    p = program()
    p.op("scope_push").op("pool_new", 1, 2, options(free_set=3, zero=True))
    p.op("pool_create", 1, count(64), 1).op("pool_destroy", u16(0), 0, count(32))
    s["pool_ctor_throws"] = p

    # A C++ allocator of a size that no system maps throws std::bad_alloc every time.
    p = program()
    p.op("scope_push").op("cxx_new", 0, 230, options()).op("cxx_allocate", 0, count(3))
    p.op("release", 0, count(2), 0)
    s["cxx_unmappable"] = p

    # Tiny chunks and odd chunk sizes: one object per chunk, chunk growth from 1 byte.
    p = program()
    for i, chunk in enumerate([0, 1, 64]):
        p.c_init(slot=i, chunk=chunk, free_set=3, form=1)
        p.c_alloc(slot=i, sz=[8, 200, 4096][i], n=40)
    p.free(n=120).op("c_term")
    s["tiny_chunks"] = p

    # A thread that never moves on holds collection back: deferred stamps, back-pressure.
    p = program()
    p.op("c_gc_init", 1, actor=WORKER)
    p.op("scope_push").op("cxx_new", 0, size(32), options(free_set=2, batch=1, backlog=0))
    for _ in range(4):
        p.op("cxx_allocate", 0, count(256)).free(n=256)
    p.op("ts_next", 0, actor=WORKER)
    p.op("cxx_allocate", 0, count(256)).free(n=256)
    s["blocked_collection"] = p

    # Sizes served from an allocator whose size is fixed: 0, 1, the size, smaller ones.
    p = program()
    p.c_init(free_set=7).c_alloc(sz=100, n=4)
    for b in range(8):
        p.op("c_alloc", 0, b, count(8))
    p.op("check_all").free(n=64)
    s["c_smaller_sizes"] = p

    # Null objects (no-ops) and the debug printers, on every kind of allocator, both threads.
    p = program()
    p.c_init(free_set=4).c_alloc(n=16).free(n=8)
    p.op("c_init", 0, 0, 7, 1, 1, actor=WORKER).op("c_alloc", 0, size(32), count(8), actor=WORKER)
    p.op("scope_push").op("cxx_new", 0, size(64), options(free_set=2)).op("cxx_allocate", 0, count(8))
    p.op("pool_new", 0, 1, options(free_set=2)).op("pool_create", 0, count(8), 0)
    p.op("pool_retire", u16(0), 0, count(4))
    p.op("nulls").op("debug").op("nulls", actor=WORKER).op("debug", actor=WORKER)
    p.free(n=16).op("debug")
    s["nulls_and_debug"] = p

    return s


def known_bug_inputs():
    """Inputs that reach an open bug (SSMEM_FUZZ_KNOWN_BUGS=<bug> makes the fuzzer reach it)."""
    b = {"size_wrap": {}, "option_overflow": {}}
    # 19.1: a first ssmem_alloc of SIZE_MAX is served (byte 240: SIZE_MAX).
    p = program()
    p.c_init().op("c_alloc", 0, 240, count(1)).c_alloc(n=1)
    b["size_wrap"]["c_first_alloc_size_max"] = p
    # 19.1: a failed huge first ssmem_alloc (byte 224: 2^62) leaves the allocator unusable.
    p = program()
    p.c_init().op("c_alloc", 0, 224, count(1)).c_alloc(n=1)
    b["size_wrap"]["c_failed_first_alloc"] = p
    # 19.1: an allocator of SIZE_MAX - 3 (byte 243) serves 8-byte objects.
    p = program()
    p.op("scope_push").op("cxx_new", 0, 243, options()).op("cxx_allocate", 0, count(2))
    b["size_wrap"]["cxx_allocator_size_max"] = p
    # 19.7: a free set of 2^61 objects (byte 249) is a set of a few bytes.
    p = program()
    p.op("c_init", 0, 0, 249, 0, 1).c_alloc(n=4).free(n=4)
    b["option_overflow"]["c_free_set_size_wraps"] = p
    # 19.7: a release set of SIZE_MAX / 3 + 1 entries (byte 249) holds 2 slots.
    p = program()
    o = options()
    o[1] = 249
    p.op("scope_push").op("cxx_new", 0, size(64), o).op("malloc", count(4), 0)
    p.op("release", 0, count(4), 1)
    b["option_overflow"]["cxx_release_set_size_wraps"] = p
    return b


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = os.path.join(here, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    for name, p in sorted(seeds().items()):
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(bytes(p.b))
    known = os.path.join(here, "known_bugs")
    shutil.rmtree(known, ignore_errors=True)
    for bug, inputs in known_bug_inputs().items():
        os.makedirs(os.path.join(known, bug))
        for name, p in inputs.items():
            with open(os.path.join(known, bug, name), "wb") as f:
                f.write(bytes(p.b))
    print("wrote %d seeds to %s and the known bugs' inputs to %s" % (len(seeds()), corpus, known))
    return 0


if __name__ == "__main__":
    sys.exit(main())
