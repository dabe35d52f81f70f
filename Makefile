# Octostore Agent. `make run` shows it working; `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# runtime.godebugDefault=madvdontneed=0: the heap gives freed pages back
# with MADV_FREE (taken lazily by the kernel) instead of MADV_DONTNEED,
# which unmaps them at once with a TLB shootdown on every core, only for the
# next GC cycle to fault them in again: 0.15 µs less system CPU per line on
# the nginx bench, 1 to 3 MiB more RSS. GODEBUG at run time still wins.
LDFLAGS  := -s -w -X main.version=$(VERSION) -X runtime.godebugDefault=madvdontneed=0
BIN      := bin/octoagent
# How long each fuzz target runs in `make test` ("0" skips fuzzing).
# Fuzz budget per target, as a count of executions ("20000x") rather than
# a duration: with a duration, Go 1.26's fuzz coordinator can report a
# spurious "context deadline exceeded" failure at the deadline
# (golang/go#75804, fixed in Go 1.27). A duration ("3s") still works.
FUZZTIME ?= 20000x
FUZZ_TARGETS := ./transforms/rules:FuzzSyslog ./transforms/rules:FuzzKubernetesAudit ./transforms/rules:FuzzKlog \
	./transforms/rules:FuzzContainerd ./transforms/rules:FuzzCoreDNS ./transforms/rules:FuzzPostgreSQL \
	./transforms/rules:FuzzPostgreSQLCSV ./transforms/rules:FuzzPostgreSQLJSON ./transforms/rules:FuzzHAProxy \
	./transforms/rules:FuzzEnvoy ./transforms/rules:FuzzEnvoyJSON ./transforms/rules:FuzzTraefik \
	./transforms/rules:FuzzRegex ./transforms/rules:FuzzSplit ./transforms/rules:FuzzAwk ./transforms/rules:FuzzAwkFast ./transforms/rules:FuzzAwkNative ./transforms/rules:FuzzAwkSplit \
	./transforms/rules:FuzzJSON ./transforms/rules:FuzzLogfmt ./agent/config:FuzzLoad ./agent:FuzzAppendString ./agent:FuzzAppendInt \
	./transforms/rules:FuzzClosingQuote ./transforms/rules:FuzzGrokSegments ./agent/schema:FuzzCaptureString ./agent/scan:FuzzScanner \
	./sinks/openlineage:FuzzEvent ./adapters/otlpsource:FuzzExport ./internal/replay:FuzzDecode \
	./internal/residency:FuzzDropFileMappings

.PHONY: all build plugin run test test-deps test-pkg test-packs fuzz-short vet bench bench-peers clean chart-tools static

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/octoagent

# The Fluent Bit output plugin (cmd/fluent-bit-octostore), a c-shared
# library; needs cgo (gcc). e2e/fluentbit_*_test.go builds it with the same
# flags, so the build cache is shared. Without gcc it is left out with the
# reason (make test-deps installs gcc where it can), and fails in CI.
PLUGIN := bin/out_octostore.so
plugin:
	@if ! command -v gcc >/dev/null 2>&1; then \
		echo "missing component gcc: make plugin needs cgo; e2e/setup.sh (make test-deps): apt-get install -y gcc libc6-dev"; \
		case "$${CI:-}" in ""|0|false) exit 0;; *) exit 1;; esac; fi
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '-s -w' -buildmode=c-shared -o $(PLUGIN) ./cmd/fluent-bit-octostore
	@rm -f bin/out_octostore.h

# The binary the Dockerfile ships: static (CGO_ENABLED=0), checked to need
# no libc (ldd: not a dynamic executable) and to run.
STATIC_BIN := bin/octoagent-static
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(STATIC_BIN) ./cmd/octoagent
	@if command -v ldd >/dev/null 2>&1; then out=$$(ldd $(STATIC_BIN) 2>&1); \
		case "$$out" in *"not a dynamic executable"*|*"statically linked"*) echo "$(STATIC_BIN): $$out";; \
		*) echo "$(STATIC_BIN) is dynamically linked:"; echo "$$out"; exit 1;; esac; fi
	@if command -v file >/dev/null 2>&1; then file $(STATIC_BIN); fi
	./$(STATIC_BIN) version

# Runs the quickstart once, from a fresh data dir, and prints the records.
QUICKSTART := -c configs/quickstart.hcl -c configs/schemas -c configs/nginx/rules.hcl
run: build
	@d=$$(mktemp -d); ./$(BIN) run --once $(QUICKSTART) --data-dir $$d --http-addr off --log-level warn; rc=$$?; rm -rf $$d; exit $$rc

# The rule packs' own tests (test blocks beside the rules): every
# directory of configs/ with a tests.hcl (TestEveryPack in cmd/octoagent
# runs the same list under go test).
PACKS := $(patsubst configs/%/tests.hcl,%,$(sort $(wildcard configs/*/tests.hcl)))
test-packs: build
	@for p in $(PACKS); do echo "== configs/$$p"; ./$(BIN) test -c configs/schemas -c configs/$$p || exit 1; done

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every real component the tests run (etcd, nginx, PostgreSQL, gcc,
# kube-apiserver, kubectl, helm, the OpenTelemetry Collector, Fluent Bit,
# ...), installed with apt-get (as root) or built with Go, and cached in
# $$OCTOAGENT_CACHE (default $$HOME/.cache/octoagent): e2e/setup.sh. It
# writes components.tsv there, which the summary below prints. A second
# run finds everything cached and takes seconds.
test-deps:
	@./e2e/setup.sh

# The race detector needs cgo, so gcc; without it the tests run without
# -race (make test-deps installs gcc where it can). Expanded when used,
# after test-deps.
RACE = $(shell command -v gcc >/dev/null 2>&1 && echo -race)

# Every test, with the race detector, through e2e/testsummary: a line per
# package, the output of every failed test, then the figures the tests
# measured, the components table, the tests per package, every skip with
# its reason, and last "N passed, N failed, N skipped". The e2e tests
# build the binary themselves. Under CI=true a test whose component is
# missing fails instead of skipping (internal/testenv).
FIGURES := $(CURDIR)/bin/figures.txt
test: test-deps vet build plugin test-packs fuzz-short static
	@rm -f $(FIGURES)
	@[ -n "$(RACE)" ] || echo "missing component gcc: the tests run without -race"
	OCTOAGENT_FIGURES=$(FIGURES) $(GO) run ./e2e/testsummary -figures $(FIGURES) -- $(GO) test -json $(RACE) -count=1 -timeout 45m ./...

# One package's tests, or some of them, after the set-up, summarised the
# same way: make test-pkg PKG=./e2e/ RUN='TestK8s'
PKG ?= ./...
RUN ?= .
test-pkg: test-deps
	$(GO) run ./e2e/testsummary -- $(GO) test -json $(RACE) -count=1 -timeout 45m -run '$(RUN)' $(PKG)

# The chart cannot read files outside itself, so it carries a generated copy
# of the kubernetes-events rule pack (TestChartRulesInSync fails when it is
# stale).
# Each pack file the chart ships, as configs/PACK/FILE.hcl → files/PACK-FILE.hcl.
CHART_FILES := kubernetes-events/rules.hcl kubernetes-events/crashloop_context.hcl
.PHONY: chart-files
chart-files:
	@for f in $(CHART_FILES); do out=charts/octoagent/files/$$(echo $$f | tr '/_' '--'); \
		{ printf '# Generated by `make chart-files` from configs/%s: edit that file, not this one.\n' $$f; \
		cat configs/$$f; } > $$out; done

# helm, kubeconform and kube-score (go install, pinned) and the strict
# Kubernetes JSON schemas for the chart tests, cached in $HOME/.cache/octoagent
# (make test-deps does this too).
chart-tools:
	@./e2e/chart/tools.sh >/dev/null

# A short run of every fuzz target; the corpus is in each package's testdata/fuzz.
fuzz-short:
	@if [ "$(FUZZTIME)" != "0" ]; then for t in $(FUZZ_TARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; done; fi

# The property tests with 10,000 random cases (make test runs 1,000 for the
# file tailer, 100 for correlate and assemble), and the rotation soak.
# The soak test (not in make test): the agent for SOAK (default 30m) with
# rotation, a flapping store with outages, reloads and SIGKILLs; it prints
# lines in, stored, duplicates, lost, peak RSS and open fds, and fails on
# any loss. A shorter SOAK runs the same schedule scaled (SOAK=3m: a smoke
# run). See TestSoak in e2e/soak_test.go.
SOAK ?= 30m
.PHONY: soak
soak: test-deps
	OCTOAGENT_SOAK=$(SOAK) $(GO) test -count=1 -timeout 120m -v -run '^TestSoak$$' ./e2e/

.PHONY: test-nightly
test-nightly:
	OCTOAGENT_PROPERTY_CASES=10000 $(GO) test -race -count=1 -timeout 60m -v -run 'TestProperty|TestRotationSoak' ./internal/tail/ ./transforms/correlate/ ./transforms/assemble/ ./internal/replay/

# Whole-process benchmarks (octoagent run --once on 1,000,000 generated
# lines, per scenario, with the peers on the same file), then the Go
# micro-benchmarks. BENCH_RUNS runs per scenario; the median is reported.
# nginx_octostore also starts the test store on a throwaway PostgreSQL
# (skipped, with the reason, when PostgreSQL cannot be started).
# The scale curves (issue 23): the nginx pack on BENCH_SCALE_LINES lines
# (10M: one run) and on the input split into BENCH_SCALE_FILES files, plus
# Kafka → rules → Kafka and the octostore sink against a no-op receiver;
# every scenario's runs, the peers' included (mawk, the Collector, the
# Fluent Bit cached by make test-deps), are interleaved round by round.
BENCH_LINES ?= 1000000
BENCH_RUNS  ?= 5
BENCH_SCALE_LINES ?= 0,10000,100000,1000000,10000000
BENCH_SCALE_FILES ?= 1,100,1000
bench: build bench-peers
	$(GO) run ./e2e/bench -lines $(BENCH_LINES) -runs $(BENCH_RUNS) -scale-lines '$(BENCH_SCALE_LINES)' -scale-files '$(BENCH_SCALE_FILES)'
	$(GO) test -run '^$$' -bench . -benchmem ./agent/... ./adapters/... ./transforms/... ./sinks/openlineage/... ./internal/playground/ ./internal/replay/ ./internal/otlp/

# Builds and caches the peers (mawk, the OpenTelemetry Collector).
bench-peers:
	./e2e/bench/peers/build.sh

clean:
	rm -rf bin
