package deploy_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nstest"
	"github.com/egress-router/egress-router/deploy/local/vm"
)

// guestSection is one command the kernel-matrix VM runs, and the tests
// that must pass in it (a run that skipped or never reached them fails).
type guestSection struct {
	name, dir, cmd string
	wantPass       []string
}

var ipvlanCases = []string{"TestIPVLAN/l2_single", "TestIPVLAN/l2_conflist", "TestIPVLAN/l3_single", "TestIPVLAN/l3_conflist"}

var guestSections = []guestSection{
	{"e2e nftables", "chain/e2e", "env EGRESS_NAT_BACKEND=nftables ./e2e.test -test.v -test.run '^(TestIPVLAN|TestSCTPPortRule)$'",
		append(ipvlanCases, "TestSCTPPortRule")},
	// ipvlan's NAT is the same as macvlan's, which make test runs with both backends
	{"e2e iptables", "chain/e2e", "env EGRESS_NAT_BACKEND=iptables ./e2e.test -test.v -test.run '^TestSCTPPortRule$'",
		[]string{"TestSCTPPortRule"}},
	{"egress-router plugin", "plugins/egress-router", "./egress-router.test -test.v -test.run '^TestIPVLAN$'", []string{"TestIPVLAN"}},
	{"conformance", "conformance", "./conformance.test -test.v -test.run '^TestOnIPVLAN$'",
		[]string{"TestOnIPVLAN/egress-router-ipvlan", "TestOnIPVLAN/egress-chain-ipvlan", "TestOnIPVLAN/ipvlan"}},
	// the upstream plugins whose link kinds this host's kernel lacks, pinned and Debian's
	{"conformance upstream", "conformance",
		"mkdir -p /tmp/upstream && env EGRESS_UPSTREAM_DEBIAN=1 EGRESS_UPSTREAM_TARGETS='" + strings.Join(guestUpstream, " ") +
			"' EGRESS_UPSTREAM_TABLES=/tmp/upstream ./conformance.test -test.v -test.run '^TestUpstream$'",
		guestUpstreamCases()},
}

// guestUpstream are the upstream targets (conformance/targets) only a
// kernel with ipvlan, vlan, vrf and dummy links grades; Debian's
// containernetworking-plugins 1.1.1 has no dummy.
var guestUpstream = []string{"ipvlan", "vlan", "vrf", "dummy"}

func guestUpstreamCases() []string {
	var out []string
	for _, n := range guestUpstream {
		out = append(out, "TestUpstream/pinned/"+n)
		if n != "dummy" {
			out = append(out, "TestUpstream/debian/"+n)
		}
	}
	return out
}

// debianCNI holds Debian's containernetworking-plugins; the guest gets
// the ones its upstream targets need, for their Debian tables.
const debianCNI = "/usr/lib/cni"

var debianGuestPlugins = []string{"ipvlan", "vlan", "vrf", "macvlan", "static"}

// guestTable is one conformance table the guest prints: cmd writes it.
type guestTable struct{ file, cmd string }

// The conformance tables of the targets only the guest's kernel grades;
// make conformance puts them in docs/conformance.md. The upstream ones
// are what TestUpstream graded (EGRESS_UPSTREAM_TABLES), pinned and
// Debian's (debian-NAME), not graded a second time.
var guestConformance = func() []guestTable {
	var ts []guestTable
	for _, n := range []string{"egress-router-ipvlan", "egress-chain-ipvlan"} {
		ts = append(ts, guestTable{n, "/opt/egress/bin/cni-conformance -path /opt/egress/bin -markdown targets/" + n + ".json"})
	}
	for _, n := range guestUpstream {
		ts = append(ts, guestTable{n, "cat /tmp/upstream/" + n + ".md"})
		if n != "dummy" {
			ts = append(ts, guestTable{"debian-" + n, "cat /tmp/upstream/debian-" + n + ".md"})
		}
	}
	return ts
}()

// TestKernels is make test-kernels: for each Debian kernel package in
// EGRESS_KERNELS (a kernel's, or a metapackage's such as
// linux-image-cloud-amd64, which stands for the kernel it names), it boots
// that kernel in qemu with the tests' binaries and runs the tests this
// machine's kernel cannot (ipvlan, SCTP) there, failing on any failure or
// skip inside, with the guest's output.
func TestKernels(t *testing.T) {
	kernels := os.Getenv("EGRESS_KERNELS")
	if kernels == "" {
		t.Skip("make test-kernels runs this (EGRESS_KERNELS names the Debian kernels)")
	}
	nstest.Need(t)
	bin := nstest.BinDir(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cache := os.Getenv("EGRESS_VM_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "egress-router", "vm")
	}
	files := guestFiles(t, root, bin)
	for _, pkg := range strings.Split(kernels, ",") {
		k, err := vm.Build(filepath.Join(root, "deploy", "local", "vm"), cache, pkg)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(k.Release, func(t *testing.T) { bootAndCheck(t, k, files) })
	}
}

// guestFiles builds the test binaries and lists what the guest needs.
func guestFiles(t *testing.T, root, bin string) map[string]string {
	t.Helper()
	files := map[string]string{}
	tmp := t.TempDir()
	for _, s := range guestSections {
		name := filepath.Base(s.dir) + ".test"
		out := filepath.Join(tmp, s.dir, name)
		if _, ok := files["/opt/egress/tests/"+s.dir+"/"+name]; ok {
			continue
		}
		cmd := exec.Command("go", "test", "-c", "-trimpath", "-o", out, "./"+s.dir)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go test -c ./%s: %v: %s", s.dir, err, b)
		}
		files["/opt/egress/tests/"+s.dir+"/"+name] = out
	}
	targets, err := filepath.Glob(filepath.Join(root, "conformance", "targets", "*.json"))
	if err != nil || len(targets) == 0 {
		t.Fatalf("conformance targets: %v", err)
	}
	for _, p := range targets {
		files["/opt/egress/tests/conformance/targets/"+filepath.Base(p)] = p
	}
	for _, b := range append(append([]string{}, nstest.Binaries...), "cni-conformance", "vlan", "vrf", "dummy") {
		files["/opt/egress/bin/"+b] = filepath.Join(bin, b)
	}
	for _, b := range debianGuestPlugins {
		p := filepath.Join(debianCNI, b)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("Debian's containernetworking-plugins (make deps installs it): %v", err)
		}
		files[p] = p
	}
	return files
}

func guestScript() string {
	var b strings.Builder
	b.WriteString(`export EGRESS_BIN=/opt/egress/bin ` + nstest.RequireEnv + `=ipvlan,sctp,vlan,vrf,dummy
section() { name=$1; dir=$2; shift 2; echo "EGRESS-VM begin $name"; (cd "/opt/egress/tests/$dir" && eval "$@"); echo "EGRESS-VM end $name $?"; }
`)
	for _, s := range guestSections {
		fmt.Fprintf(&b, "section %q %q %q\n", s.name, s.dir, s.cmd)
	}
	for _, c := range guestConformance {
		fmt.Fprintf(&b, "section %q conformance %q\n", "table "+c.file, c.cmd)
	}
	b.WriteString("exit 0\n")
	return b.String()
}

var sectionRE = regexp.MustCompile(`(?s)EGRESS-VM begin ([^\n]*)\n(.*?)EGRESS-VM end ([^\n]*) (\d+)\n`)

func bootAndCheck(t *testing.T, k vm.Kernel, files map[string]string) {
	res, err := k.Boot(context.Background(), vm.Run{Files: files, Script: guestScript(), Timeout: 25 * time.Minute})
	t.Logf("%s booted and ran in %s", k.Release, res.Elapsed.Round(time.Second))
	dir := os.Getenv("EGRESS_KERNELS_OUT")
	if dir != "" {
		// the whole of what the guest printed, for reading after the run
		if err := os.MkdirAll(filepath.Join(dir, k.Release), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k.Release, "guest.log"), []byte(res.Output), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err != nil {
		t.Fatalf("%s: %v\n--- guest output\n%s\n--- console (last 3000 bytes)\n%s", k.Release, err, res.Output, tail(res.Console, 3000))
	}
	if res.Exit != 0 {
		t.Errorf("the guest's script exited %d", res.Exit)
	}
	got := map[string][2]string{}
	for _, m := range sectionRE.FindAllStringSubmatch(res.Output, -1) {
		got[m[1]] = [2]string{m[2], m[4]}
	}
	for _, s := range guestSections {
		t.Run(s.name, func(t *testing.T) {
			r, ok := got[s.name]
			if !ok {
				t.Fatalf("the guest never finished %q:\n%s", s.name, tail(res.Output, 4000))
			}
			out, rc := r[0], r[1]
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "--- ") {
					t.Log(strings.TrimSpace(l))
				}
			}
			if rc != "0" {
				t.Errorf("%s exited %s in the guest:\n%s", s.cmd, rc, out)
			}
			for _, w := range s.wantPass {
				if !regexp.MustCompile(`--- PASS: ` + regexp.QuoteMeta(w) + ` \(`).MatchString(out) {
					t.Errorf("%s did not pass in the guest (skipped, or never ran)", w)
				}
			}
		})
	}
	for _, c := range guestConformance {
		r, ok := got["table "+c.file]
		if !ok || !strings.Contains(r[0], "### ") {
			t.Errorf("no conformance table for %s from the guest", c.file)
			continue
		}
		if dir != "" {
			p := filepath.Join(dir, k.Release, c.file+".md")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(r[0]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
