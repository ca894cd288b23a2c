package nat

import (
	"net"
	"strings"
	"testing"

	"github.com/egress-router/egress-router/chain/cnierr/cnierrtest"
	"github.com/egress-router/egress-router/chain/dest"
	"github.com/egress-router/egress-router/chain/netx"
)

// parseDest parses destination lines plus an optional fallbackIP.
func parseDest(t *testing.T, fallbackIP string, lines ...string) dest.Set {
	t.Helper()
	s, err := dest.Parse("destinations", lines, "fallbackIP", fallbackIP)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ips(ss ...string) []net.IP {
	var out []net.IP
	for _, s := range ss {
		out = append(out, net.ParseIP(s))
	}
	return out
}

func TestBuildRuleSpecs(t *testing.T) {
	cases := []struct {
		name     string
		spec     Spec
		families []netx.Family
		want     [][]string // IPTablesLines of each ruleset
	}{
		{
			name: "IPv4 operator config",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("192.168.12.100", "192.168.12.101"),
				Destinations: parseDest(t, "192.168.12.99", "80 UDP 10.0.0.99", "8080 TCP 203.0.113.26 80", "8443 TCP 203.0.113.27 443", "2905 sctp 203.0.113.28")},
			families: []netx.Family{4},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p udp -m udp --dport 80 -j DNAT --to-destination 10.0.0.99:80",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.26:80",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 203.0.113.27:443",
				"-A EGRESS-DNAT-net1 -p sctp -m sctp --dport 2905 -j DNAT --to-destination 203.0.113.28:2905",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination 192.168.12.99",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.100",
			}},
		},
		{
			name: "fallback only, first IPv4 source after an IPv6 one",
			spec: Spec{ClusterInterface: "ens3", EgressInterface: "macvlan0",
				Sources:      ips("fd00:12::99", "192.168.12.100", "192.168.12.101"),
				Destinations: parseDest(t, "", "203.0.113.9")},
			families: []netx.Family{4},
			want: [][]string{{
				"-A PREROUTING -i ens3 -j EGRESS-DNAT-macvlan0",
				"-A POSTROUTING -o macvlan0 -j EGRESS-SNAT-macvlan0",
				"-A EGRESS-DNAT-macvlan0 -j DNAT --to-destination 203.0.113.9",
				"-A EGRESS-SNAT-macvlan0 -j SNAT --to-source 192.168.12.100",
			}},
		},
		{
			name: "IPv6 destination with remote port",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("192.168.12.100", "fd00:12::99"),
				Destinations: parseDest(t, "", "80 tcp fd00:203::5 8080", "53 udp fd00:203::53")},
			families: []netx.Family{6},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:203::5]:8080",
				"-A EGRESS-DNAT-net1 -p udp -m udp --dport 53 -j DNAT --to-destination [fd00:203::53]:53",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
			}},
		},
		{
			name: "dual stack listed IPv6 first",
			spec: Spec{ClusterInterface: "eth0", EgressInterface: "net1",
				Sources:      ips("fd00:12::99", "192.168.12.100"),
				Destinations: parseDest(t, "", "443 tcp fd00:203::5", "443 tcp 203.0.113.5 8443", "fd00:203::9", "203.0.113.9")},
			families: []netx.Family{4, 6},
			want: [][]string{{
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 443 -j DNAT --to-destination 203.0.113.5:8443",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination 203.0.113.9",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source 192.168.12.100",
			}, {
				"-A PREROUTING -i eth0 -j EGRESS-DNAT-net1",
				"-A POSTROUTING -o net1 -j EGRESS-SNAT-net1",
				"-A EGRESS-DNAT-net1 -p tcp -m tcp --dport 443 -j DNAT --to-destination [fd00:203::5]:443",
				"-A EGRESS-DNAT-net1 -j DNAT --to-destination fd00:203::9",
				"-A EGRESS-SNAT-net1 -j SNAT --to-source fd00:12::99",
			}},
		},
	}
	for _, c := range cases {
		sets, err := Build(c.spec)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(sets) != len(c.families) || len(c.want) != len(c.families) {
			t.Errorf("%s: %d rulesets, want %d", c.name, len(sets), len(c.families))
			continue
		}
		dnat, snat := chainNames(c.spec.EgressInterface)
		for i, rs := range sets {
			wantFamily := c.families[i]
			r := iptablesRules(rs)
			if rs.Family != wantFamily || r.chains[0].name != dnat || r.chains[1].name != snat {
				t.Errorf("%s: ruleset %d is family %d with chains %s %s, want %d %s %s", c.name, i, rs.Family, r.chains[0].name, r.chains[1].name, wantFamily, dnat, snat)
			}
			if rs.Cluster != c.spec.ClusterInterface || rs.Egress != c.spec.EgressInterface {
				t.Errorf("%s: ruleset %d on %s -> %s", c.name, i, rs.Cluster, rs.Egress)
			}
			if got, want := strings.Join(IPTablesLines(rs), "\n"), strings.Join(c.want[i], "\n"); got != want {
				t.Errorf("%s: ruleset %d:\n%s\nwant:\n%s", c.name, i, got, want)
			}
		}
	}
}

func TestBuildRejects(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		frag []string
	}{
		{"IPv6 destination, IPv4 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "", "80 tcp 203.0.113.5", "80 tcp fd00:203::5 8080")},
			[]string{"destinations: fd00:203::5 is an IPv6 address", `egress interface "net1" has no IPv6 source address`}},
		{"IPv6 fallback, IPv4 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "fd00:203::9")},
			[]string{"fd00:203::9 is an IPv6 address"}},
		{"IPv4 destination, IPv6 source only",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("fd00:12::99"), Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{"203.0.113.9 is an IPv4 address", "no IPv4 source address"}},
		{"no source at all",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{"203.0.113.9 is an IPv4 address"}},
		{"empty destinations",
			Spec{ClusterInterface: "eth0", EgressInterface: "net1", Sources: ips("192.168.12.100")},
			[]string{"destinations: empty"}},
		{"cluster interface is the egress interface",
			Spec{ClusterInterface: "net1", EgressInterface: "net1", Sources: ips("192.168.12.100"), Destinations: parseDest(t, "", "203.0.113.9")},
			[]string{`clusterInterface "net1" is the egress interface itself`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sets, err := Build(c.spec)
			if err == nil {
				t.Fatalf("no error; rulesets %+v", sets)
			}
			cnierrtest.Want(t, err, 7, c.frag...)
			if sets != nil {
				t.Errorf("rulesets %+v returned with the error", sets)
			}
		})
	}
}

func TestChainNames(t *testing.T) {
	cases := []struct{ ifName, dnat, snat string }{
		{"net1", "EGRESS-DNAT-net1", "EGRESS-SNAT-net1"},
		{"abcdefghijklmno", "EGRESS-DNAT-abcdefghijklmno", "EGRESS-SNAT-abcdefghijklmno"},
	}
	for _, c := range cases {
		d, s := chainNames(c.ifName)
		if d != c.dnat || s != c.snat {
			t.Errorf("chainNames(%q) = %q, %q, want %q, %q", c.ifName, d, s, c.dnat, c.snat)
		}
		if len(d) > 28 || len(s) > 28 {
			t.Errorf("chainNames(%q) = %q, %q: longer than iptables' 28 characters", c.ifName, d, s)
		}
	}
}
