package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nstest"
)

const routeFields = `"clusterCIDRs": ["10.128.0.0/14"], "serviceCIDRs": ["172.30.0.0/16"]`

func ipIn(t *testing.T, netns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", netns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %v: %v: %s", netns, args, err, out)
	}
	return string(out)
}

func mustRun(t *testing.T, a *nstest.Attached, cmd string, conf []byte) nstest.Outcome {
	t.Helper()
	out, err := nstest.Run("egress-route", a.Call(cmd), conf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRouteErrorsLeaveNothing(t *testing.T) {
	a := nstest.Attach(t, "rterr", "1.0.0", true)
	before := nstest.MustTake(t, a.Topo.Router)
	cases := []struct {
		name      string
		conf      []byte
		code      uint
		fragments []string
	}{
		{"missing prevResult", a.Conf("egress-route", routeFields, false), 7, []string{"prevResult"}},
		{"bad cluster CIDR", a.Conf("egress-route", `"clusterCIDRs": ["10.128.0.0/14", "10.0.0.0/33"]`, true), 7, []string{"clusterCIDRs[1]", "10.0.0.0/33"}},
		{"bad gateway", a.Conf("egress-route", `"gateway": "192.168.12.256"`, true), 7, []string{"gateway", "192.168.12.256"}},
		{"bad cluster interface", a.Conf("egress-route", `"clusterInterface": "eth0/x"`, true), 7, []string{"clusterInterface", "eth0/x"}},
		{"cluster interface missing", a.Conf("egress-route", `"clusterInterface": "eth9"`, true), 7, []string{"eth9"}},
		{"malformed JSON", []byte(`{"cniVersion": "1.0.0", "name": `), 6, nil},
		// The master route to the gateway's address collides with the
		// gateway's host route on net1: a half-done ADD must roll back.
		{"rollback on a route conflict", a.Conf("egress-route", routeFields+`, "masterIPs": ["192.168.12.1"]`, true), 999, []string{"192.168.12.1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustRun(t, a, "ADD", c.conf).WantError(t, c.code, c.fragments...)
			before.Unchanged(t, a.Topo.Router, "after a failed ADD")
		})
	}
}

func TestRouteCheckAndDel(t *testing.T) {
	for _, v := range []string{"0.4.0", "1.0.0", "1.1.0"} {
		t.Run(v, func(t *testing.T) {
			a := nstest.Attach(t, "rtchk", v, false)
			before := nstest.MustTake(t, a.Topo.Router)
			add := mustRun(t, a, "ADD", a.Conf("egress-route", routeFields, true))
			if add.ExitCode != 0 {
				t.Fatalf("ADD: %s %s", add.Stdout, add.Stderr)
			}
			if add.Stderr != "" {
				t.Errorf("ADD wrote to stderr at the default log level: %q", add.Stderr)
			}
			// CHECK gets the final result as prevResult, as libcni sends it.
			a.PrevResult = []byte(add.Stdout)
			checkConf := a.Conf("egress-route", routeFields, true)
			if out := mustRun(t, a, "CHECK", checkConf); out.ExitCode != 0 {
				t.Fatalf("CHECK after ADD: %s", out.Stdout)
			}
			// Delete a route by hand: CHECK must name it. Then put it back
			// as ours (proto 69) and check again.
			for _, r := range [][]string{
				{"172.30.0.0/16", "via", "10.129.2.1", "dev", "eth0"},
				{"192.168.12.2", "via", "10.129.2.1", "dev", "eth0"},
				{"default", "via", "192.168.12.1", "dev", "net1"},
			} {
				ipIn(t, a.Topo.Router, append([]string{"route", "del"}, r...)...)
				(mustRun(t, a, "CHECK", checkConf)).WantError(t, 999, strings.Replace(strings.Join(r, " "), "192.168.12.2 ", "192.168.12.2/32 ", 1), "missing")
				ipIn(t, a.Topo.Router, append(append([]string{"route", "add"}, r...), "proto", "69")...)
				if out := mustRun(t, a, "CHECK", checkConf); out.ExitCode != 0 {
					t.Fatalf("CHECK after restoring %v: %s", r, out.Stdout)
				}
			}

			// DEL needs no prevResult and cleans up even when the config was
			// edited into something invalid since ADD; twice; then with the
			// netns gone.
			if out := mustRun(t, a, "DEL", a.Conf("egress-route", `"clusterCIDRs": ["not-a-cidr"]`, false)); out.ExitCode != 0 {
				t.Fatalf("DEL with an invalid config: %s", out.Stdout)
			}
			if out := mustRun(t, a, "DEL", a.Conf("egress-route", routeFields, false)); out.ExitCode != 0 {
				t.Fatalf("second DEL: %s", out.Stdout)
			}
			before.Unchanged(t, a.Topo.Router, "after DEL")
			c := a.Call("DEL")
			c.Netns = "/var/run/netns/does-not-exist"
			if out, _ := nstest.Run("egress-route", c, a.Conf("egress-route", routeFields, false)); out.ExitCode != 0 {
				t.Errorf("DEL with a missing netns: %s", out.Stdout)
			}
		})
	}
}

func TestRouteNoMasterRoutes(t *testing.T) {
	a := nstest.Attach(t, "rtnomst", "1.1.0", false)
	out := mustRun(t, a, "ADD", a.Conf("egress-route", `"masterRoutes": false`, true))
	if out.ExitCode != 0 {
		t.Fatalf("ADD: %s", out.Stdout)
	}
	routes := ipIn(t, a.Topo.Router, "-4", "route")
	if strings.Contains(routes, "192.168.12.2") {
		t.Errorf("masterRoutes false still routes the master's IP:\n%s", routes)
	}
	if !strings.Contains(routes, "default via 192.168.12.1 dev net1") {
		t.Errorf("default route not moved:\n%s", routes)
	}
}

// TestRouteDelAfterTheLinkWent deletes the egress link between ADD and
// DEL, as a runtime that tears the pod down first does: the kernel drops
// every route through the link, ours among them, and DEL must still find
// what the attachment left (the saved defaults, its routes through the
// cluster interface, its rules) in both families and put the pod back.
func TestRouteDelAfterTheLinkWent(t *testing.T) {
	a := nstest.Attach(t, "rtgone", "1.0.0", true)
	before := nstest.MustTake(t, a.Topo.Router)
	if out := mustRun(t, a, "ADD", a.Conf("egress-route", routeFields, true)); out.ExitCode != 0 {
		t.Fatalf("ADD: %s %s", out.Stdout, out.Stderr)
	}
	if rules := ipIn(t, a.Topo.Router, "-6", "rule"); !strings.Contains(rules, "fwmark") {
		t.Fatalf("ADD left no IPv6 reply-path rule to clean up:\n%s", rules)
	}
	ipIn(t, a.Topo.Router, "link", "del", "net1")
	if out := mustRun(t, a, "DEL", a.Conf("egress-route", routeFields, false)); out.ExitCode != 0 {
		t.Fatalf("DEL: %s %s", out.Stdout, out.Stderr)
	}
	after := nstest.MustTake(t, a.Topo.Router)
	// What went with the link is the link's own; the rest must be as
	// before ADD.
	withoutLink := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "net1") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	for _, part := range []string{"routes4", "routes6", "rules4", "rules6"} {
		if b, a := withoutLink(before[part]), withoutLink(after[part]); b != a {
			t.Errorf("%s after DEL differs from before ADD:\nbefore:\n%s\nafter:\n%s", part, b, a)
		}
	}
}
