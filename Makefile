# rnn-* suite. `make demo` runs the main job end to end; `make test` runs every test.
# Both install the Debian build dependencies when they are missing.

PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release
# -enable-testing lets the unit tests use @testable imports on release builds (numeric code is
# far too slow in debug builds to test on real data).
SWIFTFLAGS ?= -c $(CONFIG) -Xswiftc -enable-testing
# One build runs on every x86-64 CPU: the engine's kernels for baseline x86-64, x86-64-v3 and
# x86-64-v4 are all compiled in and one set is chosen at start-up (Package.swift; RNN_KERNELS).
BIN = $(shell $(SWIFT) build $(SWIFTFLAGS) --show-bin-path 2>/dev/null)
TOOLS = rnn-corpus rnn-clean rnn-vocab rnn-encode rnn-fit rnn-classify rnn-sample
DEBS = libpcre2-dev zlib1g-dev libopenblas-dev pkg-config binutils parallel openmpi-bin libopenmpi-dev
# Only for `make test`: the completion tests load the scripts in real shells.
TEST_DEBS = zsh fish
# Only for `make bench-quality`: the baseline it compares with.
BENCH_DEBS = fasttext

.PHONY: all deps build test demo bench bench-quality install man completions docs clean

all: build

deps:
	@missing=""; for p in $(DEBS) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_DEBS)) $(if $(filter bench-quality,$(MAKECMDGOALS)),$(BENCH_DEBS)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(SWIFTFLAGS)

# One build serves build, test, demo, bench and install: the tests are compiled by `swift build
# --build-tests` with the same flags and run without building (plain `swift test` builds with other
# settings, i.e. compiles the whole package a second time). Targeted runs:
#   make test TESTS='--filter KernelTests'
TESTS ?=
test: build
	$(SWIFT) build $(SWIFTFLAGS) --build-tests
	$(SWIFT) test $(SWIFTFLAGS) --skip-build $(TESTS)

demo: build
	RNN_BIN="$(BIN)" scripts/demo.sh

# Fuzzes every reader with libFuzzer + AddressSanitizer for FUZZ_S seconds each (not part of make
# test; builds in .build-fuzz). Crashes go to .build-fuzz/crashes/TARGET/: commit them to
# Tests/Fuzz/regressions/TARGET/, which make test replays.
FUZZ_S ?= 60
fuzz: build
	FUZZ_S=$(FUZZ_S) RNN_BIN="$(BIN)" scripts/fuzz.sh

# Re-runs issue 11's mutation table on the built tools (MUTATE_CASES per row).
MUTATE_CASES ?= 3000
mutate: build
	scripts/mutate.py --bin "$(BIN)" --cases $(MUTATE_CASES)

bench: build
	RNN_BIN="$(BIN)" scripts/bench.sh

# Model quality on IMDB (issue 15): fastText and our recipe (three seeds), test accuracy and times;
# longer than make bench (three full trainings), hence its own target.
bench-quality: build
	RNN_BIN="$(BIN)" scripts/bench-quality.sh

# Regenerates the committed man pages and shell completions from the ArgumentParser definitions
# (a test fails when they are stale).
docs: build
	RNN_BIN="$(BIN)" scripts/gen-docs.sh

install: build
	scripts/install.sh "$(BIN)" "$(DESTDIR)$(PREFIX)"

clean:
	rm -rf .build
