package nat

import (
	"net"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/egress-router/egress-router/chain/dest"
)

func TestNFTRules(t *testing.T) {
	set, err := dest.Parse("destinations", []string{"80 tcp 203.0.113.5 8080", "53 UDP fd00:203::53", "3868 sctp 203.0.113.6", "192.168.12.91"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := Build(Spec{ClusterInterface: "eth0", EgressInterface: "net1", Destinations: set,
		Sources: []net.IP{net.ParseIP("192.168.12.99").To4(), net.ParseIP("fd00:12::99")}})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(append(nftLines(sets[0]), nftLines(sets[1])...), "\n")
	want := `table ip egress-net1
  map ports: tcp . 80 : 203.0.113.5 . 8080
  map ports: sctp . 3868 : 203.0.113.6 . 3868
  prerouting: iifname eth0 dnat to l4proto . dport map @ports (2 ports)
  prerouting: iifname eth0 dnat to 192.168.12.91
  postrouting: oifname net1 snat to 192.168.12.99
  mark-in: iifname eth0 ct state new ct mark set ct mark | 0x20000000
  mark-in: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000
  mark-out: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000
table ip6 egress-net1
  map ports: udp . 53 : fd00:203::53 . 53
  prerouting: iifname eth0 dnat to l4proto . dport map @ports (1 ports)
  postrouting: oifname net1 snat to fd00:12::99
  mark-in: iifname eth0 ct state new ct mark set ct mark | 0x20000000
  mark-in: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000
  mark-out: ct direction reply ct mark & 0x20000000 != 0 meta mark set meta mark | 0x20000000`
	if got != want {
		t.Errorf("nft rules:\n%s\nwant:\n%s", got, want)
	}
	// One map rule for every port (interface, protocol, port, lookup,
	// NAT), then the fallback; the map holds a key and a value per port,
	// each padded to 32-bit registers.
	dnat, snat := nftRules(sets[0])
	if len(dnat) != 2 || len(snat) != 1 || len(dnat[0].exprs) != 6 || len(dnat[1].exprs) != 4 || len(snat[0].exprs) != 4 {
		t.Errorf("expression counts: dnat %d (%d, %d), snat %d", len(dnat), len(dnat[0].exprs), len(dnat[1].exprs), len(snat))
	}
	m, elems, _ := nftPortMap(sets[1], nil)
	if m == nil || len(elems) != 1 || len(elems[0].Key) != 8 || len(elems[0].Val) != 20 {
		t.Errorf("IPv6 port map %+v %+v", m, elems)
	}
	// The map is sized for its elements: a fixed hash, never resized
	// under a CHECK's dump.
	if m != nil && m.Size != uint32(len(elems)) {
		t.Errorf("port map size %d, want %d", m.Size, len(elems))
	}
	if b, err := marshalExprs(2, dnat[0].exprs); err != nil || len(b) == 0 {
		t.Errorf("marshal: %v", err)
	}
}

func TestNFTCompare(t *testing.T) {
	sets := dualStack(t)
	v4 := sets[0]
	_, elems, _ := nftPortMap(v4, nil)
	if err := samePorts(v4, elems); err != nil {
		t.Errorf("the map as made: %v", err)
	}
	if err := samePorts(v4, nil); err == nil || !strings.Contains(err.Error(), `1 ports missing ["tcp . 80 : 203.0.113.5 . 8080"]`) {
		t.Errorf("empty map: %v", err)
	}
	extra := append(append([]nftables.SetElement{}, elems...), nftables.SetElement{Key: []byte{6, 0, 0, 0, 0, 22, 0, 0}, Val: elems[0].Val})
	if err := samePorts(v4, extra); err == nil || !strings.Contains(err.Error(), "1 not from the config") {
		t.Errorf("map with a port added by hand: %v", err)
	}

	dnat, _ := nftRules(v4)
	have := []*nftables.Rule{{Exprs: dnat[0].exprs}, {Exprs: dnat[1].exprs}}
	if err := sameRules(v4.Family, have, dnat); err != nil {
		t.Errorf("rules as made: %v", err)
	}
	other := v4
	other.Cluster = "eth1"
	odnat, _ := nftRules(other)
	if err := sameRules(v4.Family, []*nftables.Rule{have[0], {Exprs: odnat[1].exprs}}, dnat); err == nil || !strings.Contains(err.Error(), "rule 2 is not") {
		t.Errorf("a rule on another interface: %v", err)
	}
	if err := sameRules(v4.Family, have[:1], dnat); err == nil || !strings.Contains(err.Error(), "want 2 rules") {
		t.Errorf("a rule missing: %v", err)
	}

	pre, post := nftChains(nftTable(v4))
	if !sameChain(pre, pre) || sameChain(pre, post) {
		t.Error("sameChain does not tell prerouting from postrouting")
	}
}

// TestReadBack: a ct set read back without its source register compares
// equal to what we wrote; a ct load of another key does not.
func TestReadBack(t *testing.T) {
	rs := dualStack(t)[0]
	in, _ := nftMarks(rs)
	lossy := append([]expr.Any{}, in[0].exprs...)
	lossy[7] = &expr.Ct{Key: expr.CtKeyMARK} // as the library decodes "ct mark set"
	if err := sameRules(rs.Family, []*nftables.Rule{{Exprs: lossy}}, in[:1]); err != nil {
		t.Errorf("the read-back rule: %v", err)
	}
	lossy[7] = &expr.Ct{Key: expr.CtKeySTATE}
	if err := sameRules(rs.Family, []*nftables.Rule{{Exprs: lossy}}, in[:1]); err == nil {
		t.Error("a ct load of another key compares equal")
	}
}
