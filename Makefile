# assign: every Go command needs the duckdb_arrow tag for the driver's Arrow interface.
GO      ?= go
TAGS    := -tags duckdb_arrow
BIN     := bin/assign
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -ldflags "-X github.com/assign-dev/assign/cmd/assign/cmdutil.Version=$(VERSION)"

.PHONY: build demo test test-short bench bench-large lint vet fmt clean

build:
	$(GO) build $(TAGS) $(LDFLAGS) -o $(BIN) ./cmd/assign

## demo: generate a small extract, load it and forecast two weeks (fresh ./assign-data)
demo: build
	./$(BIN) demo

## test: the whole test suite (unit, golden, end-to-end, brief fuzzing)
test: build
	$(GO) vet $(TAGS) ./...
	$(GO) test $(TAGS) -count=1 -timeout 20m ./...

test-short:
	$(GO) test $(TAGS) -short ./...

bench: build
	$(GO) run $(TAGS) ./benchmarks/cmd/bench

bench-large: build
	$(GO) run $(TAGS) ./benchmarks/cmd/bench --large

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(TAGS) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
