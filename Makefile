# pnpbox — `make help` lists the targets. Logic longer than a line lives in scripts/.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO      ?= go

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## Build pnpd and phonesim for this machine into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pnpd ./cmd/pnpd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/phonesim ./cmd/phonesim

build-arm64: ## Build the static linux/arm64 pnpd for the box: bin/pnpd-linux-arm64
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/pnpd-linux-arm64 ./cmd/pnpd

run: build ## Run pnpd on this laptop (loopback, simulated board, state in ./var)
	bin/pnpd -iface lo -board sim -data ./var -http 127.0.0.1:8080 -admin-password $${PNPD_ADMIN_PASSWORD:-pnpbox-dev}

demo: build ## pnpd plus 20 simulated phones, provisioned end to end; leaves pnpd running
	scripts/demo.sh

test: ## make lint, then go test -race ./... (netns e2e as root), arm64 build and qemu checks
	scripts/test.sh

test-arm64: build-arm64 ## The arm64 binary's -version and the pure unit tests under qemu-aarch64-static
	scripts/test-arm64.sh

soak: ## SIGKILL pnpd 200 times during writes; nothing acknowledged may be lost (CYCLES=N)
	scripts/soak.sh

bench: ## pnpd beside Kamailio and nginx on a namespace LAN (root): out/bench.md; BENCH_DOC=1 updates docs/performance.md
	scripts/bench.sh

fuzz: ## Every fuzz target for FUZZTIME each (default 2m); crashers land in testdata/fuzz/
	FUZZTIME=$${FUZZTIME:-2m} scripts/fuzz.sh

lint: ## gofmt, vet (linux, darwin), staticcheck, linux/arm build, no binaries or >1 MB files in git
	scripts/lint.sh
image: ## The box's SD-card image: BUILDROOT=<Buildroot checkout> [O=out/buildroot] (docs/box.md)
	scripts/image.sh

image-check: ## Our defconfig survives Buildroot's olddefconfig: BUILDROOT=<Buildroot checkout>
	scripts/check-defconfig.sh

qemu-test: build-arm64 ## Boot the box's rootfs in an arm64 VM (QEMU) and test it from a LAN of namespaces (root)
	scripts/qemu-test.sh

powercut: build-arm64 ## Kill the VM (a pulled plug) during acknowledged writes, CYCLES=N times (default 50); nothing may be lost (root)
	POWERCUT_CYCLES=$${CYCLES:-50} QEMU_RUN=TestPowerCut QEMU_TIMEOUT=$${QEMU_TIMEOUT:-180m} scripts/qemu-test.sh


clean: ## Remove build output
	rm -rf bin

.PHONY: help build build-arm64 run demo test test-arm64 soak bench lint clean
.PHONY: fuzz powercut
.PHONY: image image-check qemu-test
