# strata: build, lint and test. `make test` is what CI runs.
GO ?= go
PKGS := ./...
FUZZTIME ?= 10s

.PHONY: all build test unit fuzz lint bench clean k8s quickstart proto squid

all: build

build:
	$(GO) build -o bin/strata ./cmd/strata

## test: the Kubernetes binaries (once), lint, every test (unit, store conformance on SQLite and
## PostgreSQL, API over HTTP, CLI against a real server process, real API servers in the
## emulator's clusters) and a short fuzz run.
test: k8s lint unit fuzz

## node_modules: Azurite (package.json), which the blob tests also run against.
node_modules/.bin/azurite-blob: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## squid: Debian's squid, the CONNECT proxy of the agent's proxy test
## (internal/agentserver/proxytest); installed with apt-get when missing, else nothing.
squid:
	@hack/squid/install.sh

unit: node_modules/.bin/azurite-blob squid
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeValidate$$' -fuzztime $(FUZZTIME) ./api/v1alpha1

lint:
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

## k8s: kube-apiserver, kube-controller-manager, kube-scheduler and etcd for the emulator's
## clusters, built from Go modules into a cache outside the repository (hack/k8s/build.sh;
## STRATA_K8S_DIR overrides where). What is there already is kept.
k8s:
	hack/k8s/build.sh

## quickstart: the Kubernetes binaries (once, with progress), then `strata quickstart`: the
## embedded emulator, the server and the example clusters, each with a real API server.
## QUICKSTART_FLAGS passes flags (e.g. --data-dir /tmp/demo --listen 127.0.0.1:7081).
quickstart: k8s
	$(GO) run ./cmd/strata quickstart $(QUICKSTART_FLAGS)

## proto: lint proto/ and regenerate its Go code (committed) with buf and the protoc plugins
## pinned as Go tools in hack/proto/go.mod (their own module, out of strata's go.mod).
proto:
	cd hack/proto && $(GO) tool buf lint ../../proto && $(GO) tool buf generate ../../proto --template buf.gen.yaml

## bench: the API benchmarks of docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/server/

clean:
	rm -rf bin
