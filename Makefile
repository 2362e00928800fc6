# rnn-* suite. `make demo` runs the main job end to end; `make test` runs every test.
# Both install the Debian build dependencies when they are missing.

PREFIX ?= /usr/local
SWIFT ?= swift
CONFIG ?= release
# -enable-testing lets the unit tests use @testable imports on release builds (numeric code is
# far too slow in debug builds to test on real data).
SWIFTFLAGS ?= -c $(CONFIG) -Xswiftc -enable-testing
BIN = $(shell $(SWIFT) build $(SWIFTFLAGS) --show-bin-path 2>/dev/null)
TOOLS = rnn-corpus rnn-clean rnn-vocab rnn-encode rnn-fit rnn-classify rnn-sample
DEBS = libpcre2-dev zlib1g-dev libopenblas-dev pkg-config

.PHONY: all deps build test demo bench install man completions docs clean

all: build

deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(SWIFTFLAGS)
	$(SWIFT) build $(SWIFTFLAGS) --product generate-manual

test: build
	$(SWIFT) test $(SWIFTFLAGS)

demo: build
	RNN_BIN="$(BIN)" scripts/demo.sh

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
