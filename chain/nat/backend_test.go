package nat

import (
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/dest"
)

func TestParseBackend(t *testing.T) {
	for in, want := range map[string]string{"": Auto, "auto": Auto, "IPTables": IPTables, " nftables ": NFTables} {
		if got, err := ParseBackend("backend", in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	_, err := ParseBackend("backend", "pf")
	wantCode7(t, err, "backend", `"pf"`, "iptables, nftables or auto")
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
  prerouting: iifname eth0 tcp dport 80 dnat to 203.0.113.5:8080
  prerouting: iifname eth0 sctp dport 3868 dnat to 203.0.113.6:3868
  prerouting: iifname eth0 dnat to 192.168.12.91
  postrouting: oifname net1 snat to 192.168.12.99
table ip6 egress-net1
  prerouting: iifname eth0 udp dport 53 dnat to [fd00:203::53]:53
  postrouting: oifname net1 snat to fd00:12::99`
	if got != want {
		t.Errorf("nft rules:\n%s\nwant:\n%s", got, want)
	}
	// Each rule's expressions: interface match, then for per-port rules
	// protocol and port, then the NAT with the right registers and family.
	dnat, snat := nftRules(sets[0])
	if len(dnat) != 3 || len(snat) != 1 || len(dnat[0].exprs) != 9 || len(dnat[2].exprs) != 4 || len(snat[0].exprs) != 4 {
		t.Errorf("expression counts: dnat %d (%d, %d), snat %d", len(dnat), len(dnat[0].exprs), len(dnat[2].exprs), len(snat))
	}
	if b, err := marshalExprs(2, dnat[0].exprs); err != nil || len(b) == 0 {
		t.Errorf("marshal: %v", err)
	}
}
