package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
)

// debianCNI is where Debian's containernetworking-plugins (1.1.1 in
// Debian 12) puts the plugins; they speak up to CNI 1.0.0.
const (
	debianCNI     = "/usr/lib/cni"
	debianVersion = "1.0.0"
)

// upstreamTarget is one upstream plugin's target file, and the checks it
// fails in each build, with why (read in the plugins' source).
type upstreamTarget struct {
	name string
	// kernel is the link kind the target requires, graded in the
	// kernel-matrix VM where this kernel lacks it.
	kernel string
	// debian is false for plugins Debian's 1.1.1 does not ship.
	debian bool
	pinned map[string]string
	deb    map[string]string
}

// Reasons shared by several plugins.
const (
	whyNoCommand = "skel prints the plugin's about line and exits 0 without CNI_COMMAND"
	whyEcho      = "skel answers VERSION with its own newest version, whatever the config asks"
	whyNoGC      = "no GC of its own (only the IPAM plugin's): the stale attachment's host veth stays"
)

func known(pairs ...string) map[string]string {
	m := map[string]string{"error/no-command": whyNoCommand, "version/echo": whyEcho}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

var upstreamTargets = []upstreamTarget{
	{name: "macvlan", debian: true, pinned: known(),
		deb: known("check/after-add", "1.1.1's ValidateExpectedRoute filters on a nil gateway: a route static put via the address's gateway is not found",
			"check/later-changes", "the same CHECK failure as check/after-add")},
	{name: "host-local", debian: true, pinned: known(), deb: known()},
	{name: "dhcp", debian: true, pinned: known(), deb: known()},
	{name: "bridge", debian: true,
		pinned: known("gc", whyNoGC, "hygiene/host", "the bridge, its gateway address and route stay after the last DEL"),
		deb:    known("hygiene/host", "the bridge, its gateway address and route stay after the last DEL")},
	{name: "ptp", debian: true, pinned: known("gc", whyNoGC), deb: known()},
	{name: "host-device", debian: true,
		pinned: known("del/twice", "DEL fails when the device is no longer in the pod",
			"del/without-add", "DEL fails when the device was never moved into the pod",
			"del/netns-gone", "DEL fails when the pod's netns is gone",
			"gc", "no GC: the stale attachment's device stays in its pod"),
		deb: known("del/twice", "DEL fails when the device is no longer in the pod",
			"del/without-add", "DEL fails when the device was never moved into the pod",
			"del/netns-gone", "DEL fails when the pod's netns is gone",
			"add/existing-ifname", "the device is moved into the pod before the rename to CNI_IFNAME fails, and stays",
			"hygiene/host", "the device comes back to the host with an alias (its old name) it did not have")},
	{name: "tap", pinned: known("add/existing-ifname", "createTap's inverted check drops the rename error and uses the existing link")},
	{name: "loopback", debian: true,
		pinned: known("add/result 0.3.0", "the 1.x result is stamped with the config's 0.3.x version, so it is printed unconverted, without ips[].version",
			"add/result 0.3.1", "the same as add/result 0.3.0",
			"check/address-removed", "CHECK only looks at lo being up"),
		deb: known("add/result 0.3.0", "the 1.x result is stamped with the config's 0.3.x version, so it is printed unconverted, without ips[].version",
			"add/result 0.3.1", "the same as add/result 0.3.0",
			"check/address-removed", "CHECK only looks at lo being up")},
	{name: "tuning", debian: true, pinned: known(), deb: known()},
	{name: "bandwidth", debian: true,
		pinned: known("check/owned: host tbf qdiscs", "CHECK stops at the first qdisc that is not a tbf, so a missing tbf passes", "gc", "no GC: the stale attachment's ifb device stays"),
		deb:    known("check/owned: host tbf qdiscs", "CHECK stops at the first qdisc that is not a tbf, so a missing tbf passes")},
	{name: "firewall", debian: true,
		pinned: known("hygiene/host", "the FORWARD jump to CNI-FORWARD and CNI-FORWARD's jump to CNI-ADMIN stay after the last DEL"),
		deb:    known("hygiene/host", "the FORWARD jump to CNI-FORWARD and CNI-FORWARD's jump to CNI-ADMIN stay after the last DEL")},
	{name: "sbr", debian: true,
		pinned: known("del/leaves-nothing", "DEL removes the rules but leaves the routes it moved in table 100",
			"del/empty-netns", "DEL needs the netns", "del/netns-gone", "DEL needs the netns"),
		deb: known("del/leaves-nothing", "DEL removes the rules but leaves the routes it moved in table 100",
			"del/empty-netns", "DEL needs the netns", "del/netns-gone", "DEL needs the netns")},
	{name: "portmap", debian: true,
		pinned: known("gc", "no GC: the stale attachment's DNAT chain stays",
			"hygiene/host", "the shared jump rules to CNI-HOSTPORT-* stay after the last DEL"),
		deb: known("check/after-add", "1.1.1's CHECK looks for an IPv6 DNAT chain for a pod without IPv6",
			"check/later-changes", "the same CHECK failure as check/after-add",
			"hygiene/host", "the shared jump rules to CNI-HOSTPORT-* stay after the last DEL")},
	{name: "ipvlan", kernel: "ipvlan", debian: true, pinned: known(), deb: known()},
	{name: "vlan", kernel: "vlan", debian: true, pinned: known(), deb: known()},
	{name: "vrf", kernel: "vrf", debian: true, pinned: known(), deb: known()},
	{name: "dummy", kernel: "dummy", pinned: known()},
}

// Every upstream plugin, the pinned build (bin/) and Debian's
// (/usr/lib/cni), graded through Test's rule: a FAIL not listed fails,
// and so does a listed one that passes. Targets needing a link kind this
// kernel lacks skip here and are graded in make test-kernels' VM.
//
// The targets run at once (go test's -parallel is the core count, and
// each target mostly waits on processes), and the subtests judge the
// reports. make test grades the pinned set; the Debian set doubles the
// time, so it runs when EGRESS_UPSTREAM_DEBIAN=1 (make conformance's
// tables grade it too).
func TestUpstream(t *testing.T) {
	nstest.Need(t)
	bin := nstest.BinDir(t)
	type graded struct {
		set  string
		u    upstreamTarget
		skip string
		rep  chan *Report
		err  error
	}
	var runs []*graded
	sets := []struct{ name, path, version string }{{"pinned", bin, ""}}
	if os.Getenv("EGRESS_UPSTREAM_DEBIAN") == "1" {
		if _, err := os.Stat(debianCNI); err != nil {
			t.Errorf("EGRESS_UPSTREAM_DEBIAN=1, and Debian's containernetworking-plugins is not installed (make deps installs it): %v", err)
		} else {
			sets = append(sets, struct{ name, path, version string }{"debian", debianCNI, debianVersion})
		}
	} else {
		t.Logf("the Debian set is graded with EGRESS_UPSTREAM_DEBIAN=1")
	}
	slots := make(chan struct{}, 8)
	for _, set := range sets {
		for _, u := range upstreamTargets {
			if set.name == "debian" && !u.debian {
				continue
			}
			g := &graded{set: set.name, u: u, rep: make(chan *Report, 1)}
			runs = append(runs, g)
			if u.kernel != "" {
				if g.skip = kernelLacks(u.kernel); g.skip != "" {
					continue
				}
			}
			tg := load(t, u.name)
			tg.CNIPath, tg.CNIVersion = []string{set.path}, set.version
			go func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				rep, err := Run(tg)
				g.err = err
				g.rep <- rep
			}()
		}
	}
	for _, g := range runs {
		t.Run(g.set+"/"+g.u.name, func(t *testing.T) {
			if g.skip != "" {
				nstest.SkipUnlessRequired(t, g.u.kernel, g.skip)
			}
			rep := <-g.rep
			if g.err != nil {
				t.Fatalf("conformance suite: %v", g.err)
			}
			k := g.u.pinned
			if g.set == "debian" {
				k = g.u.deb
			}
			testReport(t, rep, k)
			if r, ok := rep.Row("add/result 1.1.0"); g.set == "pinned" && (!ok || r.Status != Pass) {
				t.Errorf("ADD at 1.1.0: %+v, want PASS", r)
			}
			if r, ok := rep.Row("add/result " + debianVersion); !ok || r.Status != Pass {
				t.Errorf("ADD at %s: %+v, want PASS", debianVersion, r)
			}
		})
	}
}

// kernelLacks says why this kernel cannot make links of kind ("" when
// it can), from a try in a namespace of its own.
func kernelLacks(kind string) string {
	ns := fmt.Sprintf("cnc-kprobe-%d-%s", os.Getpid(), kind)
	if err := exec.Command("ip", "netns", "add", ns).Run(); err != nil {
		return "no namespace to probe in: " + err.Error()
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	args := []string{"-n", ns, "link", "add", "probe0"}
	switch kind {
	case "ipvlan", "vlan":
		if out, err := exec.Command("ip", "-n", ns, "link", "add", "parent0", "type", "veth", "peer", "name", "parent1").CombinedOutput(); err != nil {
			return "no veth parent: " + strings.TrimSpace(string(out))
		}
		args = append(args, "link", "parent0")
	}
	args = append(args, "type", kind)
	switch kind {
	case "vlan":
		args = append(args, "id", "5")
	case "vrf":
		args = append(args, "table", "5")
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return "no " + kind + " (" + strings.TrimSpace(string(out)) + ")"
	}
	return ""
}
