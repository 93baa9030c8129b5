# assign: every Go command needs the duckdb_arrow tag for the driver's Arrow interface.
GO      ?= go
TAGS    := -tags duckdb_arrow
BIN     := bin/assign
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -ldflags "-X github.com/assign-dev/assign/cmd/assign/cmdutil.Version=$(VERSION)"

.PHONY: build demo test test-short race fuzz bench bench-large bench-db bench-targets bench-shards bench-shards-10m bench-optimal lint vet gofmt staticcheck fmt clean screenshots bench-dashboard

build:
	$(GO) build $(TAGS) $(LDFLAGS) -o $(BIN) ./cmd/assign

## demo: generate a small extract, load it and forecast two weeks (fresh ./assign-data)
demo: build
	./$(BIN) demo

## test: the whole test suite: lint (vet, gofmt, staticcheck), unit, golden,
## end-to-end, the race detector on the concurrent packages, brief fuzzing
test: build lint
	$(GO) test $(TAGS) -count=1 -timeout 20m ./...
	cd deploy/check && $(GO) test $(TAGS) -count=1 ./...
	$(MAKE) --no-print-directory race
	$(MAKE) --no-print-directory fuzz

## race: the packages that share memory between goroutines, under the race detector
## (-short: the dense-LP check of the optimal allocator is single-threaded and
## runs in the plain pass; under -race it alone took 40 s)
RACE_PKGS := ./engine ./duck ./analytics ./store ./results ./plan
race:
	$(GO) test $(TAGS) -race -short -count=1 -timeout 20m $(RACE_PKGS)

## fuzz: run every fuzz target briefly (about 10 s each here), or for FUZZTIME
## (e.g. make fuzz FUZZTIME=10m, or FUZZTIME=1000000x) for a long run by hand.
## The brief run is bounded by a count of executions, not by time: with a
## time bound Go 1.26 can end a clean run with "context deadline exceeded"
## (go.dev/issue/75804); a duration run that ends so without writing an input
## under testdata/fuzz found nothing. Minimising is off: each new input would
## take up to a minute of it, and a failing input is kept as found.
FUZZTIME ?=
FUZZ_TARGETS := loaders:FuzzCSVRecords:3000 loaders:FuzzJSONLines:3000 loaders:FuzzTextValue:15000 \
	loaders:FuzzArrowFile:3000 policy:FuzzParse:200000
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; limit=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}x); \
		echo "fuzz $$fn ($$pkg, $$limit)"; \
		out=$$($(GO) test $(TAGS) -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$limit -fuzzminimizetime 0x ./$$pkg 2>&1) || { echo "$$out"; exit 1; }; \
		echo "$$out" | grep 'execs:' | tail -n 1; \
	done

test-short:
	$(GO) test $(TAGS) -short ./...

bench: build
	$(GO) run $(TAGS) ./benchmarks/cmd/bench

bench-large: build
	$(GO) run $(TAGS) ./benchmarks/cmd/bench --large

## bench-optimal: the reference greedy against run --allocator optimal on
## small, medium and a scarce medium (gen --stock-factor 0.5), 28 days:
## medians of wall and peak RSS, short boxes, short units, score, bound and
## gap (benchmarks/optbench.sh; RUNS, FACTOR, SCENARIOS override). Heavy:
## flock /work/coord/heavy.lock make bench-optimal. Needs jq and /usr/bin/time
## (Debian packages jq, time).
bench-optimal: build
	benchmarks/optbench.sh

## bench-shards: sharded jobs against one machine (benchmarks/cmd/shardbench):
## the loss of a sharded run at medium in 4 and 16 shards (the generated
## stock, then every lot x0.4 so that stock runs short), and large
## preassign in 8 shards (each shard's peak RSS, the merge's time, equality).
## Large needs ~25 GB of disk; run it on a quiet machine.
bench-shards: build
	$(GO) run $(TAGS) ./benchmarks/cmd/shardbench --scale medium --op run --shards 4,16
	$(GO) run $(TAGS) ./benchmarks/cmd/shardbench --scale medium --op run --shards 4,16 --stock-factor 0.4
	$(GO) run $(TAGS) ./benchmarks/cmd/shardbench --scale large --op preassign --shards 8

## bench-shards-10m: a 10-million-user extract planned in 16 shards one after
## another (no single-machine run); ~60 GB of disk and a long time.
bench-shards-10m: build
	$(GO) run $(TAGS) ./benchmarks/cmd/shardbench --scale u10m --op preassign --shards 16 --no-single

## bench-db: time `assign load` from PostgreSQL and MariaDB (throwaway local
## servers) against the Parquet load of the same extract; medium by default,
## e.g. make bench-db DBBENCH="--scale small --runs 1". Heavy: run it under
## flock /work/coord/heavy.lock.
DBBENCH ?=
bench-db: build
	$(GO) run $(TAGS) ./benchmarks/cmd/dbbench $(DBBENCH)

## docs: rerun the generated examples of README.md and docs/ANALYSTS.md (the
## blocks after "<!-- make docs -->") on today's build in a fresh demo home,
## write their output back, and retake docs/img/report-top.png from the report
## they wrote. internal/docgen's test fails when one of them no longer runs.
.PHONY: docs
docs:
	$(GO) run $(TAGS) ./internal/docgen/cmd/docgen -report-shot docs/img/report-top.png README.md docs/ANALYSTS.md

## screenshots: every page of the dashboard (assign serve), from today's build,
## into docs/img/dashboard-*.png: the browser test saves them as it checks them.
screenshots:
	ASSIGN_SCREENSHOTS=$(CURDIR)/docs/img ASSIGN_REQUIRE_BROWSER=1 $(GO) test $(TAGS) -count=1 -run '^TestDashboardInBrowser$$' ./dashboard

## bench-dashboard: first paint and filter clicks of the dashboard in headless
## Chromium over DASH_HOME (a home with a medium snapshot and a 28-day preassign).
DASH_HOME ?= ./assign-data
bench-dashboard:
	$(GO) run $(TAGS) ./benchmarks/cmd/dashbench --home $(DASH_HOME)

## bench-targets: every row of issue 13's speed targets (small and medium with
## both baselines, threads 1 and 2 at medium, large preassign), then a table of
## target / measured / holds; about an hour and ~25 GB of disk on 2 cores.
bench-targets: build
	$(GO) run $(TAGS) ./benchmarks/cmd/bench --targets --quiet-idle 0.85 --quiet-wait 10m

## lint: go vet, gofmt -l (any file listed fails) and staticcheck
lint: vet gofmt staticcheck

vet:
	$(GO) vet $(TAGS) ./...

gofmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed (make fmt):"; echo "$$out"; exit 1; fi

## staticcheck: the pinned version, installed by .ci/run with
## go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
STATICCHECK_VERSION := v0.8.2
staticcheck:
	@command -v staticcheck >/dev/null || { echo "staticcheck is not installed: go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) (and put $$(go env GOPATH)/bin on PATH)"; exit 1; }
	staticcheck $(TAGS) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
