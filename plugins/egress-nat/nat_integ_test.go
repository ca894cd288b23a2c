package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/nat"
	"github.com/egress-router/egress-router/chain/nstest"
)

const natFields = `"destinations": ["80 tcp 203.0.113.5 8080", "53 SCTP 203.0.113.5", "192.168.12.91"], "fallbackIP": ""`
const natFields6 = `"destinations": ["80 tcp 203.0.113.5 8080", "80 tcp fd00:203::5 8080", "192.168.12.91"]`

func natRun(t *testing.T, a *nstest.Attached, c nstest.Call, conf []byte) nstest.Outcome {
	t.Helper()
	out, err := nstest.Run("egress-nat", c, conf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func inPod(t *testing.T, a *nstest.Attached, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", a.Topo.Router}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", argv, err, out)
	}
	return string(out)
}

func TestNatErrorsLeaveNothing(t *testing.T) {
	a := nstest.Attach(t, "naterr", "1.0.0", false)
	before := nstest.MustTake(t, a.Topo.Router)
	cases := []struct {
		name      string
		conf      []byte
		code      uint
		fragments []string
	}{
		{"missing prevResult", a.Conf("egress-nat", natFields, false), 7, []string{"prevResult"}},
		{"fallback not last", a.Conf("egress-nat", `"destinations": ["192.168.12.91", "80 tcp 203.0.113.5"]`, true), 7, []string{"destinations[1]", "192.168.12.91", "last"}},
		{"duplicate local port", a.Conf("egress-nat", `"destinations": ["80 tcp 203.0.113.5", "80 TCP 203.0.113.6"]`, true), 7, []string{"destinations[1]", "80/tcp"}},
		{"port 0", a.Conf("egress-nat", `"destinations": ["0 tcp 203.0.113.5"]`, true), 7, []string{"destinations[0]", "port 0"}},
		{"port 65536", a.Conf("egress-nat", `"destinations": ["65536 udp 203.0.113.5"]`, true), 7, []string{"65536"}},
		{"bad protocol", a.Conf("egress-nat", `"destinations": ["80 icmp 203.0.113.5"]`, true), 7, []string{"icmp"}},
		{"not an IP", a.Conf("egress-nat", `"destinations": ["80 tcp 203.0.113.500"]`, true), 7, []string{"203.0.113.500"}},
		{"wide CIDR", a.Conf("egress-nat", `"destinations": ["203.0.113.0/24"]`, true), 7, []string{"203.0.113.0/24"}},
		{"fallbackIP and a fallback line", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "fallbackIP": "192.168.12.92"`, true), 7, []string{"fallbackIP", "192.168.12.92"}},
		{"empty destinations", a.Conf("egress-nat", `"destinations": []`, true), 7, []string{"destinations"}},
		{"bad source", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "source": "x"`, true), 7, []string{"source", `"x"`}},
		{"IPv6 destination, no IPv6 address", a.Conf("egress-nat", natFields6, true), 7, []string{"fd00:203::5", "no IPv6"}},
		{"source not on the egress interface", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "source": "192.168.12.98"`, true), 7, []string{"source", "192.168.12.98"}},
		{"cluster interface missing", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "clusterInterface": "eth7"`, true), 7, []string{"eth7"}},
		{"bad log level", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "log_level": "loud"`, true), 7, []string{"log_level", "loud"}},
		{"unknown backend", a.Conf("egress-nat", `"destinations": ["192.168.12.91"], "backend": "pf"`, true), 7, []string{"backend", `"pf"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			natRun(t, a, a.Call("ADD"), c.conf).WantError(t, c.code, c.fragments...)
			before.Unchanged(t, a.Topo.Router, "after a failed ADD")
		})
	}
}

// TestNatRollback makes ip6tables refuse rules after the IPv4 family went
// in: the IPv4 chains and the forwarding switch must be undone.
func TestNatRollback(t *testing.T) {
	a := nstest.Attach(t, "natrb", "1.1.0", true)
	c := a.Call("ADD")
	c.ExtraEnv = nstest.RefuseNAT(t, a.Topo.Router, "net1", 6)
	before := nstest.MustTake(t, a.Topo.Router)
	(natRun(t, a, c, a.Conf("egress-nat", natFields6, true))).WantError(t, 999, nstest.Pick("injected failure", "nftables"))
	before.Unchanged(t, a.Topo.Router, "after a failed ADD")
	for _, s := range []string{"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"} {
		if got := strings.TrimSpace(inPod(t, a, nil, "sysctl", "-n", s)); got != "0" {
			t.Errorf("%s = %s after a failed ADD, want 0 as before", s, got)
		}
	}
}

// TestNatBackends runs ADD, CHECK, tampering, DEL against iptables-nft
// and iptables-legacy, each through the binaries a node would have.
func TestNatBackends(t *testing.T) {
	for _, mode := range []string{"nft", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			a := nstest.Attach(t, "nat"+mode, "1.1.0", false)
			dir := t.TempDir()
			for _, b := range []string{"iptables", "ip6tables", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"} {
				target, err := exec.LookPath(strings.Replace(b, "tables", "tables-"+mode, 1))
				if err != nil {
					t.Fatalf("%s backend: %v", mode, err)
				}
				if err := os.Symlink(target, filepath.Join(dir, b)); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
			call := func(cmd string) nstest.Call { c := a.Call(cmd); c.ExtraEnv = env; return c }
			before := inPod(t, a, env, "iptables-save", "-t", "nat")

			// This test is about the iptables flavours: the backend is set.
			conf := a.Conf("egress-nat", natFields+`, "backend": "iptables", "log_level": "debug"`, true)
			add := natRun(t, a, call("ADD"), conf)
			if add.ExitCode != 0 {
				t.Fatalf("ADD: %s %s", add.Stdout, add.Stderr)
			}
			// stdout is the result alone; the debug log went to stderr.
			var res map[string]any
			if err := json.Unmarshal([]byte(add.Stdout), &res); err != nil {
				t.Errorf("stdout is not just the result: %v: %q", err, add.Stdout)
			}
			if !strings.Contains(add.Stderr, "DNAT --to-destination 203.0.113.5:8080") {
				t.Errorf("debug log on stderr lacks the rules: %q", add.Stderr)
			}
			if !strings.Contains(string(add.Stdout), `"192.168.12.99/24"`) {
				t.Errorf("result lost prevResult's address: %s", add.Stdout)
			}
			save := inPod(t, a, env, "iptables-save", "-t", "nat")
			for _, l := range []string{
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination 203.0.113.5:8080",
				"-A EGRESS-DNAT-net1 -p sctp -m sctp --dport 53 -j DNAT --to-destination 203.0.113.5:53",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.91",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.99",
			} {
				if !strings.Contains(save, l) {
					t.Errorf("%s: rules lack %q:\n%s", mode, l, save)
				}
			}
			checkConf := a.Conf("egress-nat", natFields+`, "backend": "iptables"`, true)
			if out := natRun(t, a, call("CHECK"), checkConf); out.ExitCode != 0 {
				t.Fatalf("CHECK: %s", out.Stdout)
			}
			inPod(t, a, env, "iptables", "-t", "nat", "-A", "EGRESS-DNAT-net1", "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", "203.0.113.9")
			(natRun(t, a, call("CHECK"), checkConf)).WantError(t, 999, "EGRESS-DNAT-net1 differs")
			inPod(t, a, env, "iptables", "-t", "nat", "-D", "EGRESS-DNAT-net1", "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", "203.0.113.9")
			inPod(t, a, env, "iptables", "-t", "nat", "-D", "PREROUTING", "-i", "eth0", "-j", "EGRESS-DNAT-net1")
			(natRun(t, a, call("CHECK"), checkConf)).WantError(t, 999, "PREROUTING lacks the jump")
			inPod(t, a, env, "sysctl", "-qw", "net.ipv4.ip_forward=1")

			for i, fields := range []string{`"destinations": ["80 bogus 1.2.3.4"]`, natFields} {
				if out := natRun(t, a, call("DEL"), a.Conf("egress-nat", fields, false)); out.ExitCode != 0 {
					t.Fatalf("DEL #%d: %s", i+1, out.Stdout)
				}
			}
			if after := inPod(t, a, env, "iptables-save", "-t", "nat"); strings.Contains(after, "EGRESS-") {
				t.Errorf("%s: rules left after DEL:\n%s\nbefore:\n%s", mode, after, before)
			}
			if got := strings.TrimSpace(inPod(t, a, nil, "sysctl", "-n", "net.ipv4.ip_forward")); got != "0" {
				t.Errorf("ip_forward = %s after the last DEL, want 0 as before ADD", got)
			}
		})
	}
}

func TestNatStatusAndVersion(t *testing.T) {
	nstest.Need(t)
	bin := nstest.BinDir(t)
	conf := []byte(`{"cniVersion": "1.1.0", "name": "egress-router", "type": "egress-nat", "destinations": ["192.168.12.91"]}`)
	out, err := nstest.Run("egress-nat", nstest.Call{Command: "STATUS", Path: bin}, conf)
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("STATUS: %v %s", err, out.Stdout)
	}
	// Without iptables, the iptables backend is not available (code 50);
	// nftables needs no program at all.
	c := nstest.Call{Command: "STATUS", Path: bin, ExtraEnv: []string{"PATH=" + t.TempDir()}}
	ipt := []byte(`{"cniVersion": "1.1.0", "name": "egress-router", "type": "egress-nat", "destinations": ["192.168.12.91"], "backend": "iptables"}`)
	out, err = nstest.Run("egress-nat", c, ipt)
	if err != nil {
		t.Fatal(err)
	}
	(out).WantError(t, 50, "iptables")
	nft := []byte(`{"cniVersion": "1.1.0", "name": "egress-router", "type": "egress-nat", "destinations": ["192.168.12.91"], "backend": "nftables"}`)
	if out, err = nstest.Run("egress-nat", c, nft); err != nil || out.ExitCode != 0 {
		t.Fatalf("STATUS with nftables and no iptables: %v %s", err, out.Stdout)
	}

	out, err = nstest.Run("egress-nat", nstest.Call{Command: "VERSION", Path: bin}, []byte(`{"cniVersion": "1.1.0"}`))
	if err != nil || out.ExitCode != 0 {
		t.Fatalf("VERSION: %v %s", err, out.Stdout)
	}
	var v struct {
		Supported []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(out.Stdout), &v); err != nil {
		t.Fatal(err)
	}
	if strings.Join(v.Supported, ",") != "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0" {
		t.Errorf("supportedVersions = %v", v.Supported)
	}
}

// TestAutoBackend: auto installs with nftables in a fresh pod, and with
// iptables in a pod that already uses legacy iptables NAT; CHECK and DEL
// find the attachment's NAT wherever it is, whatever EGRESS_NAT_BACKEND
// the suite runs with.
func TestAutoBackend(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "fresh pod", true: "legacy iptables in use"}[legacy], func(t *testing.T) {
			a := nstest.Attach(t, "natauto", "1.1.0", false)
			if legacy {
				if _, err := exec.LookPath("iptables-legacy"); err != nil {
					t.Skipf("no iptables-legacy on this machine: %v", err)
				}
				inPod(t, a, nil, "iptables-legacy", "-t", "nat", "-N", "SOMEONE-ELSES")
			}
			c := a.Call("ADD")
			c.ExtraEnv = []string{nat.BackendEnv + "="} // auto, not the suite's choice
			conf := a.Conf("egress-nat", natFields+`, "backend": "auto"`, true)
			if out := natRun(t, a, c, conf); out.ExitCode != 0 {
				t.Fatalf("ADD: %s %s", out.Stdout, out.Stderr)
			}
			nft := inPod(t, a, nil, "nft", "list", "tables")
			save := inPod(t, a, nil, "iptables-save", "-t", "nat")
			if legacy {
				if strings.Contains(nft, "egress-net1") || !strings.Contains(save, "-A EGRESS-DNAT-net1") {
					t.Errorf("legacy iptables in use: want the NAT in iptables; nft tables:\n%s\niptables:\n%s", nft, save)
				}
			} else if !strings.Contains(nft, "table ip egress-net1") || strings.Contains(save, "EGRESS-") {
				t.Errorf("fresh pod: want the NAT in nftables; nft tables:\n%s\niptables:\n%s", nft, save)
			}
			check := a.Call("CHECK")
			check.ExtraEnv = c.ExtraEnv
			if out := natRun(t, a, check, conf); out.ExitCode != 0 {
				t.Errorf("CHECK: %s", out.Stdout)
			}
			del := a.Call("DEL")
			del.ExtraEnv = c.ExtraEnv
			if out := natRun(t, a, del, conf); out.ExitCode != 0 {
				t.Fatalf("DEL: %s", out.Stdout)
			}
			if s := inPod(t, a, nil, "iptables-save", "-t", "nat"); strings.Contains(s, "EGRESS-") {
				t.Errorf("iptables rules left after DEL:\n%s", s)
			}
			if s := inPod(t, a, nil, "nft", "list", "tables"); strings.Contains(s, "egress-") {
				t.Errorf("nftables tables left after DEL:\n%s", s)
			}
		})
	}
}
