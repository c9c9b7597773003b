# TokenWatch: build, install, test, format.
#   make build                 release binary, Swift runtime linked statically
#   sudo make install          PREFIX=/usr/local; DESTDIR for packaging
#   make test | format | lint
#   make bench                 release build, then the end-to-end benchmark (README "Benchmark")

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/tokenwatch
DESTDIR ?=
SWIFT ?= swift
RELEASE_FLAGS := -c release --static-swift-stdlib

SHARED_FILES := cron/tokenwatch.cron cron/tokenwatch.timer cron/tokenwatch.env.example cron/README.md

.PHONY: build install test format lint bench

build:
	$(SWIFT) build $(RELEASE_FLAGS) --product tokenwatch

# Does not build (so `sudo make install` never compiles as root): run `make build` first.
# The unit and cron files name /usr/local/bin/tokenwatch; they are rewritten for $(BINDIR).
install:
	@bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/tokenwatch"; \
	if [ ! -x "$$bin" ]; then echo "install: $$bin not found; run 'make build' first" >&2; exit 1; fi; \
	install -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SHAREDIR)"; \
	install -m 0755 "$$bin" "$(DESTDIR)$(BINDIR)/tokenwatch"
	install -m 0644 $(SHARED_FILES) "$(DESTDIR)$(SHAREDIR)/"
	sed 's|/usr/local/bin/tokenwatch|$(BINDIR)/tokenwatch|g; s|/usr/local/share/tokenwatch|$(SHAREDIR)|g' \
		cron/tokenwatch.service > "$(DESTDIR)$(SHAREDIR)/tokenwatch.service"
	sed -i 's|/usr/local/bin|$(BINDIR)|g; s|/usr/local/share/tokenwatch|$(SHAREDIR)|g' \
		"$(DESTDIR)$(SHAREDIR)/tokenwatch.timer" "$(DESTDIR)$(SHAREDIR)/tokenwatch.cron"
	chmod 0644 "$(DESTDIR)$(SHAREDIR)/tokenwatch.service"

test:
	scripts/test.sh

# The three runs the README's table comes from: the release binaries first (the benchmark uses
# the tokenwatch and tokenwatch-sim beside it), then 20,000 and 100,000 pages at L = 100 ms with
# the naive checker, at L = 0 seven times each, and 1,000,000 pages with the import.
bench:
	$(SWIFT) build -c release
	.build/release/tokenwatch-bench e2e --pages 20000,100000 --latency-ms 100 --concurrency 16 --naive 5000
	.build/release/tokenwatch-bench e2e --pages 20000,100000 --latency-ms 0 --first-runs 7 --next-runs 7
	.build/release/tokenwatch-bench e2e --pages 1000000 --latency-ms 0 --import 1000000

# Rewrites files in place. Run it on your own files: make format FILES="Sources/TokenWatch/X.swift"
FILES ?= Sources Tests Package.swift
format:
	$(SWIFT) format format --in-place --recursive --parallel --configuration .swift-format $(FILES)

lint:
	scripts/check-format.sh
