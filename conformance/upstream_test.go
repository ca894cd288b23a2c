package conformance

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
)

// debianCNI is where Debian's containernetworking-plugins (1.1.1 in
// Debian 12) puts the plugins; they speak up to CNI 1.0.0.
const (
	debianCNI     = "/usr/lib/cni"
	debianVersion = "1.0.0"
	debianLabel   = "(Debian containernetworking-plugins 1.1.1)"
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
	upWhyNoCommand = "skel prints the plugin's about line and exits 0 without CNI_COMMAND"
	upWhyEcho      = "skel answers VERSION with its own newest version, whatever the config asks"
	upWhyNoGC      = "no GC (FIXME in skel.CNIFuncs): skel answers success, and the stale attachment's host veth stays"
	upWhyGCFwd     = "no GC (FIXME in skel.CNIFuncs): skel answers GC with success without running the IPAM plugin's GC"
	upWhyIPAMFail  = "a failed IPAM ADD is returned as is: the deferred IPAM DEL is set up only after ExecAdd succeeds"
	upWhyIPAMLink  = "a failed IPAM ADD is returned without IPAM DEL, and the new link stays in the pod (no deferred removal)"
	upWhyStderr    = "invoke.RawExec copies a delegate's stderr to the caller's only when it succeeds; a failed CHECK's is dropped"
	upWhyHostGone  = "DEL fails when the device is no longer in the pod (moveLinkOut's error is returned)"
	upWhyNetnsGone = "DEL opens CNI_NETNS first and returns the error when it is gone"
	upWhyHDEmpty   = "DEL returns before the IPAM DEL when CNI_NETNS is empty"
	upWhyLo03      = "the 1.x result is stamped with the config's 0.3.x version, so it is printed unconverted, without ips[].version"
	upWhyLoCheck   = "CHECK only looks at lo being up"
	upWhyTbf       = "CHECK stops at the first qdisc that is not a tbf, so a missing tbf passes"
	upWhyBridge    = "the bridge, its gateway address and route stay after the last DEL"
	upWhyFirewall  = "the FORWARD jump to CNI-FORWARD and CNI-FORWARD's jump to CNI-ADMIN stay after the last DEL"
	upWhyPortmap   = "the shared jump rules to CNI-HOSTPORT-* stay after the last DEL"
	upWhySbrDel    = "DEL removes the rules but leaves the routes it moved in table 100"
	upWhySbrNetns  = "DEL enters CNI_NETNS first and returns the error when it is empty or gone"
	upWhyTempLink  = "ADD makes the link under a temporary name, and leaves it in the pod when the rename to CNI_IFNAME fails"
	upWhyVrfRule   = "the kernel adds the l3mdev rules (pref 1000) with the namespace's first VRF, and DEL leaves them"
	upWhyDebRoute  = "1.1.1's ValidateExpectedRoute filters on a nil gateway: a route static put via the address's gateway is not found"
	upWhyDebPm6    = "1.1.1's CHECK looks for an IPv6 DNAT chain for a pod without IPv6"
)

func known(pairs ...string) map[string]string {
	m := map[string]string{"error/no-command": upWhyNoCommand, "version/echo": upWhyEcho}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return m
}

var upstreamTargets = []upstreamTarget{
	{name: "macvlan", debian: true,
		pinned: known("delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail),
		deb: known("check/after-add", upWhyDebRoute, "check/later-changes", upWhyDebRoute, "concurrent/containers", upWhyDebRoute,
			"delegate/del-after-failure", upWhyIPAMFail)},
	{name: "host-local", debian: true,
		pinned: known("delegate/forwards", upWhyGCFwd, "delegate/stderr", upWhyStderr, "delegate/del-after-failure", upWhyIPAMFail),
		deb:    known("delegate/stderr", upWhyStderr, "delegate/del-after-failure", upWhyIPAMFail)},
	{name: "dhcp", debian: true,
		pinned: known("delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail),
		deb:    known("delegate/stderr", upWhyStderr, "delegate/del-after-failure", upWhyIPAMFail)},
	{name: "bridge", debian: true,
		pinned: known("gc", upWhyNoGC, "delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail, "hygiene/host", upWhyBridge),
		deb:    known("delegate/del-after-failure", upWhyIPAMFail, "hygiene/host", upWhyBridge)},
	{name: "ptp", debian: true,
		pinned: known("gc", upWhyNoGC, "delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail),
		deb:    known("delegate/del-after-failure", upWhyIPAMFail)},
	{name: "host-device", debian: true,
		pinned: known("del/twice", upWhyHostGone, "del/without-add", upWhyHostGone, "del/netns-gone", upWhyNetnsGone,
			"gc", "no GC (FIXME in skel.CNIFuncs): the stale attachment's device stays in its pod",
			"delegate/forwards", upWhyHDEmpty+"; "+upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail),
		deb: known("del/twice", upWhyHostGone, "del/without-add", upWhyHostGone, "del/netns-gone", upWhyNetnsGone,
			"add/existing-ifname", "1.1.1 moves the device into the pod before the rename to CNI_IFNAME fails, and leaves it there",
			"hygiene/host", "1.1.1 leaves the alias (its host name) it set on the device when it comes back",
			"delegate/forwards", upWhyHDEmpty, "delegate/del-after-failure", upWhyIPAMFail)},
	{name: "tap",
		pinned: known("add/existing-ifname", "createTap's inverted check drops the rename error and uses the existing link",
			"delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail)},
	{name: "loopback", debian: true,
		pinned: known("add/result 0.3.0", upWhyLo03, "add/result 0.3.1", upWhyLo03, "check/address-removed", upWhyLoCheck),
		deb:    known("add/result 0.3.0", upWhyLo03, "add/result 0.3.1", upWhyLo03, "check/address-removed", upWhyLoCheck)},
	{name: "tuning", debian: true, pinned: known(), deb: known()},
	{name: "bandwidth", debian: true,
		pinned: known("check/owned: host tbf qdiscs", upWhyTbf, "gc", "no GC (FIXME in skel.CNIFuncs): the stale attachment's ifb device and host veth stay"),
		deb:    known("check/owned: host tbf qdiscs", upWhyTbf)},
	{name: "firewall", debian: true, pinned: known("hygiene/host", upWhyFirewall), deb: known("hygiene/host", upWhyFirewall)},
	{name: "sbr", debian: true,
		pinned: known("del/leaves-nothing", upWhySbrDel, "del/empty-netns", upWhySbrNetns, "del/netns-gone", upWhySbrNetns, "concurrent/containers", upWhySbrDel),
		deb:    known("del/leaves-nothing", upWhySbrDel, "del/empty-netns", upWhySbrNetns, "del/netns-gone", upWhySbrNetns, "concurrent/containers", upWhySbrDel)},
	{name: "portmap", debian: true,
		pinned: known("gc", "no GC (FIXME in skel.CNIFuncs): the stale attachment's DNAT chain stays", "hygiene/host", upWhyPortmap),
		deb:    known("check/after-add", upWhyDebPm6, "check/later-changes", upWhyDebPm6, "concurrent/containers", upWhyDebPm6, "hygiene/host", upWhyPortmap)},
	{name: "ipvlan", kernel: "ipvlan", debian: true,
		pinned: known("add/existing-ifname", upWhyTempLink, "delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMLink),
		deb:    known("add/existing-ifname", upWhyTempLink, "delegate/del-after-failure", upWhyIPAMLink)},
	{name: "vlan", kernel: "vlan", debian: true,
		pinned: known("add/existing-ifname", upWhyTempLink, "delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMLink),
		deb:    known("add/existing-ifname", upWhyTempLink, "delegate/del-after-failure", upWhyIPAMLink)},
	{name: "vrf", kernel: "vrf", debian: true, pinned: known("del/leaves-nothing", upWhyVrfRule, "concurrent/containers", upWhyVrfRule),
		deb: known("del/leaves-nothing", upWhyVrfRule, "concurrent/containers", upWhyVrfRule)},
	{name: "dummy", kernel: "dummy", pinned: known("delegate/forwards", upWhyGCFwd, "delegate/del-after-failure", upWhyIPAMFail)},
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
// tables grade it too). EGRESS_UPSTREAM_TARGETS (names, space-separated)
// grades only those, and EGRESS_UPSTREAM_TABLES (a folder) gets each
// report's Markdown table: the kernel-matrix VM's run.
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
	// the kernel-matrix VM grades only what this host cannot, and keeps
	// the reports as the tables make conformance shows
	only := strings.Fields(os.Getenv("EGRESS_UPSTREAM_TARGETS"))
	tables := os.Getenv("EGRESS_UPSTREAM_TABLES")
	slots := make(chan struct{}, 8)
	// every run ends before the test does, judged or not (-run may
	// leave some subtests out), so none leaves namespaces behind
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, set := range sets {
		for _, u := range upstreamTargets {
			if set.name == "debian" && !u.debian || len(only) > 0 && !slices.Contains(only, u.name) {
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
			table := u.name
			if set.name == "debian" {
				tg.Name += " " + debianLabel
				table = "debian-" + u.name
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				slots <- struct{}{}
				defer func() { <-slots }()
				rep, err := Run(tg)
				if err == nil && tables != "" {
					err = writeTable(filepath.Join(tables, table+".md"), rep)
				}
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
			rowsAreChecks(t, rep)
			if r, ok := rep.Row("add/result 1.1.0"); g.set == "pinned" && (!ok || r.Status != Pass) {
				t.Errorf("ADD at 1.1.0: %+v, want PASS", r)
			}
			if r, ok := rep.Row("add/result " + debianVersion); !ok || r.Status != Pass {
				t.Errorf("ADD at %s: %+v, want PASS", debianVersion, r)
			}
		})
	}
}

// writeTable writes a report's Markdown section (cni-conformance
// -markdown's) to path.
func writeTable(path string, rep *Report) error {
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
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
