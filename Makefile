# The original ssmem's entry points, delegated to Bazel (./bazelw).
#
#   make                  optimised build (-c opt): build/libssmem.a and build/ssmem_test
#   make VERSION=DEBUG    debug build: no optimisation, debug info, and the checked build's
#                         misuse detection (-c dbg --config=checked, SSMEM_CHECKED=1)
#   make test             the ssmem_test and install tests (bazel test)
#   make install [PREFIX=/usr/local] [DESTDIR=]
#                         headers, libssmem.a and ssmem.pc (see docs/using_without_bazel.md)
#   make clean            removes build/ (Bazel's own cache stays; `./bazelw clean` empties it)
#
# Outputs are copied into build/; build/VERSION says which variant is there. Bazel decides
# what to rebuild, so every target runs it (it returns at once when nothing changed).

BAZEL ?= ./bazelw
OUT := build
PREFIX ?= /usr/local
DESTDIR ?=

ifeq ($(VERSION),DEBUG)
BAZEL_FLAGS := -c dbg --config=checked
VARIANT := debug (-c dbg --config=checked)
else ifeq ($(VERSION),)
BAZEL_FLAGS := -c opt
VARIANT := optimised (-c opt)
else
$(error VERSION must be empty (optimised) or DEBUG, not '$(VERSION)')
endif

TARGETS := //ssmem:ssmem //tests/ssmem_test:ssmem_test

.PHONY: all libssmem.a ssmem_test test install clean

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

libssmem.a ssmem_test: all

test:
	$(BAZEL) test $(BAZEL_FLAGS) //tests/ssmem_test/... //tools/...

install:
	$(BAZEL) run $(BAZEL_FLAGS) //:install -- --prefix "$(PREFIX)" $(if $(DESTDIR),--destdir "$(DESTDIR)")

clean:
	rm -rf $(OUT)
