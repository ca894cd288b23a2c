package nat

import (
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/google/nftables/expr"

	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/netx"
)

func TestXTJumpForms(t *testing.T) {
	name := func(s string) []byte { return append([]byte(s), 0, 0, 0) }
	iif := &expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}
	jump := &expr.Verdict{Kind: expr.VerdictJump, Chain: "EGRESS-DNAT-net1"}
	for _, c := range []struct {
		what   string
		es     []expr.Any
		spec   string
		target string
		exact  bool
	}{
		{"bare jump", []expr.Any{&expr.Counter{}, jump}, "-j EGRESS-DNAT-net1", "EGRESS-DNAT-net1", true},
		{"-i", []expr.Any{iif, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name("eth0")}, &expr.Counter{}, jump}, "-i eth0 -j EGRESS-DNAT-net1", "EGRESS-DNAT-net1", true},
		{"-o", []expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name("net1")}, jump}, "-o net1 -j EGRESS-DNAT-net1", "EGRESS-DNAT-net1", true},
		// iptables' eth+ is a prefix match: no NUL ends the name
		{"wildcard", []expr.Any{iif, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("eth")}, jump}, "", "EGRESS-DNAT-net1", false},
		{"negated", []expr.Any{iif, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: name("eth0")}, jump}, "", "EGRESS-DNAT-net1", false},
		{"another match", []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}}, jump}, "", "EGRESS-DNAT-net1", false},
		{"a meta without its compare", []expr.Any{iif, jump}, "", "EGRESS-DNAT-net1", false},
		{"accept", []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}, "", "", false},
	} {
		spec, target, exact := xtJump(c.es)
		if target != c.target || exact != c.exact || (exact && spec != c.spec) {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, %v)", c.what, spec, target, exact, c.spec, c.target, c.exact)
		}
	}
}

// What xtRead reads from iptables-nft's tables drives the payloads as
// iptables-save's output does: the same removal, the same jumps found,
// for a pod with our rules, another attachment's and foreign ones; and
// it gives up on a jump to our chains it cannot render.
func TestXTReadAgreesWithSave(t *testing.T) {
	needRoot(t)
	if variantOf("iptables-restore") != "nft" || variantOf("ip6tables-restore") != "nft" {
		t.Skip("the node's iptables is not iptables-nft")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Close(); _ = testutils.UnmountNS(n) }()
	p := newPod(n)
	defer p.close()
	sets := []Ruleset{
		{Family: netx.V4, Cluster: "eth0", Egress: "net1", Source: net.ParseIP("192.168.12.99"),
			Rules:    []dest.Rule{{Proto: "tcp", Port: 80, IP: net.ParseIP("203.0.113.10"), RemotePort: 8080}},
			Fallback: net.ParseIP("203.0.113.1")},
		{Family: netx.V6, Cluster: "eth0", Egress: "net1", Source: net.ParseIP("fd00:12::99"), Fallback: net.ParseIP("fd00:113::1")},
	}
	other := sets[0]
	other.Egress = "net2"
	restore := func(f netx.Family, lines ...string) {
		t.Helper()
		if err := p.in(func() error { return ipRestore(f, payload{tableNAT: lines}) }); err != nil {
			t.Fatal(err)
		}
	}
	// agree compares the two reads; bad is a family xtRead must give up
	// on (0: none).
	agree := func(when string, bad netx.Family) {
		t.Helper()
		c, err := nftConn(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range netx.Families {
			var saved tables
			if err := p.in(func() (err error) { saved, err = ipSave(f); return err }); err != nil {
				t.Fatal(err)
			}
			read, ok := xtRead(c, f)
			if wantOK := f != bad; ok != wantOK {
				t.Fatalf("%s, IPv%d: xtRead ok = %v, want %v", when, f, ok, wantOK)
			}
			if !ok {
				continue
			}
			for _, egress := range []string{"net1", "net2"} {
				pr, hr := removeLines(read, egress)
				ps, hs := removeLines(saved, egress)
				if !reflect.DeepEqual(pr, ps) || hr != hs {
					t.Errorf("%s, IPv%d, removing %s: from netlink %q %+v, from iptables-save %q %+v", when, f, egress, pr, hr, ps, hs)
				}
			}
			for _, rs := range append(sets, other) {
				if rs.Family != f {
					continue
				}
				if ar, as := applyLines(read, rs, false), applyLines(saved, rs, false); !reflect.DeepEqual(ar, as) {
					t.Errorf("%s, IPv%d, applying %s: from netlink %q, from iptables-save %q", when, f, rs.Egress, ar, as)
				}
			}
		}
	}
	agree("a new pod", 0)
	var off []netx.Family
	if err := p.in(func() error { return iptablesBackend{}.apply(p, append(sets, other), off) }); err != nil {
		t.Fatal(err)
	}
	restore(netx.V4, ":"+iptMarker+" - [0:0]", "-A PREROUTING -p tcp -j ACCEPT", "-A POSTROUTING -o eth9 -j MASQUERADE")
	agree("two attachments, the marker and foreign rules", 0)
	if err := p.in(func() error { _, err := (iptablesBackend{}).remove(p, "net2", netx.Families); return err }); err != nil {
		t.Fatal(err)
	}
	agree("one attachment removed", 0)
	for _, odd := range []string{"-A PREROUTING -i eth+ -j EGRESS-DNAT-net1", "-A PREROUTING -p udp -i eth0 -j EGRESS-DNAT-net1"} {
		restore(netx.V4, odd)
		agree(odd, netx.V4)
		restore(netx.V4, strings.Replace(odd, "-A ", "-D ", 1))
	}
	agree("the odd jumps removed", 0)
	if err := p.in(func() error { _, err := (iptablesBackend{}).remove(p, "net1", netx.Families); return err }); err != nil {
		t.Fatal(err)
	}
	if err := p.in(func() error { return checkEmpty(t) }); err != nil {
		t.Fatal(err)
	}
}

// checkEmpty fails unless no chain of ours is left in the current netns.
func checkEmpty(t *testing.T) error {
	for _, f := range netx.Families {
		out, err := exec.Command(tool(f, "tables-save")).Output()
		if err != nil {
			return err
		}
		if strings.Contains(string(out), "EGRESS-DNAT-") || strings.Contains(string(out), "EGRESS-MARK-") {
			t.Errorf("IPv%d: our chains are left:\n%s", f, out)
		}
	}
	return nil
}

// A legacy pod the kernel made no nat or mangle table for holds nothing:
// iptHave reads no iptables-save there. legacyTables is what that rests
// on: it lists the table once legacy iptables touches it.
func TestLegacyTables(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("iptables-legacy"); err != nil {
		t.Skip("no iptables-legacy")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Close(); _ = testutils.UnmountNS(n) }()
	err = n.Do(func(ns.NetNS) error {
		if legacyTable(netx.V4, tableNAT) || legacyTable(netx.V4, tableMangle) {
			t.Errorf("a new netns lists legacy tables: %q", legacyTables(netx.V4))
		}
		if out, err := exec.Command("iptables-legacy", "-t", "mangle", "-N", "EGRESS-MARK-x").CombinedOutput(); err != nil {
			t.Fatalf("iptables-legacy: %v: %s", err, out)
		}
		if !legacyTable(netx.V4, tableMangle) || legacyTable(netx.V6, tableMangle) {
			t.Errorf("after iptables-legacy -t mangle: v4 %q, v6 %q", legacyTables(netx.V4), legacyTables(netx.V6))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// needRoot is nstest.Need, which this package cannot import (nstest uses
// nat): integration tests fail, not skip, without root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("integration tests need root (network namespaces, iptables); run make test as root")
	}
}
