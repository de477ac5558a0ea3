# strata: build, lint and test. `make test` is what CI runs.
GO ?= go
PKGS := ./...
# A count of executions, not a duration: a duration races Go's fuzzing coordinator at its
# deadline (golang/go#75804, fixed in Go 1.27), failing with "context deadline exceeded" and
# no crasher on a loaded machine. 100000 executions take about 10 s here.
FUZZTIME ?= 100000x

.PHONY: all build test unit fuzz lint bench clean k8s quickstart proto squid chromium console-vendor console-check console-screenshots

all: build

build:
	$(GO) build -o bin/strata ./cmd/strata

## test: the Kubernetes binaries (once), lint, every test (unit, store conformance on SQLite and
## PostgreSQL, API over HTTP, CLI against a real server process, real API servers in the
## emulator's clusters) and a short fuzz run.
test: k8s lint console-check unit fuzz

## node_modules: Azurite (package.json), which the blob tests also run against, and js-yaml,
## which the web console uses (vendored: console-vendor).
node_modules/.bin/azurite-blob: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## squid: Debian's squid, the CONNECT proxy of the agent's proxy test
## (internal/agentserver/proxytest); installed with apt-get when missing, else nothing.
squid:
	@hack/apt-install.sh /usr/sbin/squid squid

## chromium: Debian's Chromium, the browser of the console's test (cmd/strata/console_e2e_test.go).
chromium:
	@hack/apt-install.sh /usr/bin/chromium chromium

## console-vendor: copy the web console's one third-party file, js-yaml's ES module, from
## node_modules (package.json pins its version) into the embedded assets, which are committed
## so that `go build` needs no npm. console-check fails when the copy is not that version's.
CONSOLE_VENDOR := internal/console/assets/vendor/js-yaml.mjs
console-vendor: node_modules/.bin/azurite-blob
	cp node_modules/js-yaml/dist/js-yaml.mjs $(CONSOLE_VENDOR)

console-check: node_modules/.bin/azurite-blob
	@cmp -s node_modules/js-yaml/dist/js-yaml.mjs $(CONSOLE_VENDOR) || \
	  { echo "$(CONSOLE_VENDOR) is not js-yaml's dist/js-yaml.mjs of package.json's version: run make console-vendor"; exit 1; }

## console-screenshots: the console's browser test, writing its screenshots of the main pages
## into docs/console/ (docs/console.md shows them).
console-screenshots: k8s chromium
	STRATA_CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run '^TestConsole' -timeout 15m ./cmd/strata/

unit: node_modules/.bin/azurite-blob squid chromium
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

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
