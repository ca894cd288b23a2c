package nat

import (
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/dest"
)

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]string{"": Auto, "auto": Auto, "IPTables": IPTables, " nftables ": NFTables} {
		if got, err := ParseBackend("backend", in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	_, err := ParseBackend("backend", "pf")
	cnierrtest.Want(t, err, 7, "backend", `"pf"`, "iptables, nftables or auto")
}

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
	got := strings.Join(append(sets[0].NFTLines(), sets[1].NFTLines()...), "\n")
	want := `table ip egress-net1
  map ports: tcp . 80 : 203.0.113.5 . 8080
  map ports: sctp . 3868 : 203.0.113.6 . 3868
  prerouting: iifname eth0 dnat to l4proto . dport map @ports (2 ports)
  prerouting: iifname eth0 dnat to 192.168.12.91
  postrouting: oifname net1 snat to 192.168.12.99
table ip6 egress-net1
  map ports: udp . 53 : fd00:203::53 . 53
  prerouting: iifname eth0 dnat to l4proto . dport map @ports (1 ports)
  postrouting: oifname net1 snat to fd00:12::99`
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
	if b, err := marshalExprs(2, dnat[0].exprs); err != nil || len(b) == 0 {
		t.Errorf("marshal: %v", err)
	}
}
