# rnn-* suite. `make demo` runs the main job end to end; `make test` runs every test.
# Both install the Debian build dependencies when they are missing.

PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release
# -enable-testing lets the unit tests use @testable imports on release builds (numeric code is
# far too slow in debug builds to test on real data).
SWIFTFLAGS ?= -c $(CONFIG) -Xswiftc -enable-testing
# Numeric code (Package.swift: -march, RNN_AVX512) is built for this machine's vector width:
# x86-64-v4 (AVX-512: the engine's own 16-lane kernels) when the CPU has AVX-512 F/BW/CD/DQ/VL,
# else x86-64-v3 (AVX2 + FMA). Override with RNN_ARCH=x86-64-v3 (or v4) to build for another
# machine; RNN_PORTABLE=1 builds baseline x86-64 code. Package.swift makes the same choice when
# `swift build` runs without make.
RNN_ARCH ?= $(shell awk '/^flags/ { f = $$0 " "; v4 = f ~ / avx512f / && f ~ / avx512bw / && f ~ / avx512cd / && \
	f ~ / avx512dq / && f ~ / avx512vl /; print (v4 ? "x86-64-v4" : "x86-64-v3"); exit }' /proc/cpuinfo 2>/dev/null)
export RNN_ARCH
BIN = $(shell $(SWIFT) build $(SWIFTFLAGS) --show-bin-path 2>/dev/null)
TOOLS = rnn-corpus rnn-clean rnn-vocab rnn-encode rnn-fit rnn-classify rnn-sample
DEBS = libpcre2-dev zlib1g-dev libopenblas-dev pkg-config binutils parallel openmpi-bin libopenmpi-dev
# Only for `make test`: the completion tests load the scripts in real shells.
TEST_DEBS = zsh fish

.PHONY: all deps build test demo bench install man completions docs clean

all: build

deps:
	@missing=""; for p in $(DEBS) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_DEBS)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	@echo "building for $(if $(filter 1,$(RNN_PORTABLE)),baseline x86-64,$(RNN_ARCH))"
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
	FUZZ_S=$(FUZZ_S) RNN_BIN="$(BIN)" RNN_ARCH=$(RNN_ARCH) scripts/fuzz.sh

# Re-runs issue 11's mutation table on the built tools (MUTATE_CASES per row).
MUTATE_CASES ?= 3000
mutate: build
	scripts/mutate.py --bin "$(BIN)" --cases $(MUTATE_CASES)

bench: build
	RNN_BIN="$(BIN)" scripts/bench.sh

# Regenerates the committed man pages and shell completions from the ArgumentParser definitions
# (a test fails when they are stale).
docs: build
	RNN_BIN="$(BIN)" scripts/gen-docs.sh

install: build
	scripts/install.sh "$(BIN)" "$(DESTDIR)$(PREFIX)"

clean:
	rm -rf .build
