package nstest

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// RequireEnv lists the kernel features (comma-separated: ipvlan, sctp)
// whose absence fails a test instead of skipping it. The kernel-matrix VM
// sets it, so a test there cannot pass by skipping the thing it is for.
const RequireEnv = "EGRESS_REQUIRE_KERNEL"

// NeedKernel skips the test when this kernel lacks feature (a link kind
// that `ip link add` is tried with in netns, or "sctp" sockets), or fails
// it when RequireEnv names the feature.
func NeedKernel(t testing.TB, netns, feature string) {
	t.Helper()
	var why string
	if feature == "sctp" {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_SCTP)
		if err != nil {
			why = "no SCTP sockets: " + err.Error()
		} else {
			syscall.Close(fd)
		}
	} else {
		args := []string{"link", "add", "kprobe0", "type", feature}
		if feature == "ipvlan" || feature == "macvlan" {
			// these need a parent: a veth made for the purpose
			if _, err := InNS(netns, "ip", "link", "add", "kprobep", "type", "veth", "peer", "name", "kprobeq"); err != nil {
				t.Fatal(err)
			}
			defer InNS(netns, "ip", "link", "del", "kprobep")
			args = []string{"link", "add", "kprobe0", "link", "kprobep", "type", feature}
		}
		if _, err := InNS(netns, append([]string{"ip"}, args...)...); err != nil {
			why = "no " + feature + " links: " + err.Error()
		} else {
			InNS(netns, "ip", "link", "del", "kprobe0")
		}
	}
	if why == "" {
		return
	}
	SkipUnlessRequired(t, feature, why)
}

// SkipUnlessRequired skips the test for the missing feature and why, or
// fails it when RequireEnv names the feature.
func SkipUnlessRequired(t testing.TB, feature, why string) {
	t.Helper()
	for _, f := range strings.Split(os.Getenv(RequireEnv), ",") {
		if f == feature {
			t.Fatalf("%s names %s, and this kernel has %s", RequireEnv, feature, why)
		}
	}
	t.Skipf("this kernel has %s (make test-kernels runs this test in a VM on a kernel that has it)", why)
}
