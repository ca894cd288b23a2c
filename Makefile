# egress-router: CNI plugins that turn a pod into an egress router.
# Everything that touches the network runs in namespaces the scripts and
# tests create; the root namespace is never changed.

# bash, for pipefail: a target that filters go test's output through grep
# must still fail when the tests do.
SHELL   := /bin/bash
GO      ?= go
BIN     := $(CURDIR)/bin
PKG     := github.com/egress-router/egress-router
OURS    := egress-route egress-nat egress-router
UPSTREAM := github.com/containernetworking/plugins/plugins/main/macvlan \
            github.com/containernetworking/plugins/plugins/main/ipvlan \
            github.com/containernetworking/plugins/plugins/ipam/static \
            github.com/containernetworking/plugins/plugins/meta/portmap \
            github.com/containernetworking/plugins/plugins/main/ptp \
            github.com/containernetworking/plugins/plugins/main/loopback \
            github.com/containernetworking/plugins/plugins/ipam/host-local \
            github.com/containernetworking/plugins/plugins/ipam/dhcp \
            github.com/containernetworking/plugins/plugins/main/bridge \
            github.com/containernetworking/plugins/plugins/main/host-device \
            github.com/containernetworking/plugins/plugins/main/vlan \
            github.com/containernetworking/plugins/plugins/main/tap \
            github.com/containernetworking/plugins/plugins/main/dummy \
            github.com/containernetworking/plugins/plugins/meta/tuning \
            github.com/containernetworking/plugins/plugins/meta/bandwidth \
            github.com/containernetworking/plugins/plugins/meta/firewall \
            github.com/containernetworking/plugins/plugins/meta/sbr \
            github.com/containernetworking/plugins/plugins/meta/vrf \
            github.com/containernetworking/cni/cnitool
# VERSION tags the installer image; deploy/kubernetes names this tag.
VERSION := 0.4.0
LDFLAGS := -s -w
# our plugins say their version (CNI_COMMAND unset, or VERSION's about line)
BUILDVERSION := github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion
# the installer image, named as deploy/kubernetes/installer-daemonset.yaml names it
IMAGE := ghcr.io/egress-router/egress-router-cni:$(VERSION)
TESTFLAGS ?=
# Kubernetes v1.36.3 (apiserver, controller manager, scheduler, kubelet, kubectl) and Multus v4.3.0
# for the ipConfig and single-node cluster tests, built once into a cache
KUBE_BIN ?= $(HOME)/.cache/egress-router/kube

.PHONY: all build deps kube image test test-kernels demo bench conformance lint fuzz chaos clean

all: build

## deps: install the system tools the tests and the demo need (root, apt-get)
deps:
	@bash deploy/local/deps.sh

## build: our plugins and every pinned upstream plugin (main, meta, IPAM) + cnitool, in bin/ (a CNI_PATH)
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS) -X $(BUILDVERSION)=$(VERSION)' -o $(BIN)/ $(addprefix ./plugins/,$(OURS)) ./chain/cmd/egress-chain ./chain/cmd/egress-ipconfig ./chain/cmd/egress-bench ./conformance/cmd/cni-conformance ./deploy/egress-install ./deploy/egress-proxy ./deploy/local/peerecho ./deploy/local/topo ./deploy/local/pause
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ $(UPSTREAM)

## image: the installer image, built here offline with podman from build's static binaries (deploy/Containerfile.local, the same files as deploy/Containerfile), saved as bin/egress-router-cni.tar for `ctr images import` or `podman load`
image: deps build
	@bash deploy/local/image.sh $(BIN) $(IMAGE) $(BIN)/egress-router-cni.tar

## test: every test, with real namespaces, links, iptables and the real binaries (root)
## kube: build Kubernetes (with kube-proxy) and Multus once into $(KUBE_BIN) (the ipConfig tests and the cluster tests run them with Debian's etcd and containerd)
kube:
	@bash deploy/local/kube-build.sh $(KUBE_BIN)

test: deps build kube lint
	@# EGRESS_UPSTREAM_DEBIAN: TestUpstream grades Debian's containernetworking-plugins (make deps installs it) beside the pinned build
	EGRESS_UPSTREAM_DEBIAN=1 EGRESS_KUBE_BIN=$(KUBE_BIN) EGRESS_BIN=$(BIN) $(GO) test -count=1 -timeout 12m $(TESTFLAGS) ./...
	@# the conformance suite used from another module's go test, as a plugin's CI would (conformance/example)
	cd conformance/example && CNI_PATH=$(BIN) $(GO) test -count=1 ./...
	@echo "== again with the iptables NAT backend (the run above used nftables, what auto picks)"
	@# the two-node failover is Kubernetes' timing and our ADD, the same with either backend: it runs once
	EGRESS_NAT_BACKEND=iptables EGRESS_KUBE_BIN=$(KUBE_BIN) EGRESS_BIN=$(BIN) $(GO) test -count=1 -timeout 12m -skip TestTwoNodes $(TESTFLAGS) ./plugins/... ./chain/e2e/ ./deploy/
	EGRESS_NAT_BACKEND=iptables EGRESS_BIN=$(BIN) $(GO) test -count=1 -timeout 12m $(TESTFLAGS) -run TestOurPlugins ./conformance/

## test-kernels: the kernel matrix. Boots each Debian kernel package in KERNELS (default: Debian 12's stock and
## cloud kernels, the ones linux-image-amd64 and linux-image-cloud-amd64 name) in qemu, software-emulated, with busybox, the modules and tools the tests need and their static
## test binaries, and runs there what this host's kernel cannot: ipvlan L2 and L3 (single plugin and conflist,
## IPv4 and IPv6 traffic, CHECK, DEL), SCTP through a port rule with each NAT backend, and the conformance suite on
## ipvlan, with the upstream ipvlan, vlan, vrf and dummy targets (pinned, and Debian's). The kernel and base initramfs are cached in VM_CACHE; the tables go to bin/kernels for make conformance.
## CI runs it after make test (.ci/run).
KERNELS  ?= linux-image-amd64,linux-image-cloud-amd64
VM_CACHE ?= $(HOME)/.cache/egress-router/vm
test-kernels: deps build
	rm -rf $(BIN)/kernels
	set -o pipefail; EGRESS_KERNELS=$(KERNELS) EGRESS_VM_CACHE=$(VM_CACHE) EGRESS_KERNELS_OUT=$(BIN)/kernels EGRESS_BIN=$(BIN) \
	  $(GO) test -count=1 -timeout 40m -v -run '^TestKernels$$' $(TESTFLAGS) ./deploy/ | grep -E '^ *(---|ok|FAIL|PASS)|kernels_test.go'

## demo: build, make a small network of namespaces, attach an egress router with cnitool, send traffic
demo: deps build
	@bash deploy/local/demo.sh $(BIN)

## bench: ADD/DEL latency of bare macvlan+static, the conflist and the single plugin (1, 16, 1000 destinations), RSS, sizes, rule work, 64 concurrent routers
BENCHFLAGS ?= -cycles 30 -concurrent 64
bench: deps build
	@$(BIN)/egress-bench -bin $(BIN) $(BENCHFLAGS)

## conformance: grade our plugins and every upstream plugin (the pinned module's, and Debian's containernetworking-plugins)
## against the CNI spec; write docs/conformance.md (the ipvlan, vlan, vrf and dummy targets are graded in the kernel-matrix
## VM: this runs test-kernels first)
CONFORMANCE_UPSTREAM := macvlan host-local dhcp bridge ptp host-device loopback tuning bandwidth firewall sbr portmap
CONFORMANCE_TARGETS := egress-router egress-chain egress-route egress-nat $(CONFORMANCE_UPSTREAM) tap
CONFORMANCE_VM_TARGETS := ipvlan egress-router-ipvlan egress-chain-ipvlan vlan vrf dummy debian-ipvlan debian-vlan debian-vrf
conformance: deps build test-kernels
	@DEBIAN_TARGETS="$(CONFORMANCE_UPSTREAM)" VM_TABLES=$(BIN)/kernels VM_TARGETS="$(CONFORMANCE_VM_TARGETS)" \
	  bash conformance/write-doc.sh $(BIN) docs/conformance.md $(CONFORMANCE_TARGETS)

## lint: gofmt, go vet and staticcheck (pinned in go.mod as a tool); make test runs it first
## chaos: SIGKILL egress-router or its children at random moments of ADD and of DEL (CHAOS_ROUNDS each), then
## 64 routers added and deleted at once for 20 rounds with a DEL during each ADD; prints the counts (make test runs a few)
CHAOS_ROUNDS ?= 200
chaos: deps build
	set -o pipefail; EGRESS_CHAOS_ROUNDS=$(CHAOS_ROUNDS) EGRESS_CHAOS_ROUTERS=64 EGRESS_CHAOS_CONCURRENT_ROUNDS=20 EGRESS_BIN=$(BIN) \
	  $(GO) test -count=1 -timeout 60m -v -run 'TestKilledAtRandom|TestConcurrency' ./chain/e2e/ | grep -E '^(---|ok|FAIL|PASS)|chaos_test.go'

## fuzz: run every fuzz target for FUZZTIME each (make test runs their seed corpora); prints the counts
FUZZTIME ?= 1m
FUZZFLAGS ?=
FUZZ_TARGETS := FuzzRouter:./chain/config FuzzConfigMap:./chain/config FuzzChained:./chain/config \
                FuzzPrevResult:./chain/config FuzzParse:./chain/dest FuzzParse:./chain/policy \
                FuzzRender:./chain/egressrouter
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do name=$${t%%:*}; pkg=$${t#*:}; \
	  echo "== $$name in $$pkg for $(FUZZTIME)"; \
	  out=$$(mktemp); rc=0; $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg >$$out 2>&1 || rc=$$?; \
	  grep 'fuzz: elapsed.*execs' $$out | tail -1; grep -E '^(ok|FAIL|---|PASS|    )' $$out; rm -f $$out; [ $$rc = 0 ]; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

clean:
	rm -rf $(BIN)
