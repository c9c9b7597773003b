# TokenWatch: build, install, test, format.
#   make build                 release binary, Swift runtime linked statically
#   sudo make install          PREFIX=/usr/local; DESTDIR for packaging
#   make test | format | lint

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/tokenwatch
DESTDIR ?=
SWIFT ?= swift
RELEASE_FLAGS := -c release --static-swift-stdlib

SHARED_FILES := cron/tokenwatch.cron cron/tokenwatch.timer cron/tokenwatch.env.example cron/README.md

.PHONY: build install test format lint

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

# Rewrites files in place. Run it on your own files: make format FILES="Sources/TokenWatch/X.swift"
FILES ?= Sources Tests Package.swift
format:
	$(SWIFT) format format --in-place --recursive --parallel --configuration .swift-format $(FILES)

lint:
	scripts/check-format.sh
