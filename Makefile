# The original ssmem's entry points.
#
#   make                  optimised build: build/libssmem.a and build/ssmem_test
#   make VERSION=DEBUG    debug build: no optimisation, debug info, and the checked build's
#                         misuse detection (SSMEM_CHECKED=1)
#   make test             tests of what `make` builds (below)
#   make install [PREFIX=/usr/local] [DESTDIR=]
#                         headers, libssmem.a and ssmem.pc (see docs/using_without_bazel.md)
#   make clean            removes build/
#
# Two ways to build, BUILD=bazel or BUILD=plain; the default is bazel when `bazel` is on the
# PATH (BAZELW_BAZEL names another executable) and plain otherwise. Both leave the same files
# in build/, and build/VERSION says which variant and which build made them.
#
# BUILD=bazel  delegates to ./bazelw (-c opt; VERSION=DEBUG: -c dbg --config=checked), the
#              project's own build. `make test` runs the ssmem_test and tools tests.
# BUILD=plain  needs only a C++20 compiler: $(CXX) and $(CC) compile the sources of
#              tools/library.mk with its flags, the ones Bazel uses (//tools:library_mk_test
#              keeps them equal). CPPFLAGS, CXXFLAGS, CFLAGS, LDFLAGS and LDLIBS come after
#              the library's own flags; changing any of them rebuilds. Objects of each
#              variant stay in build/plain-opt/ and build/plain-debug/. `make test` links a C
#              program the original's way (tools/c_link_test.sh), runs ssmem_test briefly,
#              checks that the debug variant catches a double free, and installs into
#              build/plain-*/test-prefix to build and run a C and a C++ program against it
#              (tools/install_check.sh).
#
# Run it from the repository's root (or with make -C DIR).

OUT := build
PREFIX ?= /usr/local
DESTDIR ?=

BAZEL ?= ./bazelw
ifeq ($(origin BUILD),undefined)
BUILD := $(if $(shell command -v "$${BAZELW_BAZEL:-bazel}" 2>/dev/null),bazel,plain)
endif
ifeq ($(filter $(BUILD),bazel plain),)
$(error BUILD must be bazel or plain, not '$(BUILD)' (from the $(origin BUILD)))
endif

ifeq ($(VERSION),DEBUG)
variant := debug
else ifeq ($(VERSION),)
variant := opt
else
$(error VERSION must be empty (optimised) or DEBUG, not '$(VERSION)')
endif

.PHONY: all libssmem.a ssmem_test test install clean FORCE
.DEFAULT_GOAL := all

libssmem.a ssmem_test: all

clean:
	rm -rf $(OUT)

ifeq ($(BUILD),bazel)
# --- BUILD=bazel --------------------------------------------------------------------------

ifeq ($(variant),debug)
BAZEL_FLAGS := -c dbg --config=checked
VARIANT := debug (-c dbg --config=checked)
else
BAZEL_FLAGS := -c opt
VARIANT := optimised (-c opt)
endif

TARGETS := //ssmem:ssmem //tests/ssmem_test:ssmem_test

# Bazel decides what to rebuild, so every target runs it (it returns at once when nothing
# changed).
all:
	$(BAZEL) build $(BAZEL_FLAGS) $(TARGETS)
	@bin="$$($(BAZEL) info $(BAZEL_FLAGS) bazel-bin 2>/dev/null)" && \
	  mkdir -p $(OUT) && \
	  rm -f $(OUT)/libssmem.a $(OUT)/ssmem_test && \
	  cp "$$bin/ssmem/libssmem.a" $(OUT)/libssmem.a && \
	  cp "$$bin/tests/ssmem_test/ssmem_test" $(OUT)/ssmem_test && \
	  chmod 644 $(OUT)/libssmem.a && chmod 755 $(OUT)/ssmem_test && \
	  echo "$(VARIANT)" > $(OUT)/VERSION && \
	  echo "make: $(VARIANT) build in $(OUT)/: libssmem.a ssmem_test"

test:
	$(BAZEL) test $(BAZEL_FLAGS) //tests/ssmem_test/... //tools/...

install:
	$(BAZEL) run $(BAZEL_FLAGS) //:install -- --prefix "$(PREFIX)" $(if $(DESTDIR),--destdir "$(DESTDIR)")

else
# --- BUILD=plain --------------------------------------------------------------------------

include tools/library.mk

NM ?= nm
PLAIN := $(OUT)/plain-$(variant)

# The flags of Bazel's mode: -c opt (the default) or -c dbg --config=checked, whose
# -DSSMEM_CHECKED=1 reaches every compile as there.
ifeq ($(variant),debug)
mode_flags := $(SSMEM_DEBUG)
mode_library_flags :=
mode_cppflags := -D$(SSMEM_CHECKED_DEFINE)
VARIANT := debug (plain make: $(SSMEM_DEBUG), $(SSMEM_CHECKED_DEFINE))
else
mode_flags := $(SSMEM_OPTIMIZED)
mode_library_flags := $(SSMEM_OMIT_FRAME_POINTER)
mode_cppflags :=
VARIANT := optimised (plain make: $(SSMEM_OPTIMIZED))
endif

ssmem_cppflags := -I. $(mode_cppflags)
ssmem_cxxflags := $(SSMEM_CXXSTD) $(SSMEM_WARNINGS) $(SSMEM_LIBRARY_FLAGS) $(mode_flags) \
                  $(mode_library_flags)
ssmem_test_cflags := $(SSMEM_CSTD) $(SSMEM_WARNINGS) $(mode_flags)

objects := $(SSMEM_SOURCES:%.cc=$(PLAIN)/%.o)
test_objects := $(SSMEM_TEST_SOURCES:%.c=$(PLAIN)/%.o)

all: $(PLAIN)/libssmem.a $(PLAIN)/ssmem_test
	@mkdir -p $(OUT)
	@rm -f $(OUT)/libssmem.a $(OUT)/ssmem_test
	@cp $(PLAIN)/libssmem.a $(OUT)/libssmem.a
	@cp $(PLAIN)/ssmem_test $(OUT)/ssmem_test
	@echo "$(VARIANT)" > $(OUT)/VERSION
	@echo "make: $(VARIANT) build in $(OUT)/: libssmem.a ssmem_test"

# Every command line in one file, rewritten only when it changes: what depends on it is
# rebuilt when a compiler or a flag changes (as git's GIT-CFLAGS).
shell_quote = '$(subst ','\'',$(1))'
flags_line := $(CXX) $(ssmem_cppflags) $(ssmem_cxxflags) $(CPPFLAGS) $(CXXFLAGS) | \
              $(CC) $(ssmem_cppflags) $(ssmem_test_cflags) $(CPPFLAGS) $(CFLAGS) | \
              $(AR) | $(LDFLAGS) $(SSMEM_LIBS) $(LDLIBS)
$(PLAIN)/flags: FORCE
	@mkdir -p $(@D)
	@line=$(call shell_quote,$(flags_line)); \
	  if [ "$$line" != "$$(cat $@ 2>/dev/null)" ]; then printf '%s\n' "$$line" > $@; fi

$(PLAIN)/%.o: %.cc $(PLAIN)/flags
	@mkdir -p $(@D)
	$(CXX) $(ssmem_cppflags) $(ssmem_cxxflags) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(PLAIN)/%.o: %.c $(PLAIN)/flags
	@mkdir -p $(@D)
	$(CC) $(ssmem_cppflags) $(ssmem_test_cflags) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(PLAIN)/libssmem.a: $(objects)
	@rm -f $@
	$(AR) rcs $@ $^

# A C program, linked by the C driver: libssmem.a needs no C++ runtime.
$(PLAIN)/ssmem_test: $(test_objects) $(PLAIN)/libssmem.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SSMEM_LIBS) $(LDLIBS)

-include $(objects:.o=.d) $(test_objects:.o=.d)

test_prefix := $(abspath $(PLAIN)/test-prefix)
test: $(PLAIN)/libssmem.a $(PLAIN)/ssmem_test
	@rm -rf $(PLAIN)/c_link_test && mkdir -p $(PLAIN)/c_link_test
	TEST_TMPDIR=$(abspath $(PLAIN)/c_link_test) CC=$(call shell_quote,$(CC)) \
	  NM=$(call shell_quote,$(NM)) tools/c_link_test.sh tools/c_link_test_program.c \
	  tools/abi_mismatch_program.c ssmem $(PLAIN)/libssmem.a
ifeq ($(variant),debug)
	$(CC) $(ssmem_test_cflags) $(CPPFLAGS) $(CFLAGS) -Issmem $(LDFLAGS) \
	  -o $(PLAIN)/checked_program tools/checked_program.c $(PLAIN)/libssmem.a $(SSMEM_LIBS) $(LDLIBS)
	SSMEM_QUIET=1 $(PLAIN)/checked_program
endif
	SSMEM_QUIET=1 $(PLAIN)/ssmem_test -d 200 -n 2 -e
	SSMEM_QUIET=1 $(PLAIN)/ssmem_test -d 150 -n 2 -i 1 -r 16 -w 200 -f 2
	@rm -rf $(test_prefix)
	$(MAKE) --no-print-directory install PREFIX=$(test_prefix) DESTDIR=
	CC=$(call shell_quote,$(CC)) CXX=$(call shell_quote,$(CXX)) \
	  tools/install_check.sh $(test_prefix)
	@echo "make test: the $(VARIANT) build passed"

install: $(PLAIN)/libssmem.a
	tools/install.sh --prefix "$(PREFIX)" $(if $(DESTDIR),--destdir "$(DESTDIR)") \
	  --lib $(PLAIN)/libssmem.a --headers ssmem

endif
