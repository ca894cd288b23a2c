package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/egress-router/egress-router/chain/nat"
)

// Backend is the NAT backend the plugins use in these tests: the one
// EGRESS_NAT_BACKEND names (make test runs the suite once per backend),
// else nftables, which auto picks in a fresh pod.
func Backend() nat.Backend {
	if b := nat.Backend(os.Getenv(nat.BackendEnv)); b == nat.IPTables || b == nat.NFTables {
		return b
	}
	return nat.NFTables
}

// Pick returns ipt with the iptables backend, nft with nftables.
func Pick[T any](ipt, nft T) T {
	if Backend() == nat.IPTables {
		return ipt
	}
	return nft
}

// InNS runs a command in a namespace given by name or by path (a pod's
// /proc/PID/ns/net) and returns its output.
func InNS(netns string, argv ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"--net=" + Path(netns)}, argv...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s in %s: %v: %s", strings.Join(argv, " "), netns, err, out)
	}
	return string(out), nil
}

var nftComment = regexp.MustCompile(` comment ".*"$`)

// NATLines returns a family's egress NAT in a pod as the backend's own
// tool lists it: iptables-save lines naming EGRESS- chains (nat table,
// then mangle), or the egress tables of `nft list ruleset` (comments
// dropped, one line per statement).
func NATLines(t testing.TB, netns string, family int) []string {
	t.Helper()
	var out []string
	if Backend() == nat.IPTables {
		save := map[int]string{4: "iptables-save", 6: "ip6tables-save"}[family]
		for _, table := range []string{"nat", "mangle"} {
			text, err := InNS(netns, save, "-t", table)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(text, "\n") {
				if strings.Contains(l, "EGRESS-") {
					out = append(out, strings.TrimSpace(l))
				}
			}
		}
		return out
	}
	fam := map[int]string{4: "ip", 6: "ip6"}[family]
	text, err := InNS(netns, "nft", "list", "ruleset", fam)
	if err != nil {
		t.Fatal(err)
	}
	ours := false
	var elems []string // a map's elements, listed in hash order: sorted here
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "elements = {") || elems != nil {
			l = strings.TrimPrefix(l, "elements = {")
			end := strings.HasSuffix(l, "}")
			for _, e := range strings.Split(strings.TrimSuffix(l, "}"), ",") {
				if e = strings.TrimSpace(e); e != "" {
					elems = append(elems, e)
				}
			}
			if end {
				sort.Strings(elems)
				if ours {
					out = append(out, "elements = { "+strings.Join(elems, ", ")+" }")
				}
				elems = nil
			} else if elems == nil {
				elems = []string{}
			}
			continue
		}
		if strings.HasPrefix(l, "table ") {
			name := strings.Fields(l)[2]
			ours = strings.HasPrefix(name, "egress-") || name == "egress_forwarding"
			l = strings.TrimSuffix(l, " {")
		}
		if !ours || l == "" || l == "}" {
			continue
		}
		out = append(out, strings.TrimSuffix(nftComment.ReplaceAllString(l, ""), " {"))
	}
	return out
}

// StrayRule adds a DNAT rule of its own to an attachment's DNAT chain
// (CHECK must notice) and returns the function that takes it out again.
func StrayRule(t testing.TB, netns, egressIf string) (undo func()) {
	t.Helper()
	if Backend() == nat.IPTables {
		rule := []string{"EGRESS-DNAT-" + egressIf, "-p", "tcp", "--dport", "22", "-j", "DNAT", "--to-destination", "203.0.113.9"}
		if _, err := InNS(netns, append([]string{"iptables", "-t", "nat", "-A"}, rule...)...); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := InNS(netns, append([]string{"iptables", "-t", "nat", "-D"}, rule...)...); err != nil {
				t.Fatal(err)
			}
		}
	}
	table := nat.NFTTable(egressIf)
	if _, err := InNS(netns, "nft", "add", "rule", "ip", table, "prerouting", "tcp", "dport", "22", "dnat", "to", "203.0.113.9", "comment", `"stray"`); err != nil {
		t.Fatal(err)
	}
	return func() {
		text, err := InNS(netns, "nft", "-a", "list", "chain", "ip", table, "prerouting")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, `"stray"`) {
				f := strings.Fields(l)
				if _, err := InNS(netns, "nft", "delete", "rule", "ip", table, "prerouting", "handle", f[len(f)-1]); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatalf("the stray rule is gone from %s", table)
	}
}

// ChainDiffers is the CHECK message fragment for a DNAT chain that is not
// as ADD made it.
func ChainDiffers(egressIf string) string {
	return Pick("EGRESS-DNAT-"+egressIf+" differs", nat.NFTTable(egressIf)+" prerouting differs")
}

// RefuseNAT makes the backend refuse an attachment's NAT in a pod, as the
// kernel refuses what it cannot load: with iptables, a PATH wrapper whose
// (ip6)iptables-restore fails on our DNAT chain; with nftables, a table of
// the same name owned by the test's own netlink socket, which the plugin
// may not replace. It returns the environment for the plugin call; the
// obstacle goes when the test ends.
func RefuseNAT(t testing.TB, netns, egressIf string, family int) []string {
	t.Helper()
	if Backend() == nat.IPTables {
		dir := t.TempDir()
		restore := map[int]string{4: "iptables-restore", 6: "ip6tables-restore"}[family]
		real, err := exec.LookPath(restore)
		if err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\nin=$(cat)\ncase \"$in\" in *'-A EGRESS-DNAT'*) echo '%s: injected failure: No chain/target/match by that name.' >&2; exit 1;; esac\nprintf '%%s\\n' \"$in\" | exec %s \"$@\"\n", restore, real)
		if err := os.WriteFile(filepath.Join(dir, restore), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	}
	// nft -i keeps its netlink socket, and so the table, while its input
	// is open.
	fam := map[int]string{4: "ip", 6: "ip6"}[family]
	table := nat.NFTTable(egressIf)
	cmd := exec.Command("nsenter", "--net="+Path(netns), "nft", "-i")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	fmt.Fprintf(in, "add table %s %s { flags owner; }\n", fam, table)
	for i := 0; i < 100; i++ {
		if _, err := InNS(netns, "nft", "list", "table", fam, table); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the owner table %s %s did not appear", fam, table)
	return nil
}

// MarkLines are the reply-path marking NATLines lists for an attachment,
// after its NAT (iptables: the mangle chain; nftables: the mark chains in
// the attachment's table).
func MarkLines(cluster, egress string) []string {
	chain := "EGRESS-MARK-" + egress
	return Pick([]string{
		":" + chain + " - [0:0]",
		"-A PREROUTING -j " + chain,
		"-A OUTPUT -j " + chain,
		"-A " + chain + " -i " + cluster + " -m conntrack --ctstate NEW -j CONNMARK --set-xmark 0x20000000/0x20000000",
		"-A " + chain + " -m conntrack --ctdir REPLY -m connmark --mark 0x20000000/0x20000000 -j MARK --set-xmark 0x20000000/0x20000000",
	}, []string{
		"chain mark-in",
		"type filter hook prerouting priority mangle; policy accept;",
		`iifname "` + cluster + `" ct state new ct mark set ct mark | 0x20000000`,
		"ct direction reply ct mark & 0x20000000 != 0x00000000 meta mark set meta mark | 0x20000000",
		"chain mark-out",
		"type route hook output priority mangle; policy accept;",
		"ct direction reply ct mark & 0x20000000 != 0x00000000 meta mark set meta mark | 0x20000000",
	})
}

// WithMarks puts an attachment's MarkLines where NATLines lists them in
// the lines of its NAT: at the end of its table, before the forwarding
// marker.
func WithMarks(lines []string, cluster, egress string) []string {
	marks := MarkLines(cluster, egress)
	for i, l := range lines {
		if strings.HasSuffix(l, " egress_forwarding") {
			return append(append(append([]string{}, lines[:i]...), marks...), lines[i:]...)
		}
	}
	return append(append([]string{}, lines...), marks...)
}
